#!/usr/bin/env bash
# Performance with its baselines measured in the same run (issue 13), printed as one
# markdown table of ratios, so that a change can be compared with the one before it.
#
#   scripts/bench.sh            N = 200,000 users, wrk 8 s a row: about 3 minutes
#   scripts/bench.sh --quick    N = 20,000, wrk 3 s a row, fewer rounds: about 1 minute
#   (after the build: the first one builds every dependency with the benches' features)
#   scripts/bench.sh --full     N = 1,000,000 (a store of ~11 GB; see the warning below)
#   options also: --users N, --seconds S (wrk per row), --out FILE (the table, also printed)
#
# Rows, each with its baseline from the same run (the machines are shared, so only ratios
# compare between runs; CPU per request, summed over the server's threads from
# /proc/PID/stat, is the steadiest figure):
# - `?Cmd=freebusy`, one user, 14 days @ 15 min: wrk against schedplus, against nginx
#   serving the same answer bytes from a file, and against the same server's /healthz
#   (that pair in 3 alternating rounds, the median round reported);
# - 100 users, 42 days @ 30 min (the batch): schedplus vs nginx, same bytes;
# - both queries again on a server started with `--fb-cache-bytes 0` (every row read and
#   painted, as the first query after a write is), whose answers must be the same bytes;
# - `directory import` of N users (seconds, peak RSS from /usr/bin/time -v) vs N/10 users;
# - start-up (until server.json is written, 0.1 s resolution) and RSS after start on the
#   N-user, N-message store vs a 200-user, 200-message store;
# - PROPFIND Depth 1 of an admin group of min(N, 100,000) messages (seconds, server's
#   VmHWM) vs Depth 0 of the same folder and the RSS before it;
# - publishing from ~200-event calendars (benches/publish.rs): first publish vs
#   republish of unchanged calendars vs the Python reference (scripts/reference_publish.py:
#   icalendar + recurring-ical-events), whose intervals are compared with schedplus's own
#   expansion of the same files for equality (a difference fails the run);
# - change → visible latency, p50/p99, with the poller at 1 s vs the same change published
#   at once through the admin API, and with `--publish on-change` against the same baseline.
# The fixtures (directory file, messages) come from benches/fill.rs.
#
# --full imports a million users: the import streams (peak RSS about 410 MB, issue 13), but
# the fixtures then publish a million messages (about 7 minutes), a store of 11 GB on disk.
#
# Installs wrk, nginx and curl with apt-get when missing (as root; otherwise says what to
# install), and the oracle's Python packages into .venv. Servers listen on 127.0.0.1 only
# and everything runs in a temporary folder removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

N=200000
SECS=8
ROUNDS=20
PAIR_ROUNDS=3
PUBLISH_USERS=200
OUT=
ARGS="$*"
while [ $# -gt 0 ]; do
    case $1 in
        --quick) N=20000 SECS=3 ROUNDS=8 PUBLISH_USERS=50 ;;
        --full) N=1000000 ;;
        --users) N=$2; shift ;;
        --seconds) SECS=$2; shift ;;
        --out) OUT=$2; shift ;;
        *) sed -n '2,8p' "$0" >&2; exit 2 ;;
    esac
    shift
done
FOLDER=$((N < 100000 ? N : 100000))
CONNS=32

need() {
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench: installing $2" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
        echo "bench: $1 is not installed; install it (apt-get install $2) and run again" >&2
        exit 2
    fi
}
PATH=$PATH:/usr/sbin
need wrk wrk
need nginx nginx
need curl curl
[ -x /usr/bin/time ] || need /usr/bin/time time

. scripts/lib/venv.sh
oracle_venv
. scripts/lib/server.sh
# One build for the server and the two bench programs, run directly: `cargo bench` (the
# bench profile) and a plain `cargo build --release` (no dev-dependencies, so other
# features) would each build every dependency again.
cargo build --release --bin schedplus --bench fill --bench publish \
    --message-format=json-render-diagnostics >"$WORK/build.json"
exe() {
    "$PYTHON" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1" <"$WORK/build.json"
}
FILL_EXE=$(exe fill) PUBLISH_EXE=$(exe publish)
BIN=${SCHEDPLUS_BIN:-target/release/schedplus}

log() { echo "bench: $*" >&2; }
# fill USERS KEY=VALUE…: the fixtures bench with FILL_USERS=USERS and the folder size.
fill() {
    local users=$1
    shift
    env FILL_USERS="$users" FILL_FOLDER="$((users < FOLDER ? users : FOLDER))" "$@" \
        "$FILL_EXE" >&2
}
# timed FILE CMD…: CMD under /usr/bin/time -v, its report in FILE.
timed() {
    local file=$1
    shift
    /usr/bin/time -v -o "$file" "$@" >/dev/null
}
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"; }
maxrss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$1"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# CPU ticks (user + system, all threads) of the pids given.
ticks() {
    local p sum=0
    for p in "$@"; do
        sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$sum"
}
HZ=$(getconf CLK_TCK)
fmt() { awk -v x="$1" -v d="${2:-1}" 'BEGIN {printf "%.*f", d, x}'; }
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {if (b == 0) print "n/a"; else printf "%.*f", d, a / b}'; }
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wrk_row URL PID…: wrk for SECS seconds after a 1 s warm-up; sets RPS and CPU_US (CPU µs
# per request summed over the given pids).
wrk_row() {
    local url=$1
    shift
    wrk -t2 -c"$CONNS" -d1s --timeout 10s "$url" >/dev/null
    local before after
    before=$(ticks "$@")
    wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s "$url" >"$WORK/wrk.out"
    after=$(ticks "$@")
    local n errors
    n=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
    errors=$(awk '/Non-2xx|Socket errors/' "$WORK/wrk.out")
    [ -z "$errors" ] || { log "wrk $url: $errors"; exit 1; }
    RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.out")
    CPU_US=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$n" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
}

START_DATE=$(date -u +%Y-%m-%dT%H:%MZ) START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "N=$N users, PROPFIND folder $FOLDER messages, wrk ${SECS}s x $CONNS connections; load average: $START_LOAD"

# --- Directory import: N users against N/10 -------------------------------------------
SMALL=$((N / 10))
fill "$SMALL" FILL_CSV="$WORK/small.csv"
fill "$N" FILL_CSV="$WORK/users.csv"
log "directory import of $SMALL users (baseline)"
timed "$WORK/import-small.time" "$BIN" --data "$WORK/small" directory import "$WORK/small.csv"
rm -rf "$WORK/small"
log "directory import of $N users"
timed "$WORK/import.time" "$BIN" --data "$WORK/data" directory import "$WORK/users.csv"
IMP_S=$(wall_s "$WORK/import.time") IMP_MB=$(maxrss_mb "$WORK/import.time")
IMPS_S=$(wall_s "$WORK/import-small.time") IMPS_MB=$(maxrss_mb "$WORK/import-small.time")

# --- Stores: N users with N messages, and 200 with 200 ---------------------------------
log "publishing $N messages into the store (fixtures, not measured)"
fill "$N" FILL_DATA="$WORK/data"
fill 200 FILL_CSV="$WORK/u200.csv"
"$BIN" --data "$WORK/d200" directory import "$WORK/u200.csv" >/dev/null
fill 200 FILL_DATA="$WORK/d200"

# start_timed DATA: start a server on DATA; sets START_S (from its start to its first
# /healthz answer, polled every 10 ms) and RSS_MB (1 s after that).
start_timed() {
    local t0
    rm -f "$1/server.json"
    t0=$(date +%s.%N)
    "$BIN" --data "$1" serve --listen 127.0.0.1:0 >"$WORK/server.log" 2>&1 &
    PID=$!
    ADDR=
    until [ -n "$ADDR" ] && curl -sf -o /dev/null "http://$ADDR/healthz"; do
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; log "schedplus did not start"; exit 1; }
        sleep 0.01
        [ -s "$1/server.json" ] && ADDR=$(sed -n 's/.*"addr": *"\([^"]*\)".*/\1/p' "$1/server.json")
    done
    START_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
    sleep 1
    RSS_MB=$(($(status_kb "$PID" VmRSS) / 1024))
}
stop_server() {
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
}
log "start-up on the 200-user store (baseline)"
start_timed "$WORK/d200"
S200_S=$START_S S200_MB=$RSS_MB
stop_server
log "start-up on the $N-user store (first: sled replays the log the fixtures wrote)"
start_timed "$WORK/data"
SN1_S=$START_S
stop_server
log "start-up on the $N-user store (again, after a clean shutdown)"
start_timed "$WORK/data"
SN_S=$START_S SN_MB=$RSS_MB

# --- PROPFIND Depth 1 of FOLDER messages, first thing after start ----------------------
AG0="http://$ADDR/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=Bench_xF8FF_ou=AG0/"
propfind() {
    curl -sS -o "$WORK/propfind.xml" -w '%{http_code} %{time_total}\n' -X PROPFIND -H "Depth: $1" "$AG0"
}
read -r code D0_S < <(propfind 0)
[ "$code" = 207 ] || { log "PROPFIND Depth 0 answered $code"; exit 1; }
PF_BEFORE_MB=$(($(status_kb "$PID" VmHWM) / 1024))
log "PROPFIND Depth 1 of $FOLDER messages"
read -r code D1_S < <(propfind 1)
[ "$code" = 207 ] || { log "PROPFIND Depth 1 answered $code"; exit 1; }
# Responses less the folder's own.
LISTED=$(($(grep -o '<[A-Za-z]*:response>' "$WORK/propfind.xml" | wc -l) - 1))
PF_PEAK_MB=$(($(status_kb "$PID" VmHWM) / 1024))

# --- ?Cmd=freebusy against nginx serving the same bytes --------------------------------
ONE="/public/?Cmd=freebusy&start=2026-03-02T00:00:00Z&end=2026-03-16T00:00:00Z&interval=15&u=SMTP:user7@bench.example"
BATCH="/public/?Cmd=freebusy&start=2026-03-01T00:00:00Z&end=2026-04-12T00:00:00Z&interval=30"
for i in $(seq 0 99); do BATCH="$BATCH&u=SMTP:user$i@bench.example"; done
mkdir -p "$WORK/www"
curl -sSf -o "$WORK/www/one.xml" "http://$ADDR$ONE"
curl -sSf -o "$WORK/www/batch.xml" "http://$ADDR$BATCH"
grep -q 'fbdata>[0-9]*[1-4]' "$WORK/www/one.xml" || { log "the one-user answer shows no busy time"; exit 1; }
ONE_B=$(stat -c %s "$WORK/www/one.xml") BATCH_B=$(stat -c %s "$WORK/www/batch.xml")

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
$([ "$(id -u)" = 0 ] && echo 'user root;')
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/xml;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
    }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK/nginx" &
NGINX=$!
HELPERS+=("$NGINX")
for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/one.xml" && break
    sleep 0.1
done
cmp -s <(curl -sSf "http://127.0.0.1:$NGINX_PORT/one.xml") "$WORK/www/one.xml" || { log "nginx does not serve the answer"; exit 1; }
NGINX_PIDS=("$NGINX" $(pgrep -P "$NGINX"))

log "wrk: /healthz and one user in $PAIR_ROUNDS alternating rounds, then nginx one user, batch, nginx batch (${SECS}s each)"
# One user against /healthz is the closest pair (0.85 is the target) and the machine is
# shared: the pair runs in alternating rounds and the row gives the median round's ratio
# (with the lowest and highest), the rates and CPU of that round.
PAIRS=()
for round in $(seq 1 "$PAIR_ROUNDS"); do
    wrk_row "http://$ADDR/healthz" "$PID"
    h_rps=$RPS h_cpu=$CPU_US
    wrk_row "http://$ADDR$ONE" "$PID"
    PAIRS+=("$(ratio "$RPS" "$h_rps" 3) $(ratio "$h_cpu" "$CPU_US" 3) $RPS $CPU_US $h_rps $h_cpu")
    log "round $round: one user $RPS req/s, $CPU_US µs; /healthz $h_rps req/s, $h_cpu µs"
done
read -r PAIR_R PAIR_CPU_R ONE_RPS ONE_CPU H_RPS H_CPU < <(printf '%s\n' "${PAIRS[@]}" | sort -n | sed -n "$(((PAIR_ROUNDS + 1) / 2))p")
PAIR_LO=$(printf '%s\n' "${PAIRS[@]}" | sort -n | head -1 | cut -d' ' -f1)
PAIR_HI=$(printf '%s\n' "${PAIRS[@]}" | sort -n | tail -1 | cut -d' ' -f1)
wrk_row "http://127.0.0.1:$NGINX_PORT/one.xml" "${NGINX_PIDS[@]}"
NONE_RPS=$RPS NONE_CPU=$CPU_US
wrk_row "http://$ADDR$BATCH" "$PID"
B_RPS=$RPS B_CPU=$CPU_US
wrk_row "http://127.0.0.1:$NGINX_PORT/batch.xml" "${NGINX_PIDS[@]}"
NB_RPS=$RPS NB_CPU=$CPU_US
stop_server
# The same queries with the row cache off: every row read from the store and painted, as a
# query asked for the first time since the last write is. The answers must be the same bytes.
log "wrk: one user and batch again, --fb-cache-bytes 0 (${SECS}s each)"
start_server "$WORK/data" 600 --data "$WORK/data" serve --listen 127.0.0.1:0 --fb-cache-bytes 0
cmp -s <(curl -sSf "http://$ADDR$ONE") "$WORK/www/one.xml" || { log "the one-user answer differs without the cache"; exit 1; }
cmp -s <(curl -sSf "http://$ADDR$BATCH") "$WORK/www/batch.xml" || { log "the batch answer differs without the cache"; exit 1; }
wrk_row "http://$ADDR$ONE" "$PID"
ONE0_RPS=$RPS ONE0_CPU=$CPU_US
wrk_row "http://$ADDR$BATCH" "$PID"
B0_RPS=$RPS B0_CPU=$CPU_US
stop_server
kill "$NGINX"
wait "$NGINX" 2>/dev/null || true

# --- Publishing and change → visible ---------------------------------------------------
log "benches/publish.rs ($PUBLISH_USERS users, $ROUNDS latency rounds, poller at 1 s)"
mkdir -p "$WORK/calendars"
PUBLISH_BENCH_CALENDARS="$WORK/calendars" USERS=$PUBLISH_USERS ROUNDS=$ROUNDS POLL_MS=1000 \
    "$PUBLISH_EXE" | tee "$WORK/publish.out" >&2
result() { sed -n "s/^BENCH-RESULT.* $1=\([0-9.]*\).*/\1/p" "$WORK/publish.out" | head -1; }
log "the Python reference publisher on the same $PUBLISH_USERS calendars"
"$PYTHON" scripts/reference_publish.py "$WORK/calendars" 2026-03-01T00:00:00Z 2026-05-01T00:00:00Z \
    --expander "$BIN calendar expand" | tee "$WORK/reference.out" >&2
ref() { sed -n "s/^REFERENCE-RESULT.* $1=\([0-9.]*\).*/\1/p" "$WORK/reference.out"; }

# --- The table -------------------------------------------------------------------------
PUB=$(result publish_per_s) REPUB=$(result republish_unchanged_per_s) REF=$(ref per_s)
PUB_CPU=$(result publish_cpu_us) REPUB_CPU=$(result republish_unchanged_cpu_us)
table() {
    # The server measured says its own build (SCHEDPLUS_BIN may be another checkout's); the
    # fixtures and bench programs are this checkout's.
    echo "$("$BIN" --version) (bench programs: $(git describe --always --dirty 2>/dev/null)), $START_DATE, $(nproc) cores, load average at the start ${START_LOAD// //}, at the end $(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/'); \`scripts/bench.sh $ARGS\`"
    echo
    echo "| work | schedplus | baseline in the same run | ratio |"
    echo "|---|---|---|---|"
    echo "| one user, 14 days @ 15 min ($ONE_B B answer) | $(fmt "$ONE_RPS" 0) req/s, $ONE_CPU µs CPU | nginx, same bytes: $(fmt "$NONE_RPS" 0) req/s, $NONE_CPU µs | $(ratio "$ONE_RPS" "$NONE_RPS") (CPU $(ratio "$NONE_CPU" "$ONE_CPU")) |"
    echo "| one user vs the same server's /healthz, median of $PAIR_ROUNDS alternating rounds | $(fmt "$ONE_RPS" 0) req/s, $ONE_CPU µs CPU | /healthz: $(fmt "$H_RPS" 0) req/s, $H_CPU µs | $(fmt "$PAIR_R" 2) (CPU $(fmt "$PAIR_CPU_R" 2); rounds $(fmt "$PAIR_LO" 2) to $(fmt "$PAIR_HI" 2)) |"
    echo "| 100 users, 42 days @ 30 min ($((BATCH_B / 1024)) KB answer) | $(fmt "$B_RPS" 0) req/s, $B_CPU µs CPU | nginx, same bytes: $(fmt "$NB_RPS" 0) req/s, $NB_CPU µs | $(ratio "$B_RPS" "$NB_RPS" 3) (CPU $(ratio "$NB_CPU" "$B_CPU" 3)) |"
    echo "| one user, row cache off (\`--fb-cache-bytes 0\`) | $(fmt "$ONE0_RPS" 0) req/s, $ONE0_CPU µs CPU | nginx, same bytes: $(fmt "$NONE_RPS" 0) req/s, $NONE_CPU µs | $(ratio "$ONE0_RPS" "$NONE_RPS") (CPU $(ratio "$NONE_CPU" "$ONE0_CPU")) |"
    echo "| 100 users, row cache off | $(fmt "$B0_RPS" 0) req/s, $B0_CPU µs CPU | nginx, same bytes: $(fmt "$NB_RPS" 0) req/s, $NB_CPU µs | $(ratio "$B0_RPS" "$NB_RPS" 3) (CPU $(ratio "$NB_CPU" "$B0_CPU" 3)) |"
    echo "| directory import, $N users | $IMP_S s, $IMP_MB MB peak RSS | $SMALL users: $IMPS_S s, $IMPS_MB MB | RSS $(ratio "$IMP_MB" "$IMPS_MB" 1)x for 10x users |"
    echo "| start on a $N-user, $N-message store (first start after filling it: $SN1_S s) | $SN_S s, $SN_MB MB RSS | 200-user store: $S200_S s, $S200_MB MB | $(ratio "$SN_S" "$S200_S" 1)x time, $(ratio "$SN_MB" "$S200_MB" 1)x RSS |"
    echo "| PROPFIND Depth 1, $LISTED messages | $(fmt "$D1_S" 2) s, $PF_PEAK_MB MB peak RSS | Depth 0: $(fmt "$D0_S" 3) s; peak RSS before: $PF_BEFORE_MB MB | $(ratio "$PF_PEAK_MB" "$PF_BEFORE_MB")x RSS |"
    echo "| publish from ~200-event calendars, $PUBLISH_USERS users | $(fmt "$PUB" 0) users/s, $PUB_CPU µs CPU a user | republish of unchanged: $(fmt "$REPUB" 0)/s, $REPUB_CPU µs; Python icalendar + recurring-ical-events: $(fmt "$REF" 1)/s (equal on $(ref equal) of $(ref users)) | $(ratio "$PUB" "$REPUB") (CPU $(ratio "$REPUB_CPU" "$PUB_CPU")); $(ratio "$PUB" "$REF" 1)x |"
    echo "| change → visible, poller at 1 s ($(result rounds) changes) | p50 $(result poller_p50_ms) ms, p99 $(result poller_p99_ms) ms | published directly: p50 $(result direct_p50_ms) ms, p99 $(result direct_p99_ms) ms | |"
    echo "| change → visible, --publish on-change ($(result rounds) changes) | p50 $(result onchange_p50_ms) ms, p99 $(result onchange_p99_ms) ms | published directly: p50 $(result direct_p50_ms) ms, p99 $(result direct_p99_ms) ms | |"
}
table >"$WORK/table.md"
[ -z "$OUT" ] || cp "$WORK/table.md" "$OUT"
echo
cat "$WORK/table.md"
