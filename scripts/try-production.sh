#!/usr/bin/env bash
# try-production.sh start|stop|print [--balancer nginx|haproxy] [--dir DIR] [--port-offset N]
# The production layout on one machine, for a try (README, "Running newspushd", "A production
# layout on one machine"): a Redis primary and a replica watched by three Sentinels, two newspushd
# nodes that find the primary through the Sentinels, and nginx (deploy/nginx.conf, TLS) or
# HAProxy (deploy/haproxy.cfg, PROXY protocol) in front, plus the demo newsroom feed. Everything on
# 127.0.0.1, every process in the background with its log in DIR (default /tmp/newspush-try).
#   start  builds if needed, starts everything, waits until it all answers, prints the addresses
#   stop   stops what start started (SIGTERM, then SIGKILL after 15 s)
#   print  prints the commands start runs (the README shows them), without running anything
# --port-offset N adds N to every port (default ports: Redis 6379 and 6380, Sentinels 26379-26381,
# nodes 8081-8082 with admin ports 9091-9092, nginx 8443 (https) and 8080, HAProxy 8080).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
action="${1:-}"
[ $# -gt 0 ] && shift
balancer=nginx
dir=/tmp/newspush-try
offset=0
while [ $# -gt 0 ]; do
  case "$1" in
    --balancer) balancer="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --port-offset) offset="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "try-production.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$balancer" in nginx|haproxy) ;; *) echo "try-production.sh: --balancer nginx or haproxy" >&2; exit 2 ;; esac
case "$offset" in ''|*[!0-9]*) echo "try-production.sh: --port-offset takes a number" >&2; exit 2 ;; esac
[ "$offset" -le 39000 ] || { echo "try-production.sh: --port-offset at most 39000" >&2; exit 2; }
case "$dir" in /*) ;; *) echo "try-production.sh: --dir must be an absolute path" >&2; exit 2 ;; esac

primary=$((6379 + offset)); replica=$((6380 + offset))
sentinels=($((26379 + offset)) $((26380 + offset)) $((26381 + offset)))
nodes=($((8081 + offset)) $((8082 + offset))); admins=($((9091 + offset)) $((9092 + offset)))
https_port=$((8443 + offset)); http_port=$((8080 + offset))
sentinel_list="127.0.0.1:${sentinels[0]},127.0.0.1:${sentinels[1]},127.0.0.1:${sentinels[2]}"
newspushd=build/release/server/newspushd
newspush=build/release/cli/newspush

# The commands, one a line as "NAME<TAB>COMMAND", run from the repository's root. The files they
# read are written by prepare() below.
# shellcheck disable=SC2016  # $(cat ...) is part of the command printed and run, not expanded here
commands() {
  local proxy_protocol=""
  [ "$balancer" = haproxy ] && proxy_protocol=" --proxy-protocol"
  printf 'redis-primary\tredis-server %s/primary/redis.conf --port %s --bind 127.0.0.1 --dir %s/primary\n' "$dir" "$primary" "$dir"
  printf 'redis-replica\tredis-server %s/replica/redis.conf --port %s --bind 127.0.0.1 --dir %s/replica --replicaof 127.0.0.1 %s\n' "$dir" "$replica" "$dir" "$primary"
  for i in 1 2 3; do
    printf 'sentinel-%s\tredis-server %s/sentinel-%s.conf --sentinel\n' "$i" "$dir" "$i"
  done
  for i in 1 2; do
    printf 'newspushd-%s\tNEWSPUSH_PUBLISH_KEYS=$(cat %s/publish-key) %s --listen 127.0.0.1:%s --admin-listen 127.0.0.1:%s --redis-sentinel %s --redis-master newspush --trusted-proxy 127.0.0.1%s --static-dir web/static\n' \
      "$i" "$dir" "$newspushd" "${nodes[i-1]}" "${admins[i-1]}" "$sentinel_list" "$proxy_protocol"
  done
  if [ "$balancer" = nginx ]; then
    printf 'nginx\tnginx -p %s -c %s/nginx.conf -e stderr\n' "$dir" "$dir"
  else
    printf 'haproxy\thaproxy -db -f %s/haproxy.cfg\n' "$dir"
  fi
  # The feed finds the primary through the Sentinels too, and follows it after a failover.
  printf 'demo-feed\tNEWSPUSH_PUBLISH_KEY=$(cat %s/publish-key) %s demo-feed --redis-sentinel %s --redis-master newspush --views-url http://127.0.0.1:%s/api/v1/views\n' \
    "$dir" "$newspush" "$sentinel_list" "${admins[0]}"
}

# The files the commands read: a copy of deploy/redis.conf for each Redis and each Sentinel's
# configuration (every one its own: the Sentinels rewrite their files, and at a failover the
# Redis files too, with CONFIG REWRITE), a publish key, and the balancer's file from deploy/ with
# its documented placeholders (nodes, ports, certificate) replaced, nothing else.
prepare() {
  mkdir -p "$dir/primary" "$dir/replica"
  cp "$root/deploy/redis.conf" "$dir/primary/redis.conf"
  cp "$root/deploy/redis.conf" "$dir/replica/redis.conf"
  touch "$dir/.newspush-try"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/publish-key"
  for i in 1 2 3; do
    cat > "$dir/sentinel-$i.conf" <<EOF
port ${sentinels[i-1]}
bind 127.0.0.1
dir $dir
sentinel monitor newspush 127.0.0.1 $primary 2
sentinel down-after-milliseconds newspush 2000
sentinel failover-timeout newspush 10000
EOF
  done
  if [ "$balancer" = nginx ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
      -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
    sed -e "/^ *#/!s|10\.0\.0\.11:8080|127.0.0.1:${nodes[0]}|" -e "/^ *#/!s|10\.0\.0\.12:8080|127.0.0.1:${nodes[1]}|" \
        -e "s|listen 443 ssl http2;|listen 127.0.0.1:$https_port ssl http2;|" \
        -e "s|listen 80;|listen 127.0.0.1:$http_port;|" \
        -e "s|/etc/ssl/newspush/fullchain.pem;|$dir/cert.pem;|" -e "s|/etc/ssl/newspush/privkey.pem;|$dir/key.pem;|" \
        "$root/deploy/nginx.conf" > "$dir/newspush.conf"
    # As Debian's /etc/nginx/nginx.conf includes conf.d/*.conf, with what nginx writes kept here.
    cat > "$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/newspush.conf;
}
EOF
  else
    sed -e "/^ *#/!s|10\.0\.0\.11:8080|127.0.0.1:${nodes[0]}|" -e "/^ *#/!s|10\.0\.0\.12:8080|127.0.0.1:${nodes[1]}|" \
        -e "s|bind :80\$|bind 127.0.0.1:$http_port|" "$root/deploy/haproxy.cfg" > "$dir/haproxy.cfg"
  fi
}

wait_until() {  # wait_until SECONDS WHAT COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "try-production.sh: $what did not come up within $seconds s; logs in $dir" >&2
  # The last lines of the part being waited for ($name, set by start's loop).
  tail -n 5 "$dir/$name.log" 2>/dev/null | sed "s/^/  $name: /" >&2
  exit 1
}

stop() {
  [ -f "$dir/.newspush-try" ] || { echo "try-production.sh: nothing started in $dir"; return 0; }
  local pids=()
  for pidfile in "$dir"/*.pid; do
    [ -f "$pidfile" ] || continue
    case "$pidfile" in "$dir/nginx.pid") continue ;; esac  # nginx's own; ours is nginx.run.pid
    pid=$(cat "$pidfile")
    # Each runs in its own session (setsid): its whole group goes.
    kill -TERM -- "-$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$pidfile"
  done
  for _ in $(seq 150); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  echo "stopped (logs kept in $dir)"
}

start() {
  if [ -f "$dir/.newspush-try" ]; then
    for pidfile in "$dir"/*.run.pid; do
      [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
        { echo "try-production.sh: already running in $dir (stop it first)" >&2; exit 1; }
    done
    rm -rf "$dir"
  elif [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    echo "try-production.sh: $dir exists and is not ours; choose another --dir" >&2; exit 1
  fi
  local port
  for port in "$primary" "$replica" "${sentinels[@]}" "${nodes[@]}" "${admins[@]}" "$http_port" \
              $([ "$balancer" = nginx ] && echo "$https_port"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "try-production.sh: port $port is in use (try --port-offset)" >&2; exit 3
    fi
  done
  "$root/scripts/deps.sh"
  if [ ! -x "$root/$newspushd" ] || [ ! -x "$root/$newspush" ]; then "$root/scripts/build.sh" release; fi
  prepare
  # Whatever fails from here on, nothing is left running.
  # shellcheck disable=SC2154  # status is assigned inside the trap
  trap 'status=$?; [ $status -eq 0 ] || { echo "try-production.sh: start failed; stopping" >&2; stop >&2; }' EXIT
  cd "$root"
  while IFS=$'\t' read -r name command; do
    echo "+ $command"
    # Its own session, so that stop ends it and anything it started as one group.
    setsid bash -c "$command" > "$dir/$name.log" 2>&1 < /dev/null &
    echo $! > "$dir/$name.run.pid"
    case "$name" in
      redis-primary) wait_until 10 "redis-server on $primary" redis-cli -p "$primary" ping ;;
      redis-replica) wait_until 10 "the replica" sh -c "redis-cli -p $replica info replication | grep -q master_link_status:up" ;;
      sentinel-3)
        for s in "${sentinels[@]}"; do
          wait_until 10 "sentinel $s" sh -c "redis-cli -p $s sentinel get-master-addr-by-name newspush | grep -q $primary"
        done ;;
      newspushd-2)
        for a in "${admins[@]}"; do wait_until 20 "newspushd (admin port $a)" curl -fs "http://127.0.0.1:$a/readyz"; done ;;
      nginx) wait_until 10 nginx curl -fsk "https://127.0.0.1:$https_port/healthz" ;;
      haproxy) wait_until 10 haproxy curl -fs "http://127.0.0.1:$http_port/readyz" ;;
    esac
  done < <(commands)
  if [ "$balancer" = nginx ]; then
    url="https://127.0.0.1:$https_port"; ws="wss://127.0.0.1:$https_port/ws"
  else
    url="http://127.0.0.1:$http_port"; ws="ws://127.0.0.1:$http_port/ws"
  fi
  cat <<EOF

Up: Redis primary :$primary, replica :$replica, Sentinels :${sentinels[*]}, newspushd :${nodes[*]}
(admin :${admins[*]}), $balancer in front. Logs and pids in $dir.
  page:     $url/   (self-signed certificate with nginx: accept it)
  readers:  $ws   or   curl -kN '$url/sse?categories=*'
  publish:  curl -X POST -H "Authorization: Bearer \$(cat $dir/publish-key)" http://127.0.0.1:${admins[0]}/api/v1/articles -d '{"id":"t1","category":"sports","title":"Essai"}'
  failover: kill -9 \$(cat $dir/redis-primary.run.pid)   (the Sentinels promote the replica in a few seconds)
  a node:   kill -9 \$(cat $dir/newspushd-1.run.pid)     (its readers resume on the other through $balancer)
  stop:     scripts/try-production.sh stop$([ "$dir" != /tmp/newspush-try ] && echo " --dir $dir")
EOF
}

case "$action" in
  start) start ;;
  stop) stop ;;
  print) commands | cut -f2 ;;
  *) echo "usage: try-production.sh start|stop|print [--balancer nginx|haproxy] [--dir DIR] [--port-offset N]" >&2; exit 2 ;;
esac
