#!/usr/bin/env bash
# tls_cost.sh [BUILD_DIR] [CONNECTIONS] [ARTICLES] [RATE]: what TLS costs newspushd, plain then
# TLS, against the same redis-server, one newspushd at a time (--threads 2), with a certificate
# made here (EC P-256, self-signed): server memory per idle WebSocket connection (CONNECTIONS,
# default 15000), then, with ARTICLES > 0, server CPU per million deliveries of ARTICLES articles
# published at RATE per second to every connection. Loopback only; cleans up what it starts.
# --idle-timeout 900: the Python clients read raw bytes and answer no pings, and opening 15,000
# TLS connections from one Python process takes minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir="${1:-$root/build/release}"
connections="${2:-15000}"
articles="${3:-0}"
rate="${4:-20}"
newspushd="$build_dir/server/newspushd"
run_dir="$(mktemp -d /tmp/newspush-tls-idle.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
source "$root/scripts/free_port.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$run_dir/key.pem" -out "$run_dir/cert.pem" 2>/dev/null
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$run_dir" \
  --daemonize no --loglevel warning --logfile "$run_dir/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

for transport in plain tls; do
  extra=()
  [ "$transport" = tls ] && extra=(--tls-cert "$run_dir/cert.pem" --tls-key "$run_dir/key.pem")
  port="$(free_port)"
  "$newspushd" --listen "127.0.0.1:$port" --redis "redis://127.0.0.1:$redis_port" --threads 2 \
    --idle-timeout 900 "${extra[@]}" 2>"$run_dir/newspushd-$transport.log" &
  server=$!
  pids+=("$server")
  for _ in $(seq 100); do
    curl -fsk "$([ "$transport" = tls ] && echo https || echo http)://127.0.0.1:$port/readyz" \
      >/dev/null 2>&1 && break
    sleep 0.1
  done
  tls_flag=()
  [ "$transport" = tls ] && tls_flag=(--tls)
  /usr/bin/python3 "$root/loadtest/tls/tls_cost.py" --pid "$server" --port "$port" \
    --connections "$connections" --articles "$articles" --rate "$rate" --redis-port "$redis_port" \
    "${tls_flag[@]}"
  kill "$server"
  wait "$server" 2>/dev/null || true
done
