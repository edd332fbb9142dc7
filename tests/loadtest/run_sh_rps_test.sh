#!/usr/bin/env bash
# run.sh --rps without load: the option is parsed and documented, the CPU masks are right, the
# setting is refused with a clear error where it cannot be written, and the previous value comes
# back however run.sh ends. A scratch file stands in for /sys/class/net/lo/queues/rx-0/rps_cpus
# (NEWSPUSH_RPS_CPUS_FILE), so the machine's own setting is never touched.
#
#   run_sh_rps_test.sh options             no processes but bash
#   run_sh_rps_test.sh interrupt BUILD_DIR  run.sh with a real Redis and newspushd, stopped by
#                                           Ctrl-C (SIGINT) and by SIGTERM right after steering
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run_sh="$root/loadtest/run.sh"
scratch="$(mktemp -d /tmp/newspush-rps-test.XXXXXX)"
runner=""
cleanup() {
  if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
    kill -TERM "$runner" 2>/dev/null
    wait "$runner" 2>/dev/null
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }
expect_contains() { grep -qF -- "$2" "$1" || { fail "$3: '$2' not in:"; cat "$1" >&2; }; }

options() {
  # Documented in --help.
  "$run_sh" --help >"$scratch/help" 2>&1
  expect_eq "$?" 0 "--help exit status"
  expect_contains "$scratch/help" "[--rps]" "--help usage line"
  expect_contains "$scratch/help" "rps_cpus" "--help says what --rps writes"

  # Accepted by the parser: what fails next is the scenario, not the option.
  "$run_sh" --rps --scenario no-such-scenario >"$scratch/out" 2>&1
  expect_eq "$?" 2 "unknown scenario exit status"
  expect_contains "$scratch/out" "unknown scenario 'no-such-scenario'" "--rps parsed"
  "$run_sh" --rpss >"$scratch/out" 2>&1
  expect_eq "$?" 2 "misspelt option exit status"

  # A file that cannot be written: a clear error before anything is built or started.
  NEWSPUSH_RPS_CPUS_FILE="$scratch/missing/rps_cpus" "$run_sh" --rps --scenario smoke \
    --build-dir "$scratch/no-build" >"$scratch/out" 2>&1
  expect_eq "$?" 1 "missing rps_cpus exit status"
  expect_contains "$scratch/out" "run.sh: --rps: $scratch/missing/rps_cpus does not exist" \
    "missing rps_cpus message"
  if [ "$(id -u)" != 0 ]; then
    echo 0 >"$scratch/rps_cpus"
    chmod 444 "$scratch/rps_cpus"
    NEWSPUSH_RPS_CPUS_FILE="$scratch/rps_cpus" "$run_sh" --rps --scenario smoke \
      --build-dir "$scratch/no-build" >"$scratch/out" 2>&1
    expect_eq "$?" 1 "non-root exit status"
    expect_contains "$scratch/out" "takes root: run run.sh as root" "non-root message"
    chmod 644 "$scratch/rps_cpus"
  fi

  # The pieces run.sh uses, on a scratch file.
  (
    NEWSPUSH_RPS_CPUS_FILE="$scratch/rps_cpus"
    source "$root/loadtest/rps.sh"
    expect_eq "$(rps_mask 1)" 2 "mask of CPU 1"
    expect_eq "$(rps_mask 0)" 1 "mask of CPU 0"
    expect_eq "$(rps_mask 0,1)" 3 "mask of CPUs 0,1"
    expect_eq "$(rps_mask 0-3,5)" 2f "mask of CPUs 0-3,5"
    rps_mask 1,x >/dev/null 2>&1 && fail "a bad CPU list was taken"
    rps_mask 40 >/dev/null 2>&1 && fail "CPU 40 was taken"
    echo 0 >"$scratch/rps_cpus"
    rps_check || fail "rps_check refused a writable file"
    rps_steer 2 2>"$scratch/steer"
    expect_eq "$(cat "$scratch/rps_cpus")" 2 "steered value"
    expect_contains "$scratch/steer" ": 0 -> 2" "steer message"
    rps_restore 2>/dev/null
    expect_eq "$(cat "$scratch/rps_cpus")" 0 "restored value"
    echo 5 >"$scratch/rps_cpus"  # someone else's change after the restore is left alone
    rps_restore 2>/dev/null
    expect_eq "$(cat "$scratch/rps_cpus")" 5 "a second restore writes nothing"
    exit "$failures"
  )
  failures=$((failures + $?))
}

# run.sh started with --rps; stopped with signal $1 as soon as it has steered, it must put the
# scratch file back and exit with 128 + the signal.
interrupted_run() {
  local signal="$1" expected_status="$2" build_dir="$3"
  echo "f0" >"$scratch/rps_cpus"
  # Not truncated by the redirection below: that happens in the child, after the loop may have
  # read the previous run's "f0 -> 2".
  rm -f "$scratch/run.out"
  # env --default-signal: a background job of a script starts with SIGINT ignored, which bash then
  # cannot trap; a terminal's Ctrl-C reaches a run.sh whose SIGINT is the default. setsid: its
  # own process group, which gets the SIGINT as a terminal's Ctrl-C would. Sent to run.sh alone,
  # a SIGINT that lands while it waits for a foreground command (a readiness probe) is dropped
  # by bash when that command did not die of it too (bash(1), SIGNALS): a lone `kill -INT` is
  # not what a user's Ctrl-C is.
  NEWSPUSH_RPS_CPUS_FILE="$scratch/rps_cpus" setsid env --default-signal=INT,TERM \
    "$run_sh" --rps --scenario smoke --build-dir "$build_dir" >"$scratch/run.out" 2>&1 &
  runner=$!
  local steered=0
  for _ in $(seq 600); do  # 60 s: a loaded machine is slow to start a shell, never this slow
    if grep -sqF -- "f0 -> 2" "$scratch/run.out"; then steered=1; break; fi
    kill -0 "$runner" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$steered" != 1 ]; then
    fail "$signal: run.sh never steered:"; cat "$scratch/run.out" >&2; return
  fi
  expect_eq "$(cat "$scratch/rps_cpus")" 2 "$signal: steered to the generator's CPU 1"
  if [ "$signal" = INT ]; then
    # The group, as Ctrl-C. Its id is run.sh's pid: setsid forks only a group leader, which a
    # script's background job is not.
    kill -INT -- "-$runner" || fail "INT: no process group $runner"
  else
    kill -TERM "$runner"  # the process alone, as kill(1) or a service manager
  fi
  local status=0
  wait "$runner" || status=$?
  runner=""
  expect_eq "$status" "$expected_status" "$signal: run.sh exit status"
  [ "$status" = "$expected_status" ] || cat "$scratch/run.out" >&2
  expect_eq "$(cat "$scratch/rps_cpus")" f0 "$signal: value after run.sh ended"
  expect_contains "$scratch/run.out" "restored to f0" "$signal: restore message"
}

case "${1:-}" in
  options) options ;;
  interrupt)
    [ -x "${2:-}/server/newspushd" ] && [ -x "$2/loadtest/newspush-loadtest" ] ||
      { echo "usage: $0 interrupt BUILD_DIR (with newspushd and newspush-loadtest built)" >&2; exit 2; }
    interrupted_run INT 130 "$2"
    interrupted_run TERM 143 "$2" ;;
  *) echo "usage: $0 options | interrupt BUILD_DIR" >&2; exit 2 ;;
esac
[ "$failures" = 0 ] && echo "all checks passed"
exit $((failures > 0))
