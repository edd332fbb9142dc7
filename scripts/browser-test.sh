#!/usr/bin/env bash
# browser-test.sh: the JavaScript client's tests (Node, against a real newspushd) and the demo
# page's end-to-end tests in Debian's headless Chromium (playwright-core, no browser download).
# Installs what is missing (chromium, nodejs, npm; the npm devDependencies of package.json), builds
# newspushd if needed, and runs both suites. Extra arguments go to `node --test`.
# Env: NEWSPUSHD_BIN (default build/release/server/newspushd, built here), CHROMIUM_BIN.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/deps.sh"
# Chromium, and Node.js with npm where they are missing.
"$root/scripts/deps.sh" browser

# Node's test runner and playwright-core need Node 20 or later.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "browser-test.sh: Node.js >= 20 needed, found $(node --version)" >&2
  exit 1
fi

# devDependencies only (ws, playwright-core); node_modules/ is never committed.
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/ws ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ -z "${NEWSPUSHD_BIN:-}" ]; then
  "$root/scripts/build.sh" release
  export NEWSPUSHD_BIN="$root/build/release/server/newspushd"
fi

mkdir -p "$root/build/artifacts"
echo "=== client tests (node --test, real newspushd: $NEWSPUSHD_BIN) ==="
node --test --test-concurrency=1 "$@" web/client/test/*.test.mjs
echo "=== browser tests (headless ${CHROMIUM_BIN:-/usr/bin/chromium}) ==="
node --test --test-concurrency=1 "$@" tests/browser/*.test.mjs
echo "screenshots: $root/build/artifacts/front-page.png, front-page-phone.png"
