#!/usr/bin/env bash
# tsan-test.sh: the integration tests once more, against a ThreadSanitizer build of newspushd.
# Only newspushd is built with TSan (build/tsan): the release build's test binaries (brought up to
# date here) start it through NEWSPUSHD_BIN, and the first race it sees makes it exit 66, which
# fails the test that started it, with the report (tests/support/newspushd_process.hpp). Extra
# arguments go to ctest (e.g. -R Resilience).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh" release >/dev/null

echo "=== tsan build (newspushd only) ==="
start=$(date +%s)
"$root/scripts/build.sh" tsan
built=$(date +%s)
# Suites that test the Redis functions or link the subscriber in-process: nothing for TSan here.
never_start_newspushd='^(HistoryFunctions|HistoryFunctionsAof|TrendingFunctions|RedisSubscriber)\.'
echo "=== tsan tests (the release build's integration tests, against build/tsan's newspushd) ==="
NEWSPUSHD_BIN="$root/build/tsan/server/newspushd" TSAN_OPTIONS="halt_on_error=1:exitcode=66" \
  ctest --test-dir "$root/build/release" -L integration --output-on-failure -j "$(nproc)" \
  --timeout 600 -E "$never_start_newspushd" "$@"
end=$(date +%s)
echo "=== tsan done in $(( end - start )) s (build $(( built - start )) s, tests $(( end - built )) s) ==="
