#!/usr/bin/env bash
# demo.sh [--redis URL] [--listen HOST:PORT]
# Installs what is missing, builds, then runs a complete local newspush: a private redis-server
# on a free loopback port (unless --redis points at an existing one), newspushd serving the demo
# front page, and a demo newsroom feed publishing sample articles and reader views (for the
# trending lists). The "enquêtes" category (premium-enquetes) is subscriber-only: the script signs
# a reader's token and prints a second address of the page that carries it. Push notifications:
# newspush-bridge with a fresh VAPID key (the page's "Recevoir les alertes"), and with Node.js the
# fake FCM and APNs, whose "notify ..." lines show what a phone would. Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
redis_url=""
listen="127.0.0.1:8080"
while [ $# -gt 0 ]; do
  case "$1" in
    --redis) redis_url="$2"; shift 2 ;;
    --listen) listen="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

"$root/scripts/deps.sh"
"$root/scripts/build.sh" release
bin="$root/build/release"
run_dir="$(mktemp -d /tmp/newspush-demo.XXXXXX)"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

source "$root/scripts/free_port.sh"
source "$root/scripts/demo_bridge.sh"

if [ -z "$redis_url" ]; then
  redis_port="$(free_port)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$run_dir" --daemonize no --loglevel warning &
  pids+=($!)
  redis_url="redis://127.0.0.1:$redis_port"
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "embedded redis-server on $redis_url"
fi

publish_key="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Subscriber-only categories: premium-* needs a connection token signed with this run's secret
# (HS256, 64 hex characters). Handed over in the environment, where `ps` does not show it.
token_secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# A trending half-life of minutes, not the default hours: in a demo that lasts a few minutes the
# first stories would otherwise keep the top of the lists for the whole session.
NEWSPUSH_TOKEN_SECRET="$token_secret" \
  "$bin/server/newspushd" --listen "$listen" --redis "$redis_url" --static-dir "$root/web/static" \
  --publish-key "$publish_key" --trending-half-life 2m --restricted-category 'premium-*' &
pids+=($!)
for _ in $(seq 100); do
  curl -fs "http://$listen/readyz" >/dev/null 2>&1 && break
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "demo.sh: newspushd exited" >&2; exit 1; }
  sleep 0.1
done

# The demo reader's token, as a site's backend would sign it after its paywall checks: every
# premium-* category, for 12 hours (the page cannot renew it: past that, reload with a new run).
demo_token="$(NEWSPUSH_TOKEN_SECRET="$token_secret" "$bin/cli/newspush" token \
  --category 'premium-*' --ttl 43200 --sub demo-reader)"

# Before the feed: the bridge's consumer group starts at the log's end.
start_bridge_demo

# It also plays the readers: views of its recent articles, POSTed with this run's key.
"$bin/cli/newspush" demo-feed --redis "$redis_url" --interval-ms 1500 \
  --views-url "http://$listen/api/v1/views" --key "$publish_key" &
pids+=($!)

cat <<TXT

newspush is running.
  Front page:  http://$listen/          (open it in a browser: articles arrive live)
  WebSocket:   ws://$listen/ws          health: http://$listen/healthz   metrics: http://$listen/metrics
The "enquêtes" category (premium-enquetes) is for subscribers: locked on the page above. The same
page as a subscriber, with a reader's token signed for this run (valid 12 hours; what follows the
'#' is not sent with the page's request: the page gives it to newspushd when it connects):
  http://$listen/#token=$demo_token
Watch in a terminal:
  $bin/cli/newspush watch --url ws://$listen/ws sports politique     # or no category for all
  NEWSPUSH_TOKEN=$demo_token \\
    $bin/cli/newspush watch --url ws://$listen/ws premium-enquetes   # as the subscriber
Publish your own (HTTP API, key of this demo run):
  curl -X POST -H 'Authorization: Bearer $publish_key' http://$listen/api/v1/articles \\
       -d '{"id":"a1","category":"sports","title":"But à la 90e !","breaking":true}'
Trending, from the reader views the demo feed sends (the page's Tendance box updates live):
  curl -s 'http://$listen/api/v1/trending?category=*'        # overall; or ?category=sports
Push notifications (newspush-bridge on $bridge_url, device API key of this run: $bridge_key):
  The page with "Recevoir les alertes" (Web Push through your browser's own push service, which
  needs the Internet; demo only: the bridge's key is in the address, a site keeps it on its server):
  http://$listen/#bridge=$bridge_url&key=$bridge_key&vapid=$vapid_public
TXT
if [ "$bridge_fakes" = yes ]; then
  cat <<TXT
  Fake FCM and APNs (tests/bridge/fakes/): each "notify fcm|apns ..." line below is a notification a
  phone would show. Registered: demo-android (FCM: sports, breaking news), demo-iphone (APNs:
  culture, breaking news). Register another phone (201 new, 200 replaced):
  curl -X PUT -H 'Authorization: Bearer $bridge_key' -H 'Content-Type: application/json' \\
       $bridge_url/api/v1/devices/my-phone \\
       -d '{"platform":"fcm","token":"my-phone-1","categories":["economie","sante"],"breaking":true}'
  (or "platform":"apns" with a hex token), then: curl -H 'Authorization: Bearer $bridge_key' \\
       $bridge_url/api/v1/devices/my-phone      # GET shows it, -X DELETE removes it
TXT
else
  cat <<TXT
  Fake FCM and APNs skipped: Node.js is not installed (scripts/node-deps.sh installs it); with it
  this demo also prints the notifications phones would show. The device API works without:
  curl -H 'Authorization: Bearer $bridge_key' $bridge_url/api/v1/devices/my-phone
TXT
fi
echo "Ctrl-C stops everything."
wait -n "${pids[@]}"
