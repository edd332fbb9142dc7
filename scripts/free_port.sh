# Sourced by the scripts that start local servers: prints a loopback TCP port nobody listens on.
free_port() {
  for port in $(shuf -i 20000-32000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "$(basename "$0"): no free port found" >&2
  exit 1
}
