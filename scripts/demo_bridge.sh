# shellcheck shell=bash disable=SC2154,SC2034  # sourced by demo.sh, whose variables it uses and sets
# Sourced by demo.sh (after newspushd is up, before the demo feed): newspush-bridge on a free
# loopback port with a fresh VAPID key (Web Push to the browsers' real push services, for the
# page's "Recevoir les alertes"), and, where Node.js is installed, the fake FCM and the fake APNs
# of tests/bridge/fakes/, each printing "notify fcm|apns token=... title=... body=..." for what a
# phone would show, with one demo phone registered on each. There is no runnable fake Web Push
# service (the tests' one lives inside their C++ process): browsers use their own.
# Uses demo.sh's $root, $bin, $run_dir, $redis_url, $listen, pids and free_port; sets bridge_url,
# bridge_key, vapid_public, bridge_fakes (yes/no).
start_bridge_demo() {
  local d="$run_dir/bridge" fakes="$root/tests/bridge/fakes" args=() port
  mkdir -p "$d"
  bridge_key="demo-bridge-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/vapid.pem" 2>/dev/null
  # The uncompressed point, base64url: what PushManager.subscribe takes as applicationServerKey.
  vapid_public="$(openssl pkey -in "$d/vapid.pem" -pubout -outform DER | tail -c 65 | base64 -w0 |
    tr '+/' '-_' | tr -d '=')"
  args+=(--vapid-key "$d/vapid.pem" --vapid-subject mailto:demo@localhost)

  bridge_fakes=no
  if command -v node >/dev/null; then
    bridge_fakes=yes
    # FCM: a service account whose token_uri is the fake's, signed with a fresh RSA key.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/fcm.pem" 2>/dev/null
    openssl pkey -in "$d/fcm.pem" -pubout -out "$d/fcm.pub"
    port="$(free_port)"
    node "$fakes/fake_fcm.cjs" --public-key "$d/fcm.pub" --client-email demo@newspush-demo.iam.gserviceaccount.com \
      --project-id newspush-demo --port "$port" > >(tee "$d/fcm.out") &
    pids+=($!)
    node -e 'const fs = require("fs"); const [key, uri, out] = process.argv.slice(1);
      fs.writeFileSync(out, JSON.stringify({ type: "service_account", project_id: "newspush-demo",
        private_key_id: "demo", private_key: fs.readFileSync(key, "utf8"),
        client_email: "demo@newspush-demo.iam.gserviceaccount.com", token_uri: uri }));' \
      "$d/fcm.pem" "http://127.0.0.1:$port/token" "$d/fcm.json"
    args+=(--fcm-credentials "$d/fcm.json" --fcm-endpoint "http://127.0.0.1:$port")
    # APNs: HTTP/2 over TLS with a certificate from a CA made here (--provider-ca), an ES256 key.
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$d/ca.key" -subj /CN=newspush-demo-ca -days 2 \
      -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign -out "$d/ca.pem" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/apns-tls.key" 2>/dev/null
    openssl req -new -key "$d/apns-tls.key" -subj /CN=localhost -out "$d/apns-tls.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$d/leaf.ext"
    openssl x509 -req -in "$d/apns-tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial 0x0D01 -days 2 \
      -extfile "$d/leaf.ext" -out "$d/apns-tls.crt" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/apns.p8" 2>/dev/null
    openssl pkey -in "$d/apns.p8" -pubout -out "$d/apns.pub"
    node "$fakes/fake_apns.cjs" --cert "$d/apns-tls.crt" --key "$d/apns-tls.key" --public-key "$d/apns.pub" \
      --key-id DEMOKEY123 --team-id DEMOTEAM12 --topic org.newspush.demo > >(tee "$d/apns.out") &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^listening' "$d/apns.out" 2>/dev/null && break; sleep 0.1; done
    port="$(sed -n 's/^listening h2=\([0-9]*\).*/\1/p' "$d/apns.out")"
    [ -n "$port" ] || { echo "demo.sh: the fake APNs did not start" >&2; exit 1; }
    args+=(--apns-key "$d/apns.p8" --apns-key-id DEMOKEY123 --apns-team-id DEMOTEAM12
           --apns-topic org.newspush.demo --apns-endpoint "https://127.0.0.1:$port" --provider-ca "$d/ca.pem")
  fi

  port="$(free_port)"
  bridge_url="http://127.0.0.1:$port"
  # Warnings only: the fakes' lines are what this terminal shows of the bridge's work.
  NEWSPUSH_BRIDGE_API_KEYS="$bridge_key" "$bin/bridge/daemon/newspush-bridge" --redis "$redis_url" \
    --listen "127.0.0.1:$port" --cors-origin "http://$listen" --log-level warn "${args[@]}" &
  pids+=($!)
  # Ready: Redis answers and the consumer group exists (created at the log's end, so articles
  # published from now on notify).
  for _ in $(seq 100); do
    curl -fs "$bridge_url/readyz" >/dev/null 2>&1 && break
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "demo.sh: newspush-bridge exited" >&2; exit 1; }
    sleep 0.1
  done
  if [ "$bridge_fakes" = yes ]; then
    demo_device demo-android '{"platform":"fcm","token":"demo-android-1","categories":["sports"],"breaking":true}'
    demo_device demo-iphone '{"platform":"apns","token":"a1b2c3d4e5f6","categories":["culture"],"breaking":true}'
  fi
}

demo_device() {
  curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $bridge_key" -H 'Content-Type: application/json' \
    "$bridge_url/api/v1/devices/$1" -d "$2"
}
