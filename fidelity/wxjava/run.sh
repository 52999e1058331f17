#!/usr/bin/env bash
# Runs WxJavaFlow.java (WxJava's API v3 client) against a running paysandbox whose server
# certificate names api.mch.weixin.qq.com (alias-cert.sh). Nothing outside the JVM changes: a
# hosts file given by -Djdk.net.hosts.file maps the name to 127.0.0.1 and a trust store holds the
# sandbox CA. Needs a JDK 17+ and Maven (the class path comes from pom.xml).
#
# Usage: PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
#        PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 fidelity/wxjava/run.sh
set -euo pipefail
: "${PAYSANDBOX_DATA_DIR:?}" "${PAYSANDBOX_API_URL:?}" "${PAYSANDBOX_ADMIN_URL:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=${PAYSANDBOX_API_URL##*:}
port=${port%/}
echo "127.0.0.1 api.mch.weixin.qq.com" >"$work/hosts"
keytool -importcert -noprompt -alias paysandbox -file "$PAYSANDBOX_DATA_DIR/ca.pem" \
  -keystore "$work/trust.p12" -storetype PKCS12 -storepass paysandbox >/dev/null
mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null
javac -d "$work/classes" -cp "$(cat "$work/cp.txt")" "$here/WxJavaFlow.java"
WXJAVA_PAY_BASE_URL="https://api.mch.weixin.qq.com:$port" java \
  -Djdk.net.hosts.file="$work/hosts" \
  -Djavax.net.ssl.trustStore="$work/trust.p12" -Djavax.net.ssl.trustStorePassword=paysandbox \
  -cp "$work/classes:$(cat "$work/cp.txt")" WxJavaFlow
