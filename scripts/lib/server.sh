# Sourced by the scripts that run a schedplus server of their own (litmus.sh, davmail.sh,
# load.sh, bench.sh, screenshot.sh, slowclients.sh): a scratch directory cleaned up on exit, and a server started in it whose address
# is read from server.json. Expects `set -euo pipefail` and the repository as the working
# directory.

# WORK: a scratch directory; on exit every pid in HELPERS and the server (PID) are stopped
# and WORK is removed.
WORK=$(mktemp -d)
PID=
HELPERS=()
cleanup() {
    local p
    for p in "${HELPERS[@]}" $PID; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# schedplus_debug_bin: BIN is $SCHEDPLUS_BIN if set, else the debug build, rebuilt when a
# source is newer than it.
schedplus_debug_bin() {
    BIN=${SCHEDPLUS_BIN:-target/debug/schedplus}
    if [ -z "${SCHEDPLUS_BIN:-}" ] && { [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit)" ]; }; then
        cargo build --bin schedplus
    fi
}

# schedplus_release_bin: BIN is $SCHEDPLUS_BIN if set, else the release build (cargo
# rebuilds it when a source changed, and does nothing otherwise).
schedplus_release_bin() {
    BIN=${SCHEDPLUS_BIN:-target/release/schedplus}
    if [ -z "${SCHEDPLUS_BIN:-}" ]; then
        cargo build --release --bin schedplus
    fi
}

# start_server DATA SECONDS ARG…: `$BIN ARG…` in the background (log in $WORK/server.log),
# then wait up to SECONDS for DATA/server.json; sets PID and ADDR (host:port on loopback).
start_server() {
    local data=$1 seconds=$2
    shift 2
    "$BIN" "$@" >"$WORK/server.log" 2>&1 &
    PID=$!
    local _
    for _ in $(seq $((seconds * 10))); do
        [ -s "$data/server.json" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "schedplus did not start" >&2; exit 1; }
        sleep 0.1
    done
    ADDR=$(sed -n 's/.*"addr": *"\([^"]*\)".*/\1/p' "$data/server.json")
    [ -n "$ADDR" ] || { echo "schedplus wrote no address" >&2; exit 1; }
    case "$ADDR" in 127.0.0.1:*) ;; *) echo "not on loopback: $ADDR" >&2; exit 1 ;; esac
}
