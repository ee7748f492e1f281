#!/usr/bin/env bash
# The rate of `schedplus lint --all` over a store of N free/busy messages (default 100,000,
# one admin-group folder), against the rate of a plain PROPFIND Depth 1 of the same folder,
# in the same run, and the peak memory of the lint process and of the server (issue 16).
#
#   scripts/lint-bench.sh            # N=100000
#   N=2000 scripts/lint-bench.sh     # a quick check that it works
#   SCHEDPLUS_BIN=target/release/schedplus scripts/lint-bench.sh
#
# The store is filled over WebDAV (one PROPPATCH per message, as publishers write, 16 at a
# time so writes share their fdatasync), with `--auth none`. Not run by CI: it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/server.sh

N=${N:-100000}
schedplus_debug_bin
DATA=$WORK/data
mkdir -p "$DATA"
start_server "$DATA" 60 --data "$DATA" serve --listen 127.0.0.1:0 --auth none
FOLDER="/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Bench_xF8FF_ou=AG/"

echo "filling $N messages over PROPPATCH..."
t0=$(date +%s.%N)
python3 - "$ADDR" "$FOLDER" "$N" <<'PY'
import base64, http.client, struct, sys, threading
addr, folder, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = addr.rsplit(":", 1)
# Feb-Mar 2008, one busy hour per user; as schedplus (Outlook's shape) writes it.
start, end, month = 214_104_960, 214_191_360, 2008 * 16 + 2  # 2008-02-01, 2008-04-01
def body(i):
    s = 60 * (i % 600)
    blob = base64.b64encode(struct.pack("<HH", s, s + 60)).decode()
    subject = f"USER-/CN=RECIPIENTS/CN=USER{i:06d}"
    dn = f"/o=Bench/ou=AG/cn=Recipients/cn=user{i:06d}"
    mv = lambda tag, t, v: f'<d:{tag} b:dt="{t}"><c:v>{v}</c:v></d:{tag}>'
    return f'''<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:" xmlns:b="urn:uuid:c2f41010-65b3-11d1-a29f-00aa00c14882/" xmlns:c="xml:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/"><a:set><a:prop>
<d:x68410003 b:dt="int">0</d:x68410003><d:x6846000b b:dt="boolean">1</d:x6846000b>
<d:x68470003 b:dt="int">{start}</d:x68470003><d:x68480003 b:dt="int">{end}</d:x68480003>
<d:x6849001f>{dn}</d:x6849001f><d:x0e1d001f>{subject}</d:x0e1d001f><d:x0037001f>{subject}</d:x0037001f>
{mv("x684f1003", "mv.int", month)}{mv("x68501102", "mv.bin.base64", blob)}
{mv("x68531003", "mv.int", month)}{mv("x68541102", "mv.bin.base64", blob)}
<d:x68680040 b:dt="dateTime.tz">2008-02-01T00:00:00.000Z</d:x68680040>
</a:prop></a:set></a:propertyupdate>'''.encode()
def work(k, step):
    c = http.client.HTTPConnection(host, int(port))
    for i in range(k, n, step):
        leaf = f"USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=USER{i:06d}.EML"
        c.request("PROPPATCH", folder + leaf, body(i), {"Content-Type": "text/xml", "Brief": "t"})
        r = c.getresponse(); r.read()
        if r.status not in (200, 207):
            sys.exit(f"PROPPATCH {leaf}: {r.status}")
threads = [threading.Thread(target=work, args=(k, 16)) for k in range(16)]
for t in threads: t.start()
for t in threads: t.join()
PY
t1=$(date +%s.%N)
echo "filled in $(echo "$t1 - $t0" | bc) s"

rate() { echo "scale=0; $N / ($2 - $1)" | bc; }

# PROPFIND Depth 1 of the folder, with the properties lint asks for.
PROPS='<?xml version="1.0"?><a:propfind xmlns:a="DAV:" xmlns:m="http://schemas.microsoft.com/mapi/proptag/"><a:prop><a:displayname/><a:iscollection/><a:getlastmodified/><m:x68470003/><m:x68480003/><m:x6849001f/><m:x68680040/><m:x0e1d001f/><m:x0037001f/><m:x684f1003/><m:x68501102/><m:x68511003/><m:x68521102/><m:x68531003/><m:x68541102/><m:x68551003/><m:x68561102/></a:prop></a:propfind>'
t0=$(date +%s.%N)
curl -sf -X PROPFIND -H 'Depth: 1' -H 'Content-Type: text/xml' --data "$PROPS" "http://$ADDR$FOLDER" -o "$WORK/propfind.xml"
t1=$(date +%s.%N)
responses=$(grep -o '<a:response>' "$WORK/propfind.xml" | wc -l)
echo "PROPFIND Depth 1: $responses responses, $(stat -c %s "$WORK/propfind.xml") bytes in $(echo "$t1 - $t0" | bc) s: $(rate "$t0" "$t1") messages/s"

t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$WORK/lint.rss" "$BIN" --data "$DATA" lint --all --fail-on error >"$WORK/lint.txt" 2>"$WORK/lint.err" || true
t1=$(date +%s.%N)
echo "lint --all (local store via the server's admin API): $(tail -1 "$WORK/lint.err") in $(echo "$t1 - $t0" | bc) s: $(rate "$t0" "$t1") messages/s, lint peak RSS $(cat "$WORK/lint.rss") KiB"

t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$WORK/remote.rss" "$BIN" --data "$DATA" lint --remote "http://$ADDR/public" --fail-on error >"$WORK/remote.txt" 2>"$WORK/remote.err" || true
t1=$(date +%s.%N)
echo "lint --remote (PROPFIND Depth 1 + lint): $(tail -1 "$WORK/remote.err") in $(echo "$t1 - $t0" | bc) s: $(rate "$t0" "$t1") messages/s, lint peak RSS $(cat "$WORK/remote.rss") KiB"
echo "findings by rule (local):"
cut -d' ' -f1 "$WORK/lint.txt" | sort | uniq -c
echo "server VmHWM: $(sed -n 's/^VmHWM: *//p' "/proc/$PID/status")"
