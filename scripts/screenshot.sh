#!/usr/bin/env bash
# Regenerate docs/timeline.png, the README's picture of a user's page: the demo served on a
# loopback port with a fixed "now", photographed by headless Chromium.
#
#   scripts/screenshot.sh [OUT.png]
#
# Needs Debian's chromium (installed with apt-get when missing and run as root). The demo
# runs in a temporary data directory on 127.0.0.1 with a port the system picks
# (scripts/lib/server.sh); nothing else is touched. SCHEDPLUS_BIN names a built binary to
# use instead of the debug build (built when older than the sources);
# NOW (default 2026-11-24T14:30:00Z) and SIZE (default 1280,900) set the scene.
set -euo pipefail

out="$(realpath -m "${1:-$(dirname "$0")/../docs/timeline.png}")"
cd "$(dirname "$0")/.."
now="${NOW:-2026-11-24T14:30:00Z}"
size="${SIZE:-1280,900}"

if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "screenshot.sh: chromium is not installed; apt-get install chromium (as root)" >&2
    exit 2
  fi
fi

. scripts/lib/server.sh
schedplus_debug_bin

# The demo's own environment only: no setting of the caller's leaks in.
unset SCHEDPLUS_CONFIG SCHEDPLUS_DATA SCHEDPLUS_LISTEN SCHEDPLUS_NOW
start_server "$WORK/data" 30 --data "$WORK/data" serve --demo --listen 127.0.0.1:0 --now "$now"
# Wait for the first publishing round to show up in the page.
page="http://$ADDR/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=First%20Organization_xF8FF_ou=First%20Administrative%20Group/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DWINSHIP.EML"
for _ in $(seq 1 100); do
  curl -sf -H 'Accept: text/html' "$page" -o /dev/null && break
  sleep 0.1
done

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$WORK/chromium" \
  --screenshot="$out" --window-size="$size" "$page" >"$WORK/chromium.log" 2>&1 || {
  cat "$WORK/chromium.log" >&2
  exit 1
}
echo "wrote $out ($(stat -c %s "$out") bytes) from $page at $now"
