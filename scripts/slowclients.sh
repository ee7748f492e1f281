#!/usr/bin/env bash
# Slow clients against a real `schedplus serve` (issue 11, items 1 and 2): a measurement,
# not a test.
#
#   scripts/slowclients.sh [BINARY]        default: target/release/schedplus (cargo keeps it
#                                          current); the server runs as scripts/lib/server.sh
#                                          starts it
#
# 1. Silent readers: N clients send the largest ?Cmd=freebusy query (990 users x 20,000
#    slots, 20 MB) and never read. Prints the server's RSS before, with them connected, and
#    whether a reading client is still answered meanwhile (and how long it took).
# 2. Silent listings: S clients send PROPFIND Depth: 1 of a 17 MB folder and never read;
#    then a query and a PROPFIND Depth: 0 must still be answered (the store threads are
#    free).
# 3. Slowloris: T connections (half from 127.0.0.2, half from as many 127.0.x.y addresses)
#    send a request head at one byte per second; meanwhile P probes from 127.0.0.1 ask for
#    /healthz and a small query. Prints how many probes got a 200, a 503, or nothing.
#
# Environment: SILENT (default 500), LISTINGS (40), TRICKLERS (600), PROBES (60),
# HOLD (seconds the silent readers stay, default 20).
# Needs python3. Uses 127.0.0.0/8 source addresses (Linux loopback accepts them all) and
# raises the open-file limit to what it needs.
set -euo pipefail
[ -z "${1:-}" ] || SCHEDPLUS_BIN=$(realpath "$1")
cd "$(dirname "$0")/.."

. scripts/lib/server.sh
schedplus_release_bin
SILENT="${SILENT:-500}"
LISTINGS="${LISTINGS:-40}"
TRICKLERS="${TRICKLERS:-600}"
PROBES="${PROBES:-60}"
HOLD="${HOLD:-20}"
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

start_server "$WORK/data" 10 --data "$WORK/data" serve --listen 127.0.0.1:0 --auth none
pid=$PID addr=$ADDR
echo "binary:  $BIN"
echo "server:  $addr (pid $pid)"

python3 - "$addr" "$pid" "$SILENT" "$LISTINGS" "$TRICKLERS" "$PROBES" "$HOLD" <<'EOF'
import socket, sys, threading, time

host, port = sys.argv[1].rsplit(":", 1)
port = int(port)
pid = int(sys.argv[2])
silent_n, listings_n, tricklers_n, probes_n, hold = map(int, sys.argv[3:8])

def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")

def connect(src="127.0.0.1", rcvbuf=4096, timeout=30):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s

def request(raw, timeout=60, src="127.0.0.1"):
    """(status or None, seconds, bytes)"""
    t = time.time()
    try:
        s = connect(src, rcvbuf=1 << 20, timeout=timeout)
        s.sendall(raw)
        data = b""
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            data += b
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None
        return status, time.time() - t, len(data)
    except Exception:
        return None, time.time() - t, 0

q = "/public/?Cmd=freebusy&start=2026-01-01T00:00:00Z&end=2026-03-11T10:40:00Z&interval=5"
q += "".join(f"&u={i}@x" for i in range(990))
big = f"GET {q} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
small_q = b"GET /public/?Cmd=freebusy&start=2026-01-05T00:00:00Z&end=2026-01-06T00:00:00Z&u=a@b.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
health = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

# 1. Silent readers of the largest query.
print(f"\n== {silent_n} clients of the largest freebusy query (20 MB) that never read ==")
before = rss_mb()
silent = []
for i in range(silent_n):
    try:
        s = connect()
        s.sendall(big)
        silent.append(s)
    except Exception as e:
        print(f"  connection {i}: {e}")
        break
peak = before
end = time.time() + hold
status, secs, n = None, 0, 0
probe_done = threading.Event()
def probe():
    global status, secs, n
    time.sleep(min(5, hold / 2))
    status, secs, n = request(big.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), timeout=hold + 120)
    probe_done.set()
threading.Thread(target=probe, daemon=True).start()
while time.time() < end:
    peak = max(peak, rss_mb())
    time.sleep(0.5)
print(f"  RSS before {before:.0f} MB, peak while they were connected {peak:.0f} MB ({len(silent)} connected)")
probe_done.wait(timeout=180)
print(f"  a reading client meanwhile: status {status}, {n} bytes in {secs:.1f} s")
for s in silent:
    s.close()
time.sleep(2)

# 2. Silent listings: a folder whose Depth 1 listing is ~17 MB.
print(f"\n== {listings_n} clients of a 17 MB PROPFIND Depth: 1 that never read ==")
pad = "x" * (700 * 1024)
patch = (f'<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:"><a:set><a:prop>'
         f'<z:pad xmlns:z="urn:lab:">{pad}</z:pad></a:prop></a:set></a:propertyupdate>').encode()
request(b"MKCOL /public/big/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
for i in range(24):
    request(f"PUT /public/big/i{i}.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx".encode())
    request(f"PROPPATCH /public/big/i{i}.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(patch)}\r\n\r\n".encode() + patch)
listings = []
for i in range(listings_n):
    s = connect()
    s.sendall(b"PROPFIND /public/big/ HTTP/1.1\r\nHost: x\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n")
    listings.append(s)
time.sleep(3)
st1, t1, _ = request(small_q, timeout=30)
st2, t2, _ = request(b"PROPFIND /public/big/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", timeout=30)
print(f"  meanwhile: small query -> {st1} in {t1:.2f} s; PROPFIND Depth 0 -> {st2} in {t2:.2f} s (None: no answer within 30 s)")
for s in listings:
    s.close()
time.sleep(2)

# 3. Slowloris.
print(f"\n== slowloris: {tricklers_n} connections sending their head at 1 byte/s; {probes_n} probes ==")
head = b"GET /public/ HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
tricklers = []
for i in range(tricklers_n):
    src = "127.0.0.2" if i % 2 == 0 else f"127.0.{1 + (i // 2) // 250}.{1 + (i // 2) % 250}"
    try:
        s = connect(src, timeout=2)
        s.setblocking(False)
        tricklers.append([s, 0, src])
    except Exception:
        pass
stop = threading.Event()
def trickle():
    while not stop.is_set():
        for t in tricklers:
            if t[0] is None:
                continue
            try:
                t[0].send(head[t[1]:t[1] + 1])
                t[1] += 1
            except BlockingIOError:
                pass
            except Exception:
                # Closed by the server: a real slowloris reconnects at once.
                try:
                    t[0].close()
                    s = connect(t[2], timeout=2)
                    s.setblocking(False)
                    t[0], t[1] = s, 0
                except Exception:
                    t[0] = None
        time.sleep(1)
th = threading.Thread(target=trickle, daemon=True)
th.start()
time.sleep(3)
results = {"200": 0, "503": 0, "other": 0, "none": 0}
for i in range(probes_n):
    st, _, _ = request(health if i % 2 == 0 else small_q, timeout=10)
    key = "none" if st is None else ("200" if st == 200 else ("503" if st == 503 else "other"))
    results[key] += 1
    time.sleep(0.25)
stop.set()
print(f"  probes answered 200: {results['200']}/{probes_n}; 503: {results['503']}; other status: {results['other']}; no answer/reset: {results['none']}")
print(f"  RSS after: {rss_mb():.0f} MB")
EOF
