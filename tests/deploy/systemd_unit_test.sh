#!/bin/sh
# systemd_unit_test.sh NEWSPUSHD UNIT: the unit file as shipped passes `systemd-analyze verify`
# and its hardening scores an exposure of at most 2.0 in `systemd-analyze security`. verify
# needs the ExecStart program to exist, so it runs on a copy whose ExecStart names the built
# newspushd; every other line is the file's own.
set -eu
newspushd=$1
unit=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
grep -q '^ExecStart=/usr/local/bin/newspushd$' "$unit" || { echo "unexpected ExecStart in $unit" >&2; exit 1; }
sed "s|^ExecStart=/usr/local/bin/newspushd\$|ExecStart=$newspushd|" "$unit" > "$dir/newspushd.service"
out=$(systemd-analyze verify "$dir/newspushd.service" 2>&1) || { echo "$out" >&2; exit 1; }
# verify reports some problems as warnings only: any output is a failure here.
[ -z "$out" ] || { echo "$out" >&2; exit 1; }
# The threshold is on systemd's 0-100 scale: 20 is an exposure of 2.0 ("OK").
if ! systemd-analyze security --offline=true --threshold=20 "$dir/newspushd.service" >"$dir/security" 2>&1; then
  cat "$dir/security" >&2
  exit 1
fi
grep 'Overall exposure' "$dir/security"
