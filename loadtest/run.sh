#!/usr/bin/env bash
# run.sh [--scenario smoke|s2|breaking|idle|slow|ramp|reconnect] [--build-dir DIR] [-- LOADTEST_ARGS...]
# Builds (scripts/build.sh release, unless --build-dir points at an existing build), starts a private
# redis-server and newspushd on free loopback ports (newspushd pinned to CPU 0, Redis and the load
# generator to CPU 1), runs the scenario and writes loadtest/results/<scenario>-<date>.{json,html}.
# Stops everything it started. Exits with newspush-loadtest's status (non-zero if anything was lost).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
scenario=smoke
build_dir=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

# Each scenario: the load generator's arguments and the newspushd flags it needs.
server_args=(--threads 1)
case "$scenario" in
  smoke) args=(--mode fixed --connections 200 --rate 50 --breaking-rate 2 --duration 3 --warmup 0.5) ;;
  s2) args=(--mode fixed --connections 5000 --categories 2 --rate 80 --duration 20) ;;
  breaking) args=(--mode fixed --connections 5000 --rate 0 --breaking-rate 20 --duration 20) ;;
  idle) args=(--mode idle --connections 15000 --connect-rate 5000 --duration 10) ;;
  slow) args=(--mode slow --connections 1000 --slow-fraction 0.1 --categories 1 --rate 400
              --duration 15) ;;
  ramp) args=(--mode ramp --connections 5000 --categories 2 --rate 20 --ramp-step 20
              --max-rate 400 --step-seconds 5) ;;
  reconnect) args=(--mode reconnect --connections 2000 --rate 50 --duration 10 --kill-after 3)
             server_args+=(--drain-timeout 1) ;;
  *) echo "run.sh: unknown scenario '$scenario'" >&2; exit 2 ;;
esac

if [ -z "$build_dir" ]; then
  "$root/scripts/build.sh" release
  build_dir="$root/build/release"
fi
loadtest="$build_dir/loadtest/newspush-loadtest"
newspushd="$build_dir/server/newspushd"
for bin in "$loadtest" "$newspushd"; do
  [ -x "$bin" ] || { echo "run.sh: $bin is missing" >&2; exit 1; }
done

run_dir="$(mktemp -d /tmp/newspush-loadtest.XXXXXX)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  touch "$run_dir/stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

source "$root/scripts/free_port.sh"

redis_port="$(free_port)"
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$run_dir" --daemonize no --loglevel warning --logfile "$run_dir/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_url="redis://127.0.0.1:$redis_port"

# Starts newspushd on $1 (port 0: any) and sets server_pid and server_port from its log.
start_server() {
  local log="$run_dir/newspushd.log"
  touch "$log"
  taskset -c 0 "$newspushd" --listen "127.0.0.1:$1" --redis "$redis_url" "${server_args[@]}" \
    2>>"$log" &
  server_pid=$!
  pids+=("$server_pid")
  server_port=""
  for _ in $(seq 200); do
    server_port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | tail -1)"
    [ -n "$server_port" ] && [ "$1" = 0 -o "$server_port" = "$1" ] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: newspushd exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.05
  done
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$server_port/readyz" >/dev/null 2>&1 && return
    sleep 0.05
  done
  echo "run.sh: newspushd not ready:" >&2; cat "$log" >&2; exit 1
}
start_server 0
echo "redis $redis_url (cpu 1), newspushd pid $server_pid on 127.0.0.1:$server_port (cpu 0)" >&2

if [ "$scenario" = reconnect ]; then
  # Once the load generator's SIGTERM has drained the server, start it again on the same port.
  (
    while kill -0 "$server_pid" 2>/dev/null; do sleep 0.05; done
    [ -e "$run_dir/stopping" ] && exit 0
    echo "run.sh: restarting newspushd on port $server_port" >&2
    exec taskset -c 0 "$newspushd" --listen "127.0.0.1:$server_port" --redis "$redis_url" \
      "${server_args[@]}" 2>>"$run_dir/newspushd.log"
  ) &
  pids+=($!)
fi

mkdir -p "$here/results"
out="$here/results/$scenario-$(date +%Y%m%d-%H%M%S)"
status=0
taskset -c 1 "$loadtest" --url "ws://127.0.0.1:$server_port/ws" --redis "$redis_url" \
  --server-pid "$server_pid" --json "$out.json" --html "$out.html" "${args[@]}" "${extra[@]}" ||
  status=$?
if [ "$status" -ne 0 ]; then
  echo "run.sh: newspush-loadtest exited $status; newspushd's log ends with:" >&2
  tail -n 20 "$run_dir/newspushd.log" >&2
fi
exit "$status"
