#!/usr/bin/env bash
# Load: wrk on loopback against `schedplus serve --demo` while the poller republishes.
#
#   scripts/load.sh [SECONDS] [CONNECTIONS]   release build; defaults 60 s, 200 connections
#   scripts/load.sh --short                   CI form: debug build, 10 s, 50 connections
#
# Installs nothing: expects `wrk` on PATH (.ci/run installs it with apt-get). Starts the
# server on a free loopback port (127.0.0.1:0, read back from server.json) with a temporary
# data directory, a --calendar-dir holding the demo calendars and a 200ms poll interval; a
# background loop rewrites one demo calendar file twice a second (alternately with and
# without an extra meeting) so the poller keeps republishing. wrk runs scripts/load.lua
# (?Cmd=freebusy, PROPFIND Depth 1, PROPPATCH of dedicated load users) after a warm-up of
# the same mix. The server's RSS (VmRSS) is sampled every second. LOAD_SERVE_ARGS adds
# `serve` options (e.g. "--cache-mb 8") for experiments.
#
# Prints the wrk figures and RSS start (after warm-up), peak and end, and exits non-zero on
# any socket error or timeout, any answer outside 2xx/3xx (so any 5xx), a server that died,
# or an RSS at the end above 1.5x the RSS after warm-up. Everything stops by itself: wrk is
# bounded by -d, the helpers are killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=release
WARMUP=5
if [ "${1:-}" = "--short" ]; then
    PROFILE=debug
    SECS=10
    CONNS=50
    WARMUP=3
else
    SECS=${1:-60}
    CONNS=${2:-200}
fi
THREADS=2
LOAD_USERS=100
RSS_LIMIT_PCT=150

command -v wrk >/dev/null || {
    echo "wrk is not installed; install it (apt-get install wrk) and run again" >&2
    exit 2
}
BIN=target/$PROFILE/schedplus
if [ "$PROFILE" = release ]; then
    cargo build --release --bin schedplus
elif [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit)" ]; then
    # After `cargo test` (as in .ci/run) the debug binary is current: no second build.
    cargo build --bin schedplus
fi

. scripts/lib/server.sh

CALDIR=$WORK/calendars
mkdir -p "$CALDIR"
cp fixtures/calendars/*.ics "$CALDIR/"
# shellcheck disable=SC2086 # LOAD_SERVE_ARGS is a list of flags
RUST_LOG=${RUST_LOG:-warn} start_server "$WORK/data" 30 --data "$WORK/data" serve --demo \
    --listen 127.0.0.1:0 --poll-interval 200ms --calendar-dir "$CALDIR" ${LOAD_SERVE_ARGS:-}

# The PROPPATCH content: one busy hour in today's month, the publish range from its first day.
TODAY=$(date -u +%Y-%m-%d)
YEAR=$(date -u +%Y)
MONTH_NUM=$((10#$(date -u +%m)))
MONTH_START=$(date -u -d "$YEAR-$(date -u +%m)-01T00:00:00Z" +%s)
# 194074560 minutes from 1601-01-01 to 1970-01-01.
export LOAD_TODAY=$TODAY
export LOAD_MONTH=$((YEAR * 16 + MONTH_NUM))
export LOAD_RANGE_START=$((MONTH_START / 60 + 194074560))
export LOAD_RANGE_END=$((LOAD_RANGE_START + 60 * 1440))
export LOAD_USERS
# Writes sign in (the default --auth basic) as the demo's admin, who may write the load
# users' messages; the server's credential cache makes that one Argon2 per run.
LOAD_AUTH="Basic $(printf 'bwright:demo' | base64)"
export LOAD_AUTH

# Keep the poller busy: rewrite one demo calendar twice a second, with and without an
# extra meeting tomorrow, written aside and renamed so the watcher never reads half a file.
TOMORROW=$(date -u -d tomorrow +%Y%m%d)
poke_calendars() {
    local n=0
    local files=("$CALDIR"/*.ics)
    while true; do
        local f=${files[$((n % ${#files[@]}))]}
        local base
        base=$(basename "$f")
        if [ $((n / ${#files[@]} % 2)) -eq 0 ]; then
            sed "s/^END:VCALENDAR/BEGIN:VEVENT\nUID:load-$n\nDTSTART:${TOMORROW}T150000Z\nDURATION:PT1H\nEND:VEVENT\nEND:VCALENDAR/" \
                "fixtures/calendars/$base" >"$CALDIR/.$base.tmp"
        else
            cp "fixtures/calendars/$base" "$CALDIR/.$base.tmp"
        fi
        mv "$CALDIR/.$base.tmp" "$f"
        n=$((n + 1))
        sleep 0.5
    done
}
poke_calendars &
HELPERS+=($!)

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0; }
sample_rss() {
    while kill -0 "$PID" 2>/dev/null; do
        rss_kb >>"$WORK/rss.log"
        sleep 1
    done
}

# A probe over bash's /dev/tcp: the status line of one request.
probe() {
    local method=$1 path=$2 body=${3:-} extra=${4:-}
    exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR##*:}"
    printf '%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s' \
        "$method" "$path" "$ADDR" "${#body}" "$extra" "$body" >&3
    local status_line
    read -r status_line <&3 || true
    exec 3<&-
    echo "$status_line"
}
AG="/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=First%20Organization_xF8FF_ou=First%20Administrative%20Group/"
case "$(probe PROPFIND "$AG" "" $'Depth: 0\r\n')" in
    *" 207 "*) ;;
    *) echo "the demo admin-group folder does not answer PROPFIND: $(probe PROPFIND "$AG" "" $'Depth: 0\r\n')" >&2; exit 1 ;;
esac
case "$(probe GET "/public/?Cmd=freebusy&start=${TODAY}T00:00:00Z&end=${TODAY}T23:00:00Z&interval=60&u=SMTP:danw@xcs.example")" in
    *" 200 "*) ;;
    *) echo "the freebusy query does not answer 200" >&2; exit 1 ;;
esac

echo "load: schedplus ($PROFILE) at http://$ADDR/, warm-up ${WARMUP}s, then ${SECS}s x ${CONNS} connections, ${THREADS} wrk threads"
# The warm-up creates every load user's message and fills sled's cache; its figures are not
# judged, only its RSS is the baseline.
wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s scripts/load.lua "http://$ADDR" >"$WORK/warmup.out" 2>&1 || true
RSS_START=$(rss_kb)
sample_rss &
HELPERS+=($!)
wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 10s --latency -s scripts/load.lua "http://$ADDR" | tee "$WORK/wrk.out"
sleep 1
RSS_END=$(rss_kb)
RSS_PEAK=$(sort -n "$WORK/rss.log" | tail -1)
# What the poller did meanwhile, from the server's own counters.
metrics() {
    exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR##*:}"
    printf 'GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$ADDR" >&3
    cat <&3
    exec 3<&-
}
PUBLISHED=$(metrics | awk '/^schedplus_publishes_total/ {s += $NF} END {print s + 0}')

fail=0
if ! kill -0 "$PID" 2>/dev/null; then
    echo "FAIL: the server died" >&2
    tail -20 "$WORK/server.log" >&2
    fail=1
fi
RESULT=$(grep '^LOAD-RESULT' "$WORK/wrk.out" || true)
[ -n "$RESULT" ] || { echo "FAIL: wrk printed no result" >&2; exit 1; }
val() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" ${RESULT#LOAD-RESULT}"; }
for k in errors_connect errors_read errors_write errors_timeout non_2xx_3xx s5xx; do
    if [ "$(val "$k")" != 0 ]; then
        echo "FAIL: $k=$(val "$k")" >&2
        fail=1
    fi
done
echo "RSS: start ${RSS_START} KiB (after warm-up), peak ${RSS_PEAK} KiB, end ${RSS_END} KiB; every 10 s: $(awk 'NR % 10 == 1' "$WORK/rss.log" | tr '\n' ' ')"
if [ "$RSS_END" -gt $((RSS_START * RSS_LIMIT_PCT / 100)) ]; then
    echo "FAIL: RSS grew from ${RSS_START} KiB to ${RSS_END} KiB (limit ${RSS_LIMIT_PCT}%)" >&2
    fail=1
fi
if grep -q " ERROR " "$WORK/server.log"; then
    echo "FAIL: the server logged errors:" >&2
    grep " ERROR " "$WORK/server.log" | head -5 >&2
    fail=1
fi
echo "load: $(val requests) requests in $(val seconds)s = $(val rps)/s; p50 $(val p50_ms) ms, p90 $(val p90_ms) ms, p99 $(val p99_ms) ms, p99.9 $(val p999_ms) ms, max $(val max_ms) ms; socket errors $(( $(val errors_connect) + $(val errors_read) + $(val errors_write) + $(val errors_timeout) )), non-2xx/3xx $(val non_2xx_3xx), 5xx $(val s5xx); mix: freebusy $(val sent_freebusy), PROPFIND $(val sent_propfind), PROPPATCH $(val sent_proppatch); poller publishes (whole run): $PUBLISHED"
[ "$fail" = 0 ] && echo "load: OK" || echo "load: FAILED" >&2
exit "$fail"
