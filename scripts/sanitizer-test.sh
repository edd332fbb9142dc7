#!/usr/bin/env bash
# sanitizer-test.sh asan|tsan [ctest args]: every test once more, against a sanitized newspushd.
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (build/sanitize): the unit tests built with
#         them, then the integration tests against its newspushd.
#   tsan: ThreadSanitizer (build/tsan, newspushd alone): the integration tests against it.
# The integration tests are the release build's (brought up to date here): they start the
# sanitized newspushd through NEWSPUSHD_BIN, and a report makes it exit non-zero (66 for TSan,
# abort for ASan/UBSan, a leak at exit included), which fails the test that started it, with the
# report (tests/support/newspushd_process.hpp).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kind="${1:-}"
shift || true
# How much more memory the sanitizer makes newspushd use: memory bounds in tests scale by it.
case "$kind" in
  asan) build=sanitize; export NEWSPUSH_SANITIZER_MEMORY_FACTOR=2 ;;
  tsan) build=tsan; export NEWSPUSH_SANITIZER_MEMORY_FACTOR=4 ;;
  *) echo "sanitizer-test.sh: asan or tsan" >&2; exit 2 ;;
esac
"$root/scripts/build.sh" release >/dev/null

echo "=== $kind build ==="
start=$(date +%s)
"$root/scripts/build.sh" "$build"
built=$(date +%s)
# A 16 MiB quarantine (256 by default) still catches a use after a recent free, and keeps the
# memory bounds of tests/integration/bounded_work_test.cpp meaningful under ASan.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:quarantine_size_mb=16"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:exitcode=66"
if [ "$kind" = asan ]; then
  echo "=== asan unit tests ==="
  ctest --test-dir "$root/build/sanitize" --output-on-failure -j "$(nproc)" --timeout 600 "$@"
fi
# Suites that test the Redis functions or link the subscriber in-process: no newspushd to check.
never_start_newspushd='^(HistoryFunctions|HistoryFunctionsAof|TrendingFunctions|RedisSubscriber)\.'
echo "=== $kind integration tests (the release build's, against build/$build's newspushd) ==="
NEWSPUSHD_BIN="$root/build/$build/server/newspushd" \
  ctest --test-dir "$root/build/release" -L integration --output-on-failure -j "$(nproc)" \
  --timeout 600 -E "$never_start_newspushd" "$@"
end=$(date +%s)
echo "=== $kind done in $(( end - start )) s (build $(( built - start )) s, tests $(( end - built )) s) ==="
