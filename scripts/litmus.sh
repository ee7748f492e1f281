#!/usr/bin/env bash
# WebDAV conformance: the litmus suites basic, copymove and props against a fresh schedplus.
#
# Installs nothing: expects `litmus` on PATH (.ci/run installs it with apt-get). Builds the
# debug binary if it is missing or older than the sources (after `cargo test` it is current;
# conformance needs no optimiser) (SCHEDPLUS_BIN overrides),
# starts it on a free loopback port (127.0.0.1:0; the port is read back from server.json)
# with a temporary data directory holding one directory user, `litmus`, with a password
# (the default --auth basic: litmus signs in, so every item it makes is its own under the
# owner rule), creates the ordinary folder /public/litmus/ (MKCOL; litmus
# makes its own `litmus/` collection inside the URL it is given), runs the suites there,
# prints one line
# `N passed, N failed` summed over the suites, stops the server, and exits non-zero when any
# test failed or a suite did not report.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITES="basic copymove props"
command -v litmus >/dev/null || {
    echo "litmus is not installed; install it (apt-get install litmus) and run again" >&2
    exit 2
}
. scripts/lib/server.sh
schedplus_debug_bin

printf 'DN,objectClass,displayName,mail,mailNickname,legacyExchangeDN\n"CN=Litmus,DC=lab",user,Litmus,litmus@lab.example,litmus,/o=Lab/ou=WebDAV/cn=Recipients/cn=litmus\n' \
    >"$WORK/litmus.csv"
"$BIN" --data "$WORK/data" directory import "$WORK/litmus.csv" >/dev/null
echo 'litmus-pw' | "$BIN" --data "$WORK/data" directory passwd litmus --stdin >/dev/null
start_server "$WORK/data" 10 --data "$WORK/data" serve --listen 127.0.0.1:0
URL="http://$ADDR/public/litmus/"
# MKCOL over bash's /dev/tcp, so the script needs no HTTP client of its own.
exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR##*:}"
printf 'MKCOL /public/litmus/ HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' \
    "$ADDR" "$(printf 'litmus:litmus-pw' | base64)" >&3
read -r status_line <&3 || true
exec 3<&-
case "$status_line" in
    *" 201 "*) ;;
    *) echo "MKCOL /public/litmus/ answered: $status_line" >&2; exit 1 ;;
esac
echo "litmus $SUITES against $URL"

# -k: run every suite even when one fails, so the summary covers all of them. litmus
# writes debug.log and child.log into its working directory: keep them out of the tree.
(cd "$WORK" && TESTS="$SUITES" litmus -k "$URL" litmus litmus-pw) | tee "$WORK/litmus.out" || true

# Each suite ends with: <- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%
summaries=$(grep -c 'summary for' "$WORK/litmus.out" || true)
passed=$(sed -n 's/.*tests run: \([0-9]*\) passed.*/\1/p' "$WORK/litmus.out" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p' "$WORK/litmus.out" | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
expected=$(echo "$SUITES" | wc -w)
if [ "$summaries" -ne "$expected" ]; then
    echo "only $summaries of $expected suites reported a summary" >&2
    exit 1
fi
[ "$failed" -eq 0 ]
