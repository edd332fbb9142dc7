#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test: the C++ unit and
# integration tests on the release build, the JavaScript client's tests and the demo page's tests
# in headless Chromium, a few-second load-test smoke run, then the C++ tests once more on an
# AddressSanitizer + UndefinedBehaviorSanitizer build, and last a bounded libFuzzer run of every
# parser (scripts/fuzz.sh). Each test starts and stops the redis-server and newspushd processes
# it needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for kind in release sanitize; do
  echo "=== $kind build ==="
  start=$(date +%s)
  "$root/scripts/build.sh" "$kind"
  echo "=== $kind tests ==="
  ctest --test-dir "$root/build/$kind" --output-on-failure -j "$(nproc)" --timeout 600
  echo "=== $kind done in $(( $(date +%s) - start )) s ==="
  if [ "$kind" = release ]; then
    echo "=== client and browser tests ==="
    NEWSPUSHD_BIN="$root/build/release/server/newspushd" "$root/scripts/browser-test.sh"
    echo "=== load test smoke ==="
    "$root/loadtest/run.sh" --scenario smoke --build-dir "$root/build/release"
  fi
done
echo "=== fuzz ==="
start=$(date +%s)
"$root/scripts/fuzz.sh"
echo "=== fuzz done in $(( $(date +%s) - start )) s ==="
