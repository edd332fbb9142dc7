#!/usr/bin/env bash
# node-deps.sh: Chromium, Node.js >= 18 with npm where missing, and the npm devDependencies of
# package.json (ws, playwright-core) in node_modules/ (never committed). Used by browser-test.sh
# and, before ctest, by test.sh: the WebSocket codec's conformance test drives Node's `ws`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/deps.sh" browser

# Debian 12's own Node.js is 18: the suites use only what Node 18 has (node --test, fetch), and
# playwright-core is held at 1.61, its last release that supports Node 18.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
  echo "node-deps.sh: Node.js >= 18 needed, found $(node --version)" >&2
  exit 1
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/ws ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
