#!/bin/sh
# nginx_debian_main_test.sh REPO: deploy/nginx.conf installed as its header says (conf.d/ of
# Debian's nginx as shipped, beside Debian's own main nginx.conf) passes `nginx -t`. Run in a copy
# of /etc/nginx whose absolute paths point into the copy; the certificate's paths, the only other
# change, name a certificate made here.
set -eu
repo=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp -r /etc/nginx/. "$dir/"
rm -f "$dir/sites-enabled/"*
sed -i -e "s|/etc/nginx/|$dir/|g" -e "s|/var/log/nginx/|$dir/|g" -e "s|^pid .*|pid $dir/nginx.pid;|" \
    "$dir/nginx.conf"
grep -q "include $dir/conf.d/\*.conf;" "$dir/nginx.conf" ||
  { echo "Debian's nginx.conf no longer includes conf.d/*.conf" >&2; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
sed -e "s|/etc/ssl/newspush/fullchain.pem;|$dir/cert.pem;|" -e "s|/etc/ssl/newspush/privkey.pem;|$dir/key.pem;|" \
    "$repo/deploy/nginx.conf" > "$dir/conf.d/newspush.conf"
out=$(nginx -t -q -c "$dir/nginx.conf" -e stderr 2>&1) || { echo "$out" >&2; exit 1; }
# A warning (a duplicate value, an ignored directive) is a failure too; [info] lines are not.
if echo "$out" | grep -E '\[(warn|emerg|alert|crit|error)\]' >&2; then exit 1; fi
echo "deploy/nginx.conf passes nginx -t inside Debian's main nginx.conf"
