#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test: the C++ unit and
# integration tests on the release build, the JavaScript client's tests and the demo page's tests
# in headless Chromium, a few-second load-test smoke run, the integration tests once more against a
# ThreadSanitizer build of newspushd, then the C++ tests once more on an AddressSanitizer +
# UndefinedBehaviorSanitizer build. Each test starts and stops the redis-server and newspushd
# processes it needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
# Each stage picks its newspushd: one exported by the caller must not replace the release build's.
unset NEWSPUSHD_BIN

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
    # Needs the release build's test binaries: only newspushd is built with TSan.
    "$root/scripts/tsan-test.sh"
  fi
done
