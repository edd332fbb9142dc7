#!/usr/bin/env bash
# run.sh [--scenario NAME] [--target newspushd|nchan] [--transport websocket|sse] [--tls] [--rps]
#        [--build-dir DIR] [-- LOADTEST_ARGS...]
# Scenarios: smoke s2 breaking idle slow ramp reconnect; nchan (s2 against Nchan); compare (the S2
# ramp against newspushd, then against Nchan, printed side by side); scaleout (the S2 ramp against
# one newspushd with 2 threads, then two newspushd processes sharing the port with --reuse-port;
# nothing pinned, total server CPU from /proc); transports (the S2 ramp against newspushd over
# WebSocket, then over SSE, a fresh newspushd each, side by side). --transport sse: newspushd's
# clients read GET /sse event streams instead of WebSockets (Nchan's always use WebSocket).
# --tls: newspushd serves TLS (--tls-cert/--tls-key) with a fresh self-signed certificate (openssl,
# EC P-256, for IP:127.0.0.1) and the generator speaks wss:// or https:// and verifies it
# (--tls --tls-ca); any newspushd scenario, not the Nchan ones (nchan, compare, --target nchan).
# --rps: loopback's receive work is steered to the load generator's CPU (RPS: its mask written to
# /sys/class/net/lo/queues/rx-0/rps_cpus; root), as a real network puts it on the client machine,
# for every server the scenario measures; the previous value is put back on exit, failure or
# Ctrl-C. Results get -rps in their names. Machine-wide while it runs.
# Builds (scripts/build.sh release, unless --build-dir points at an existing build), starts a private
# redis-server and the target on free loopback ports (the server pinned to CPU 0, Redis and the load
# generator to CPU 1), runs the scenario and writes loadtest/results/<scenario>-<date>.{json,html}.
# Nchan is Debian's nginx + libnginx-mod-nchan (scripts/deps.sh bench) with Redis storage, one
# worker. Stops everything it started. Exits with newspush-loadtest's status (non-zero if anything
# was lost).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
scenario=smoke
target=newspushd
transport=websocket
build_dir=""
tls=0
rps=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --transport) transport="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    --tls) tls=1; shift ;;
    --rps) rps=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

# Each scenario: the load generator's arguments and the newspushd flags it needs.
server_args=(--threads 1)
s2_ramp=(--mode ramp --connections 5000 --categories 2 --rate 20 --ramp-step 20 --max-rate 400
         --step-seconds 5)
case "$scenario" in
  smoke) args=(--mode fixed --connections 200 --rate 50 --breaking-rate 2 --duration 3 --warmup 0.5) ;;
  s2) args=(--mode fixed --connections 5000 --categories 2 --rate 80 --duration 20) ;;
  nchan) args=(--mode fixed --connections 5000 --categories 2 --rate 80 --duration 20)
         target=nchan ;;
  breaking) args=(--mode fixed --connections 5000 --rate 0 --breaking-rate 20 --duration 20) ;;
  idle) args=(--mode idle --connections 15000 --connect-rate 5000 --duration 10) ;;
  slow) args=(--mode slow --connections 1000 --slow-fraction 0.1 --categories 1 --rate 400
              --duration 15) ;;
  ramp) args=("${s2_ramp[@]}") ;;
  compare) args=("${s2_ramp[@]}") ;;
  scaleout) args=("${s2_ramp[@]}") ;;
  transports) args=("${s2_ramp[@]}") ;;
  reconnect) args=(--mode reconnect --connections 2000 --rate 50 --duration 10 --kill-after 3)
             server_args+=(--drain-timeout 1) ;;
  *) echo "run.sh: unknown scenario '$scenario'" >&2; exit 2 ;;
esac
# A TLS handshake costs the one-threaded server about a millisecond or more: opened faster than
# it keeps up, handshakes pile up and time out. (Arguments after -- still win.)
[ "$tls" = 1 ] && args+=(--connect-rate 400)
case "$target" in
  newspushd) ;;
  nchan)
    case "$scenario" in
      slow|reconnect) echo "run.sh: --target nchan runs smoke, s2, breaking, ramp or idle" >&2
                      exit 2 ;;
    esac ;;
  *) echo "run.sh: unknown target '$target' (newspushd or nchan)" >&2; exit 2 ;;
esac
case "$transport" in
  websocket) ;;
  sse)
    if [ "$target" = nchan ] || [ "$scenario" = nchan ]; then
      echo "run.sh: --transport sse measures newspushd (Nchan is read over WebSocket)" >&2; exit 2
    fi ;;
  *) echo "run.sh: unknown transport '$transport' (websocket or sse)" >&2; exit 2 ;;
esac
if [ "$tls" = 1 ] && { [ "$target" = nchan ] || [ "$scenario" = nchan ] || [ "$scenario" = compare ]; }; then
  echo "run.sh: --tls measures newspushd only (the Nchan setup serves plain ws://)" >&2; exit 2
fi
# The servers this invocation measures, in order.
if [ "$scenario" = compare ]; then targets=(newspushd nchan); else targets=("$target"); fi
if [ "$scenario" = scaleout ]; then targets=(newspushd-2threads newspushd-2processes); fi
if [ "$scenario" = transports ]; then targets=(newspushd-websocket newspushd-sse); fi
# Where the server runs and where Redis and the generator run.
server_cpus=0
generator_cpus=1
[ "$scenario" = scaleout ] && server_cpus=0,1 && generator_cpus=0,1

# --rps: checked before building or starting anything.
source "$here/rps.sh"
if [ "$rps" = 1 ]; then
  rps_generator_mask="$(rps_mask "$generator_cpus")"
  rps_check || exit 1
fi

if [ -z "$build_dir" ]; then
  "$root/scripts/build.sh" release
  build_dir="$root/build/release"
fi
loadtest="$build_dir/loadtest/newspush-loadtest"
newspushd="$build_dir/server/newspushd"
[ -x "$loadtest" ] || { echo "run.sh: $loadtest is missing" >&2; exit 1; }
if [[ " ${targets[*]} " == *" newspushd"* ]] && [ ! -x "$newspushd" ]; then
  echo "run.sh: $newspushd is missing" >&2; exit 1
fi
nginx="$(command -v nginx || echo /usr/sbin/nginx)"
nchan_module=/usr/lib/nginx/modules/ngx_nchan_module.so
if [[ " ${targets[*]} " == *" nchan "* ]] &&
  { [ ! -x "$nginx" ] || [ ! -f "$nchan_module" ]; }; then
  echo "run.sh: nginx or $nchan_module is missing: run scripts/deps.sh bench (as root)" >&2
  exit 1
fi

run_dir="$(mktemp -d /tmp/newspush-loadtest.XXXXXX)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  touch "$run_dir/stopping"
  # Every background job, not only those in pids: a signal can land between a job's start and
  # its `pids+=($!)`, and the `wait` below would then wait for that one forever.
  for pid in "${pids[@]}" $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rps_restore || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT  # exit runs cleanup; a signal ends the run instead of resuming it
trap 'exit 143' TERM

# Stops one process this script started and forgets it.
stop_process() {
  local keep=() pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  pids=("${keep[@]}")
}

source "$root/scripts/free_port.sh"

# Once, before the first server starts: every target of a comparison runs under the same steering.
if [ "$rps" = 1 ]; then rps_steer "$rps_generator_mask" || exit 1; fi

# --tls: newspushd's flags and the CA the generator checks its certificate against.
tls_server_args=()
if [ "$tls" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$run_dir/key.pem" -out "$run_dir/cert.pem" 2>/dev/null
  tls_server_args=(--tls-cert "$run_dir/cert.pem" --tls-key "$run_dir/key.pem")
fi

redis_port="$(free_port)"
taskset -c "$generator_cpus" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$run_dir" --daemonize no --loglevel warning --logfile "$run_dir/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_url="redis://127.0.0.1:$redis_port"

# Each start_* sets server_pid (the process whose CPU and RSS are measured), server_log and
# target_args (how newspush-loadtest reaches it).

# Starts newspushd on $1 (port 0: any) and sets server_port from its log: from the "listening address="
# line this process adds (the log is shared with the servers started before it in this run).
start_newspushd() {
  server_log="$run_dir/newspushd.log"
  touch "$server_log"
  local earlier
  earlier="$(grep -c 'listening address=' "$server_log" || true)"
  taskset -c "$server_cpus" "$newspushd" --listen "127.0.0.1:$1" --redis "$redis_url" \
    "${server_args[@]}" "${tls_server_args[@]}" 2>>"$server_log" &
  server_pid=$!
  pids+=("$server_pid")
  server_pids=("$server_pid")
  server_port=""
  for _ in $(seq 200); do
    server_port="$(sed -n 's/.*listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$server_log" |
      tail -n +"$((earlier + 1))" | tail -1)"
    [ -n "$server_port" ] && [ "$1" = 0 -o "$server_port" = "$1" ] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: newspushd exited:" >&2; cat "$server_log" >&2; exit 1; }
    sleep 0.05
  done
  for _ in $(seq 100); do
    if [ "$tls" = 1 ]; then
      ready_url=(--cacert "$run_dir/cert.pem" "https://127.0.0.1:$server_port/readyz")
    else
      ready_url=("http://127.0.0.1:$server_port/readyz")
    fi
    if curl -fs "${ready_url[@]}" >/dev/null 2>&1; then
      local secure=""
      [ "$tls" = 1 ] && secure=s
      if [ "$run_transport" = sse ]; then
        target_args=(--target newspushd --transport sse
                     --url "http$secure://127.0.0.1:$server_port/sse")
      else
        target_args=(--target newspushd --url "ws$secure://127.0.0.1:$server_port/ws")
      fi
      [ "$tls" = 1 ] && target_args+=(--tls --tls-ca "$run_dir/cert.pem")
      target_args+=(--redis "$redis_url")
      echo "redis $redis_url (cpu $generator_cpus), newspushd pid $server_pid on" \
        "127.0.0.1:$server_port (cpu $server_cpus)" >&2
      return
    fi
    sleep 0.05
  done
  echo "run.sh: newspushd not ready:" >&2; cat "$server_log" >&2; exit 1
}

# Starts nginx + Nchan (loadtest/nchan/nginx.conf.in) in the foreground (nchan_master); its one
# worker is the measured server_pid.
start_nchan() {
  local prefix="$run_dir/nchan" port
  mkdir -p "$prefix"
  port="$(free_port)"
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@PORT@#$port#g" -e "s#@REDIS_URL@#$redis_url#g" \
    -e "s#@NCHAN_MODULE@#$nchan_module#g" "$here/nchan/nginx.conf.in" >"$prefix/nginx.conf"
  server_log="$prefix/error.log"
  taskset -c 0 "$nginx" -p "$prefix/" -c "$prefix/nginx.conf" -e "$server_log" \
    2>>"$prefix/stderr.log" &
  nchan_master=$!
  pids+=("$nchan_master")
  server_pid=""
  for _ in $(seq 200); do
    kill -0 "$nchan_master" 2>/dev/null ||
      { echo "run.sh: nginx exited:" >&2; cat "$prefix/stderr.log" "$server_log" >&2; exit 1; }
    [ -z "$server_pid" ] && server_pid="$(pgrep -P "$nchan_master" | head -1 || true)"
    if [ -n "$server_pid" ] && curl -fs "http://127.0.0.1:$port/nchan_status" >/dev/null 2>&1; then
      target_args=(--target nchan --url "ws://127.0.0.1:$port/sub/"
                   --publish-url "http://127.0.0.1:$port/pub/")
      echo "redis $redis_url (cpu 1), nginx+nchan master $nchan_master, worker pid $server_pid on" \
        "127.0.0.1:$port (cpu 0)" >&2
      return
    fi
    sleep 0.05
  done
  echo "run.sh: nginx + nchan not ready:" >&2; cat "$prefix/stderr.log" "$server_log" >&2; exit 1
}

mkdir -p "$here/results"
stamp="$(date +%Y%m%d-%H%M%S)"
status=0
jsons=()
# utime + stime of the given processes, in clock ticks.
cpu_ticks() {
  local total=0 pid fields
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue  # already gone (the reconnect scenario stops it)
    read -r -a fields < <(sed 's/.*) //' "/proc/$pid/stat")
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

for t in "${targets[@]}"; do
  run_transport="$transport"  # newspushd's clients; Nchan's read WebSockets
  case "$t" in
    nchan) start_nchan ;;
    newspushd-2threads) server_args=(--threads 2); start_newspushd 0 ;;
    newspushd-2processes)
      server_args=(--threads 1 --reuse-port true); start_newspushd 0
      first_pid=$server_pid
      start_newspushd "$server_port"
      server_pids=("$first_pid" "$server_pid")
      server_pid=$first_pid ;;
    newspushd-websocket) run_transport=websocket; start_newspushd 0 ;;
    newspushd-sse) run_transport=sse; start_newspushd 0 ;;
    *) start_newspushd 0 ;;
  esac
  ticks_before="$(cpu_ticks "${server_pids[@]}")"
  if [ "$scenario" = reconnect ]; then
    # Once the load generator's SIGTERM has drained the server, start it again on the same port.
    (
      while kill -0 "$server_pid" 2>/dev/null; do sleep 0.05; done
      [ -e "$run_dir/stopping" ] && exit 0
      echo "run.sh: restarting newspushd on port $server_port" >&2
      exec taskset -c 0 "$newspushd" --listen "127.0.0.1:$server_port" --redis "$redis_url" \
        "${server_args[@]}" "${tls_server_args[@]}" 2>>"$run_dir/newspushd.log"
    ) &
    pids+=($!)
  fi
  out="$here/results/$scenario-$stamp"
  case "$scenario" in compare|scaleout|transports) out="$out-$t" ;; esac
  [ "$scenario" != nchan ] && [ "$scenario" != compare ] && [ "$t" = nchan ] && out="$out-nchan"
  [ "$scenario" != transports ] && [ "$t" != nchan ] && [ "$transport" = sse ] && out="$out-sse"
  [ "$tls" = 1 ] && out="$out-tls"
  [ "$rps" = 1 ] && out="$out-rps"
  run_status=0
  # In the background so that a signal to run.sh stops it at once (and cleanup ends the generator).
  taskset -c "$generator_cpus" "$loadtest" "${target_args[@]}" --server-pid "$server_pid" --json "$out.json" \
    --html "$out.html" "${args[@]}" "${extra[@]}" &
  generator_pid=$!
  pids+=("$generator_pid")
  wait "$generator_pid" || run_status=$?
  stop_process "$generator_pid"
  if [ "$run_status" -ne 0 ]; then
    echo "run.sh: newspush-loadtest against $t exited $run_status; the server's log ends with:" >&2
    tail -n 20 "$server_log" >&2
    [ "$status" -ge "$run_status" ] || status=$run_status
  fi
  [ -f "$out.json" ] && jsons+=("$out.json")
  if [ "$t" != nchan ] && [ "$scenario" != reconnect ]; then
    ticks=$(( $(cpu_ticks "${server_pids[@]}") - ticks_before ))
    echo "server CPU, all ${#server_pids[@]} newspushd process(es) of $t: $(awk -v t="$ticks" \
      -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }') s" | tee -a "$out.txt"
  fi
  # One server at a time: the next target gets core 0 to itself.
  if [ ${#targets[@]} -gt 1 ]; then
    if [ "$t" = nchan ]; then stop_process "$nchan_master"
    else for pid in "${server_pids[@]}"; do stop_process "$pid"; done; fi
  fi
done

if { [ "$scenario" = compare ] || [ "$scenario" = scaleout ] || [ "$scenario" = transports ]; } &&
  [ ${#jsons[@]} -ge 2 ]; then
  compare_args=()
  for json in "${jsons[@]}"; do compare_args+=(--compare "$json"); done
  table="$here/results/$scenario-$stamp"
  [ "$rps" = 1 ] && table="$table-rps"
  "$loadtest" "${compare_args[@]}" | tee "$table.txt"
fi
exit "$status"
