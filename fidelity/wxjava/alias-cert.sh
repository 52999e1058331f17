#!/usr/bin/env bash
# Gives a paysandbox data directory a server certificate that also names api.mch.weixin.qq.com,
# so clients that only talk to that host (WxJava, wechatpay-apache-httpclient) can be sent to the
# sandbox by a hosts entry alone. Run it before `paysandbox serve --data-dir DIR`: serve keeps a
# server certificate that its CA signed and that still names localhost, 127.0.0.1 and ::1.
#
# Usage: fidelity/wxjava/alias-cert.sh DIR   (DIR is made with `paysandbox certs --out DIR`
#        or by a first `serve`; more names may follow DIR)
set -euo pipefail
dir=$1
shift
[ -f "$dir/ca.pem" ] && [ -f "$dir/ca.key.pem" ] || { echo "no ca.pem/ca.key.pem in $dir" >&2; exit 1; }
names="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:api.mch.weixin.qq.com,DNS:api2.mch.weixin.qq.com"
for extra in "$@"; do names="$names,DNS:$extra"; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem" 2>/dev/null
openssl req -new -key "$work/key.pem" -subj "/CN=localhost" -out "$work/req.csr"
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$names" >"$work/ext"
openssl x509 -req -in "$work/req.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key.pem" \
  -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 -extfile "$work/ext" -out "$work/cert.pem" 2>/dev/null
install -m 600 "$work/key.pem" "$dir/server.key.pem"
install -m 644 "$work/cert.pem" "$dir/server.pem"
echo "server.pem now names: $names"
