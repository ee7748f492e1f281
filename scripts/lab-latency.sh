#!/usr/bin/env bash
# Free/busy latency of the three fixture topologies against their formulas (P, P + R,
# P + nR + mF): docs/topologies.md shows the tables. Each lab is started in a temporary
# directory and stopped at the end. Exits 1 if any topology had a maximum over its bound.
#
#   scripts/lab-latency.sh [SAMPLES]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
samples="${1:-20}"
cargo build --release --locked --quiet
bin="$PWD/target/release/schedplus"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for lab in single-server server-per-site multi-forest; do
  echo "== $lab"
  "$bin" lab latency "fixtures/labs/$lab.toml" --samples "$samples" --dir "$work/lab-$lab" || status=1
done
exit "$status"
