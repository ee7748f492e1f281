#!/usr/bin/env bash
# The differential oracle of schedplus's calendar expansion, as CI runs it.
#
# Creates .venv (if missing) with the pinned Python packages, builds the debug binary
# (cargo does nothing when it is current, as after `cargo test`; expansion needs no
# optimiser, and a release build would double CI's compile time), then compares schedplus's
# expansion of every fixtures/calendars/*.ics and tests/data/calendars-real/*.ics (real
# exporters' quirks) with recurring-ical-events' for the --now dates below: a US DST change,
# an EU DST change, a month end, a year end, a leap day and a quarter end.
# Prints scripts/oracle.py's "N passed, N failed" line last; exits non-zero on any failure.
#
# Usage: scripts/oracle.sh [extra oracle.py arguments, e.g. --only dwinship]
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/venv.sh
oracle_venv

echo "oracle: building target/debug/schedplus" >&2
cargo build --quiet --bin schedplus

nows=(
    2026-03-08T12:00:00Z # US DST starts (02:00 local)
    2026-10-25T12:00:00Z # EU DST ends (01:00 UTC)
    2026-01-31T23:30:00Z # month end
    2026-12-31T22:00:00Z # year end
    2028-02-29T12:00:00Z # leap day
    2027-03-31T23:59:00Z # quarter end, days after the EU DST start
)
args=()
for n in "${nows[@]}"; do
    args+=(--now "$n")
done
exec "$PYTHON" scripts/oracle.py \
    --expander "target/debug/schedplus calendar expand" "${args[@]}" "$@"
