#!/bin/sh
# systemd_unit_test.sh PROGRAM UNIT: the unit file as shipped passes `systemd-analyze verify`,
# every flag and environment variable it names (in its settings or its comments) is one that
# `PROGRAM --help` lists, and its hardening scores an exposure of at most 2.0 in
# `systemd-analyze security`. verify needs the ExecStart program to exist, so it runs on a copy
# whose ExecStart names the built PROGRAM; every other line is the file's own.
set -eu
program=$1
unit=$2
name=$(basename "$program")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
grep -q "^ExecStart=/usr/local/bin/$name\$" "$unit" || { echo "unexpected ExecStart in $unit" >&2; exit 1; }
sed "s|^ExecStart=/usr/local/bin/$name\$|ExecStart=$program|" "$unit" > "$dir/$name.service"
out=$(systemd-analyze verify "$dir/$name.service" 2>&1) || { echo "$out" >&2; exit 1; }
# verify reports some problems as warnings only: any output is a failure here.
[ -z "$out" ] || { echo "$out" >&2; exit 1; }
"$program" --help > "$dir/help"
# NEWSPUSH_* variables (NEWSPUSH_BRIDGE_* for the bridge) and --flags the unit names: a renamed
# option must not leave the shipped file (or its example settings) behind. The install commands'
# systemctl flags are not the program's.
grep -v systemctl "$unit" | grep -o 'NEWSPUSH_[A-Z0-9_]*\|--[a-z][a-z0-9-]*' | sort -u > "$dir/named"
while read -r option; do
  grep -q -- "$option\\b" "$dir/help" || { echo "$unit names $option, which $name --help does not list" >&2; exit 1; }
done < "$dir/named"
# The threshold is on systemd's 0-100 scale: 20 is an exposure of 2.0 ("OK").
if ! systemd-analyze security --offline=true --threshold=20 "$dir/$name.service" >"$dir/security" 2>&1; then
  cat "$dir/security" >&2
  exit 1
fi
grep 'Overall exposure' "$dir/security"
