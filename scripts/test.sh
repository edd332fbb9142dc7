#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test: the C++ unit and
# integration tests on the release build, the JavaScript client's tests and the demo page's tests
# in headless Chromium, two few-second load-test smoke runs (WebSocket, then SSE), then the unit
# tests built with AddressSanitizer + UndefinedBehaviorSanitizer and the integration tests against
# an ASan + UBSan newspushd and a ThreadSanitizer one, and last a bounded libFuzzer run of every parser
# (scripts/fuzz.sh). Each test starts and stops the redis-server and newspushd processes it needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
# Node and the npm devDependencies: the browser tests, and Node's `ws` in the release ctest.
"$root/scripts/node-deps.sh"
# Each stage picks its newspushd: one exported by the caller must not replace the release build's.
unset NEWSPUSHD_BIN

echo "=== release build ==="
start=$(date +%s)
"$root/scripts/build.sh" release
echo "=== release tests ==="
ctest --test-dir "$root/build/release" --output-on-failure -j "$(nproc)" --timeout 600
echo "=== release done in $(( $(date +%s) - start )) s ==="
echo "=== client and browser tests ==="
NEWSPUSHD_BIN="$root/build/release/server/newspushd" "$root/scripts/browser-test.sh"
echo "=== load test smoke ==="
"$root/loadtest/run.sh" --scenario smoke --build-dir "$root/build/release"
"$root/loadtest/run.sh" --scenario smoke --transport sse --build-dir "$root/build/release"
# The sanitizers: unit tests built with ASan + UBSan, then the release build's integration tests
# against an ASan + UBSan newspushd, then against a ThreadSanitizer one.
"$root/scripts/sanitizer-test.sh" asan
"$root/scripts/sanitizer-test.sh" tsan
echo "=== fuzz ==="
start=$(date +%s)
"$root/scripts/fuzz.sh"
echo "=== fuzz done in $(( $(date +%s) - start )) s ==="
