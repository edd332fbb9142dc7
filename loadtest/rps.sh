# Receive packet steering on loopback, for run.sh --rps (sourced, not run).
#
# On loopback the receiver's TCP work runs in the sender's softirq and is charged to the server;
# on a real network the NIC puts it on the reading machine. Steering loopback's receive queue to
# the load generator's CPUs makes the server pay what it would pay there. The setting is
# machine-wide, so it is always put back: rps_restore runs from run.sh's exit trap (normal end,
# failure, Ctrl-C, SIGTERM; nothing can catch SIGKILL).
#
# NEWSPUSH_RPS_CPUS_FILE overrides the file (tests point it at a scratch file).
rps_file="${NEWSPUSH_RPS_CPUS_FILE:-/sys/class/net/lo/queues/rx-0/rps_cpus}"
rps_saved=""  # the value to put back; empty while nothing was changed

# Prints the hex CPU mask of a taskset CPU list such as 1, 0,1 or 0-3.
rps_mask() {
  local list="$1" mask=0 part first last cpu parts
  IFS=, read -r -a parts <<<"$list"
  [ ${#parts[@]} -gt 0 ] || { echo "run.sh: --rps: empty CPU list" >&2; return 2; }
  for part in "${parts[@]}"; do
    if [[ "$part" =~ ^([0-9]+)-([0-9]+)$ ]]; then
      first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]}
    elif [[ "$part" =~ ^[0-9]+$ ]]; then
      first=$part last=$part
    else
      echo "run.sh: --rps: bad CPU list '$list'" >&2; return 2
    fi
    # One 32-bit group: loopback runs here on small machines (the kernel takes a short mask).
    if [ "$last" -ge 32 ] || [ "$first" -gt "$last" ]; then
      echo "run.sh: --rps: CPU list '$list' not supported (CPUs 0-31 only)" >&2; return 2
    fi
    for ((cpu = first; cpu <= last; cpu++)); do mask=$((mask | (1 << cpu))); done
  done
  printf '%x\n' "$mask"
}

# Before anything starts: can this run change the setting at all?
rps_check() {
  if [ ! -e "$rps_file" ]; then
    echo "run.sh: --rps: $rps_file does not exist (a kernel without RPS?)" >&2; return 1
  fi
  if [ ! -r "$rps_file" ] || [ ! -w "$rps_file" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "run.sh: --rps writes $rps_file, which takes root: run run.sh as root" >&2
    else
      echo "run.sh: --rps: $rps_file is not writable" >&2
    fi
    return 1
  fi
}

# rps_steer MASK: remembers the current value, then writes MASK.
rps_steer() {
  local previous
  previous="$(cat "$rps_file")" || { echo "run.sh: --rps: cannot read $rps_file" >&2; return 1; }
  rps_saved="$previous"  # before the write: an interrupt in between restores a value unchanged
  if ! { printf '%s\n' "$1" >"$rps_file"; } 2>/dev/null; then
    rps_saved=""
    echo "run.sh: --rps: cannot write $rps_file (root? a read-only /sys?)" >&2; return 1
  fi
  echo "run.sh: --rps: loopback receive work steered by $rps_file: $previous -> $1" >&2
}

# Puts the remembered value back; does nothing if nothing was changed. Safe to call twice.
rps_restore() {
  [ -n "$rps_saved" ] || return 0
  local value="$rps_saved"
  rps_saved=""
  if { printf '%s\n' "$value" >"$rps_file"; } 2>/dev/null; then
    echo "run.sh: --rps: $rps_file restored to $value" >&2
  else
    echo "run.sh: --rps: could not restore $rps_file to $value: do it by hand" >&2
    return 1
  fi
}
