#!/usr/bin/env bash
# bench.sh [--devices N] [--platform apns|webpush|both] [--restart] [--build-dir DIR]
#          [--bridge-cpu CPU] [--fakes-cpu CPU] [--timeout SECONDS] [-- BRIDGE_FLAGS...]
# One breaking article fanned out by newspush-bridge to N registered devices per platform
# (default 100000, platform apns): a private redis-server, the fake APNs (tests/bridge/fakes/
# fake_apns.cjs: HTTP/2 over TLS, trusted through --provider-ca with a test CA made by openssl)
# and the fake Web Push service (loadtest/bridge/fake_web_push.cjs: checks VAPID, decrypts every
# push), all on loopback. Devices are registered through the bridge's device API (register.cjs,
# 64 requests in flight; timed apart), then one breaking article is published with
# `newspush publish` (FCALL newspush_publish, newspushd's path). Measured: wall time from the
# publish to the fakes' last accepted notification, notifications/s, the bridge's CPU seconds
# (/proc/PID/stat utime+stime, before and after) per 1,000 notifications and its peak RSS during
# the fan-out (VmHWM, reset at the publish). Exits 1 unless every device got exactly one.
# --restart: SIGKILL the bridge halfway through the fan-out, start another (--claim-after 1s)
# and show every device still gets the article exactly once: how many were sent again (the
# fakes' duplicates) and how many the new bridge skipped as already accepted.
# The bridge runs pinned to --bridge-cpu (0), Redis, the fakes and the registration tool to
# --fakes-cpu (1). Builds (scripts/build.sh release) unless --build-dir names a build. Stops
# everything it started; KEEP_RUN=1 keeps its directory (/tmp/newspush-bridgebench.*: the
# bridge's, the fakes' and Redis's logs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
devices=100000
platform=apns
restart=0
build_dir=""
bridge_cpu=0
fakes_cpu=1
timeout_s=600
bridge_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --devices) devices="$2"; shift 2 ;;
    --platform) platform="$2"; shift 2 ;;
    --restart) restart=1; shift ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --bridge-cpu) bridge_cpu="$2"; shift 2 ;;
    --fakes-cpu) fakes_cpu="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --) shift; bridge_extra=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$devices" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --devices must be a positive integer" >&2; exit 2; }
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --timeout must be whole seconds" >&2; exit 2; }
case "$platform" in
  apns) platforms=(apns) ;;
  webpush) platforms=(webpush) ;;
  both) platforms=(apns webpush) ;;
  *) echo "bench.sh: --platform must be apns, webpush or both" >&2; exit 2 ;;
esac
for tool in node openssl redis-server redis-cli curl jq taskset; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is missing" >&2; exit 1; }
done

if [ -z "$build_dir" ]; then
  "$root/scripts/build.sh" release
  build_dir="$root/build/release"
fi
bridge_bin="$build_dir/bridge/daemon/newspush-bridge"
cli_bin="$build_dir/cli/newspush"
for bin in "$bridge_bin" "$cli_bin"; do
  [ -x "$bin" ] || { echo "bench.sh: $bin is missing" >&2; exit 1; }
done

run_dir="$(mktemp -d /tmp/newspush-bridgebench.XXXXXX)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP_RUN:-}" ] || rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
source "$root/scripts/free_port.sh"

now() { date +%s.%N; }
# CPU seconds (user + system) of a process so far.
cpu_seconds() {
  local ticks
  ticks="$(sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')"
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
# Waits (0.1 s steps, bounded) until the command succeeds; fails with the message otherwise.
wait_for() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "bench.sh: timed out waiting for $what" >&2; return 1; }
    sleep 0.1
  done
}

# --- Redis, keys, certificates --------------------------------------------------------------
redis_port="$(free_port)"
taskset -c "$fakes_cpu" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$run_dir" --daemonize no --loglevel warning --logfile "$run_dir/redis.log" &
pids+=($!)
wait_for redis 10 redis-cli -p "$redis_port" ping >/dev/null 2>&1
redis_url="redis://127.0.0.1:$redis_port"
redis-cli -p "$redis_port" -x FUNCTION LOAD REPLACE <"$root/server/redis/newspush.lua" >/dev/null

ossl() { openssl "$@" 2>/dev/null; }
ossl ecparam -name prime256v1 -genkey -noout -out "$run_dir/vapid.pem"
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$run_dir/apns.p8"
ossl pkey -in "$run_dir/apns.p8" -pubout -out "$run_dir/apns.pub"
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$run_dir/ca.key"
ossl req -x509 -new -key "$run_dir/ca.key" -subj /CN=newspush-bridgebench-ca -days 1 \
  -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign -out "$run_dir/ca.pem"
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$run_dir/server.key"
ossl req -new -key "$run_dir/server.key" -subj /CN=localhost -out "$run_dir/server.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$run_dir/leaf.ext"
ossl x509 -req -in "$run_dir/server.csr" -CA "$run_dir/ca.pem" -CAkey "$run_dir/ca.key" -set_serial 7 \
  -days 1 -extfile "$run_dir/leaf.ext" -out "$run_dir/server.crt"

# --- the fakes --------------------------------------------------------------------------------
# Starts a fake in the background (log $1), waits for its "listening" line and sets $line to it.
# (Not run in $(...): its pid must reach the cleanup's list.)
start_fake() {
  local log="$run_dir/$1.log"
  shift
  taskset -c "$fakes_cpu" node "$@" >"$log" 2>&1 &
  pids+=($!)
  local pid=$!
  wait_for "$log's listening line" 15 grep -q '^listening' "$log" ||
    { cat "$log" >&2; exit 1; }
  kill -0 "$pid" || { cat "$log" >&2; exit 1; }
  line="$(grep -m1 '^listening' "$log")"
}
bridge_platform_args=()
count_urls=()
for p in "${platforms[@]}"; do
  if [ "$p" = apns ]; then
    start_fake apns "$root/tests/bridge/fakes/fake_apns.cjs" --cert "$run_dir/server.crt" \
      --key "$run_dir/server.key" --public-key "$run_dir/apns.pub" --key-id BENCHKEY01 \
      --team-id BENCHTEAM1 --topic fr.exemple.news --quiet 1
    apns_h2="$(sed -n 's/.*h2=\([0-9]*\).*/\1/p' <<<"$line")"
    apns_admin="$(sed -n 's/.*admin=\([0-9]*\).*/\1/p' <<<"$line")"
    count_urls+=("http://127.0.0.1:$apns_admin/__counts")
    bridge_platform_args+=(--apns-key "$run_dir/apns.p8" --apns-key-id BENCHKEY01 --apns-team-id BENCHTEAM1
                           --apns-topic fr.exemple.news --apns-endpoint "https://127.0.0.1:$apns_h2"
                           --provider-ca "$run_dir/ca.pem")
  else
    start_fake webpush "$here/fake_web_push.cjs"
    webpush_port="$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$line")"
    webpush_p256dh="$(sed -n 's/.*p256dh=\([A-Za-z0-9_-]*\).*/\1/p' <<<"$line")"
    webpush_auth="$(sed -n 's/.*auth=\([A-Za-z0-9_-]*\).*/\1/p' <<<"$line")"
    count_urls+=("http://127.0.0.1:$webpush_port/__stats")
    bridge_platform_args+=(--vapid-key "$run_dir/vapid.pem" --vapid-subject mailto:bench@exemple.fr
                           --webpush-allow-http true)
  fi
done

# --- the bridge -------------------------------------------------------------------------------
api_key="bench-$(openssl rand -hex 16)"
bridge_log="$run_dir/bridge.log"
claim_args=()
[ "$restart" = 1 ] && claim_args=(--claim-after 1s)
# Starts a bridge; sets bridge_pid and bridge_port.
start_bridge() {
  : >"$bridge_log"
  taskset -c "$bridge_cpu" "$bridge_bin" --redis "$redis_url" --listen 127.0.0.1:0 --api-key "$api_key" \
    "${bridge_platform_args[@]}" "${claim_args[@]}" "${bridge_extra[@]}" >>"$bridge_log" 2>&1 &
  bridge_pid=$!
  pids+=("$bridge_pid")
  wait_for "the bridge's listening line" 15 grep -q bridge_listening "$bridge_log" ||
    { cat "$bridge_log" >&2; exit 1; }
  bridge_port="$(sed -n 's/.*bridge_listening.* port=\([0-9]*\).*/\1/p' "$bridge_log" | tail -1)"
  wait_for "the bridge's /readyz" 15 curl -fs "http://127.0.0.1:$bridge_port/readyz" -o /dev/null ||
    { cat "$bridge_log" >&2; exit 1; }
}
start_bridge
metric() {
  curl -fs "http://127.0.0.1:$bridge_port/metrics" | awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }'
}

# --- registration -------------------------------------------------------------------------------
total=$((devices * ${#platforms[@]}))
registration_started="$(now)"
for p in "${platforms[@]}"; do
  register=(node "$here/register.cjs" --port "$bridge_port" --api-key "$api_key" --platform "$p"
            --count "$devices" --concurrency 64)
  [ "$p" = webpush ] && register+=(--endpoint-base "http://127.0.0.1:$webpush_port/push/"
                                   --p256dh "$webpush_p256dh" --auth "$webpush_auth")
  echo "registering $devices $p devices through the device API: $(taskset -c "$fakes_cpu" "${register[@]}")"
done
registration_seconds="$(awk -v a="$registration_started" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
opted_in="$(redis-cli -p "$redis_port" SCARD bridge:breaking)"
[ "$opted_in" = "$total" ] || { echo "bench.sh: $opted_in devices opted in, expected $total" >&2; exit 1; }

# --- one breaking article -----------------------------------------------------------------------
# The fakes' counts summed: distinct devices, duplicates, accepted, refusals/errors, last accept.
counts() {
  local url
  for url in "${count_urls[@]}"; do curl -fs "$url"; echo; done |
    jq -s '{distinct: (map(.distinct) | add), duplicates: (map(.duplicates) | add),
            accepted: (map(.accepted) | add), errors: (map((.refusals // 0) + (.errors // 0)) | add),
            first: (map(.firstAcceptedAtMs) | min), last: (map(.lastAcceptedAtMs) | max)}'
}
all_arrived() { [ "$(counts | jq .distinct)" -ge "$total" ]; }
half_arrived() { [ "$(counts | jq .accepted)" -ge $((total / 2)) ]; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
cpu_before="$(cpu_seconds "$bridge_pid")"
rss_before_kib="$(awk '/^VmRSS/ { print $2 }' "/proc/$bridge_pid/status")"
echo 5 >"/proc/$bridge_pid/clear_refs" 2>/dev/null || true  # resets VmHWM to the current RSS
published_at="$(now)"
article_id="bench-$(date +%s)"
"$cli_bin" publish --redis "$redis_url" --id "$article_id" --category international \
  --title "Alerte : séisme au large des côtes" --url "https://exemple.fr/articles/$article_id" \
  --summary "Un séisme de magnitude 6,8 a été ressenti ce matin ; les autorités évaluent les dégâts." \
  --breaking >/dev/null

first_bridge_cpu=0
resent_note=""
if [ "$restart" = 1 ]; then
  wait_for "half of the notifications" "$timeout_s" half_arrived
  first_bridge_cpu="$(cpu_seconds "$bridge_pid")"
  first_bridge_rss="$(awk '/^VmHWM/ { print $2 }' "/proc/$bridge_pid/status")"
  kill -9 "$bridge_pid"
  wait "$bridge_pid" 2>/dev/null || true
  at_kill="$(counts)"
  echo "SIGKILLed the bridge after $(jq .accepted <<<"$at_kill") of $total accepted"
  start_bridge
  cpu_before="$(cpu_seconds "$bridge_pid")"
fi
wait_for "all $total notifications" "$timeout_s" all_arrived || true
# The entry is acknowledged once every send was answered: the bridge's work is over.
wait_for "the entry's acknowledgement" 60 \
  test "$(metric newspush_bridge_entries_acked_total)" -ge 1 || true
cpu_after="$(cpu_seconds "$bridge_pid")"
rss_peak_kib="$(awk '/^VmHWM/ { print $2 }' "/proc/$bridge_pid/status")"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
final="$(counts)"
distinct="$(jq .distinct <<<"$final")"
duplicates="$(jq .duplicates <<<"$final")"
errors="$(jq .errors <<<"$final")"
first_at="$(jq -r --arg t0 "$published_at" '(.first / 1000 - ($t0 | tonumber)) | . * 1000 | round / 1000' <<<"$final")"
wall="$(jq -r --arg t0 "$published_at" '(.last / 1000 - ($t0 | tonumber)) | . * 1000 | round / 1000' <<<"$final")"
bridge_cpu_total="$(awk -v a="$cpu_before" -v b="$cpu_after" -v f="$first_bridge_cpu" 'BEGIN { printf "%.2f", b - a + f }')"
bridge_sent="$(curl -fs "http://127.0.0.1:$bridge_port/metrics" |
  awk '/^newspush_bridge_sent_total/ { n += $2 } END { print n + 0 }')"
bridge_retries="$(curl -fs "http://127.0.0.1:$bridge_port/metrics" |
  awk '/^newspush_bridge_retries_total/ { n += $2 } END { print n + 0 }')"
fake_requests="$(for url in "${count_urls[@]}"; do curl -fs "$url"; echo; done | jq -s 'map(.requests) | add')"
# Streams the fake APNs closed with REFUSED_STREAM (GOAWAY from nghttp2's rapid-reset limit):
# never delivered, sent again by libcurl on a fresh connection (see fake_apns.cjs).
refused_streams="$(for url in "${count_urls[@]}"; do curl -fs "$url"; echo; done | jq -s 'map(.refusedStreams // 0) | add')"
apns_connections=""
[ -n "${apns_admin:-}" ] &&
  apns_connections=", $(curl -fs "http://127.0.0.1:$apns_admin/__stats" | jq .connections) HTTP/2 connections to the fake APNs"
skipped="$(metric newspush_bridge_sends_skipped_accepted_total)"
claimed="$(metric newspush_bridge_entries_claimed_total)"

echo
echo "platform:           $platform (bridge pid on CPU $bridge_cpu; Redis, fakes, registration on CPU $fakes_cpu)"
echo "devices:            $total ($devices per platform), registered in ${registration_seconds} s through the API"
echo "arrived:            $distinct distinct, $duplicates duplicates, $errors refused by the fakes"
echo "requests:           $fake_requests at the fakes ($refused_streams refused streams); the bridge counted $bridge_sent accepted, $bridge_retries retries$apns_connections"
echo "publish -> first:   ${first_at} s, -> last: ${wall} s"
awk -v n="$distinct" -v w="$wall" -v c="$bridge_cpu_total" 'BEGIN {
  printf "notifications/s:    %.0f\n", (w > 0 ? n / w : 0)
  printf "bridge CPU:         %.2f s, %.3f CPU-s per 1,000 notifications\n", c, (n > 0 ? c * 1000 / n : 0) }'
echo "bridge RSS:         ${rss_before_kib} KiB before the publish, peak ${rss_peak_kib} KiB during the fan-out"
if [ "$restart" = 1 ]; then
  echo "restart:            first bridge SIGKILLed at $(jq .accepted <<<"$at_kill") accepted (CPU ${first_bridge_cpu} s, peak RSS ${first_bridge_rss} KiB);"
  echo "                    second bridge claimed $claimed entry, skipped $skipped already accepted, the fakes saw $duplicates sent again"
fi
echo "load average:       $load_before before, $load_after after ($(nproc) CPUs, shared)"
status=0
[ "$distinct" -eq "$total" ] || { echo "bench.sh: $distinct of $total devices got the article" >&2; status=1; }
[ "$restart" = 1 ] || [ "$duplicates" -eq 0 ] ||
  { echo "bench.sh: $duplicates duplicate notifications" >&2; status=1; }
[ "$errors" -eq 0 ] || { echo "bench.sh: the fakes refused $errors pushes" >&2; status=1; }
if [ "$status" != 0 ]; then echo "--- bridge log (tail)" >&2; tail -20 "$bridge_log" >&2; fi
exit "$status"
