#!/usr/bin/env bash
# exchangelib (PyPI), a real EWS client, against schedplus's Availability front end, as CI
# runs it.
#
# Two servers on loopback, both with the demo organisation at the same --now:
#   B  a free/busy server;
#   A  the front end (and a free/busy server): the First Administrative Group's servers are
#      B then A itself, London's only server is B, Paris is not listed (A's own store).
# Phase "up": exchangelib's get_free_busy_info (Basic auth, Exchange 2010, no autodiscover)
# gets the same digits ?Cmd=freebusy gives, and for the distribution group Lab Team the
# merge of its members' digits. Then B is stopped; phase "down": the First
# Administrative Group fails over to A (event 4003 with B's URL), London gets event 4004 and
# ErrorNoPublicFolderServerAvailable for its users only, Paris still answers.
#
# Usage: scripts/ews.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/server.sh

source scripts/lib/venv.sh
pinned_venv .venv-ews scripts/requirements-ews.txt

schedplus_debug_bin
now=2026-03-02T08:00:00Z
day=2026-03-02

start_server "$WORK/b" 60 --data "$WORK/b" --now "$now" serve --demo --listen 127.0.0.1:0
B_PID=$PID
B="http://$ADDR"
mv "$WORK/server.log" "$WORK/b.log"

# A's own URL is in its --cas-servers, so its port is chosen before it starts.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
A="http://127.0.0.1:$port"
cas="EX:/o=First Organization/ou=First Administrative Group=$B/public,$A/public"
cas="$cas;EX:/o=CompanyABC/ou=London=$B/public"
start_server "$WORK/a" 60 --data "$WORK/a" --now "$now" serve --demo --listen "127.0.0.1:$port" \
    --cas-servers "$cas" --cas-order listed --cas-timeout 5s
HELPERS+=("$B_PID")
# The groups of fixtures/ews/groups.ldf, through the running front end: Lab Team holds
# users of the three admin groups and, through Lab Core, Rachel.
"$BIN" --data "$WORK/a" directory import fixtures/ews/groups.ldf

"$PYTHON" scripts/ews_client.py up --front "$A" --b "$B" --day "$day" --log "$WORK/server.log"
kill "$B_PID"
wait "$B_PID" 2>/dev/null || true
"$PYTHON" scripts/ews_client.py down --front "$A" --b "$B" --day "$day" --log "$WORK/server.log"
