#!/usr/bin/env bash
# Installs what newspush needs to build, test and run on Debian 12 (bookworm), as root.
# Idempotent and quiet when everything is already there.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libhiredis-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev libgtest-dev libgmock-dev
  # JWT signatures for connection tokens (server/auth); 1.10 checks neither exp nor nbf.
  libjwt-dev
  redis-server redis-tools curl
  # The openssl command makes the test CA and certificates of tests/integration/tls_test.cpp
  # and loadtest/tls/tls_cost.sh.
  openssl
  # A real HAProxy in front of newspushd in the PROXY protocol test (deploy/haproxy.cfg's peer),
  # and systemd-analyze to check deploy/newspushd.service (tests/deploy).
  haproxy systemd
  # tests/deploy: Debian's nginx runs deploy/nginx.conf (openssl makes its test certificate),
  # and Debian's python3 drives the readers (python3-websockets, also the third-party client of
  # the WebSocket codec's conformance test) and reads the compose and Kubernetes files
  # (python3-yaml). In a chroot or container the packages start no daemon.
  nginx openssl python3-websockets python3-yaml
  # jq: loadtest/bridge/bench.sh (and its smoke test) reads the fakes' JSON counters.
  jq
)
# Extra groups, asked for by the scripts that need them.
for group in "$@"; do
  case "$group" in
    browser)
      packages+=(chromium)
      # A NodeSource nodejs bundles npm and conflicts with Debian's npm package: ask only for
      # what is really missing.
      command -v node >/dev/null || packages+=(nodejs)
      command -v npm >/dev/null || packages+=(npm)
      ;;
    bench)
      # Peers for loadtest/run.sh --scenario nchan|compare (Debian's nginx, always installed, +
      # Nchan), and perf for profiles where the archive has it.
      packages+=(libnginx-mod-nchan)
      if apt-cache show linux-perf >/dev/null 2>&1; then packages+=(linux-perf); fi
      ;;
    fuzz)
      # libFuzzer and the sanitizer runtimes (scripts/fuzz.sh); llvm-14 for llvm-symbolizer, so
      # that a crash's stack names functions and lines.
      packages+=(clang-14 libclang-rt-14-dev llvm-14)
      ;;
    *) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The redis-server package starts a system-wide daemon on 6379; newspush never needs it.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
# Likewise the haproxy and nginx packages start daemons (under systemd; not in a chroot or a
# container); the tests and run.sh run their own.
for daemon in haproxy nginx; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$daemon" 2>/dev/null; then
    systemctl disable --now "$daemon" >/dev/null 2>&1 || true
  fi
done
