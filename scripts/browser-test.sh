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
# Chromium, Node.js and npm where missing, and the npm devDependencies.
"$root/scripts/node-deps.sh"

if [ -z "${NEWSPUSHD_BIN:-}" ]; then
  "$root/scripts/build.sh" release
  export NEWSPUSHD_BIN="$root/build/release/server/newspushd"
fi

mkdir -p "$root/build/artifacts"
# One file at a time (Node 18's runner has no --test-concurrency): each file starts its own
# redis-server and newspushd processes, and the page tests want the machine to themselves.
run_suite() {
  local f
  for f in "$@"; do node --test "${node_args[@]}" "$f"; done
}
node_args=("$@")
echo "=== client tests (node --test, real newspushd: $NEWSPUSHD_BIN) ==="
run_suite web/client/test/*.test.mjs
echo "=== browser tests (headless ${CHROMIUM_BIN:-/usr/bin/chromium}) ==="
run_suite tests/browser/*.test.mjs
echo "screenshots: $root/build/artifacts/*.png"
