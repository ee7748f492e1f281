#!/usr/bin/env bash
# Regenerate docs/timeline.png, the README's picture of a user's page: the demo served on a
# loopback port with a fixed "now", photographed by headless Chromium.
#
#   scripts/screenshot.sh [OUT.png]
#
# Needs Debian's chromium (installed with apt-get when missing and run as root). The demo
# runs in a temporary data directory on 127.0.0.1 with a port the system picks; nothing
# else is touched. SCHEDPLUS_BIN names a built binary to use instead of building one;
# NOW (default 2026-11-24T14:30:00Z) and SIZE (default 1280,900) set the scene.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/docs/timeline.png}"
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

bin="${SCHEDPLUS_BIN:-}"
if [[ -z "$bin" ]]; then
  (cd "$root" && cargo build --locked --quiet)
  bin="$root/target/debug/schedplus"
fi

work="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The demo's own environment only: no setting of the caller's leaks in.
env -u SCHEDPLUS_CONFIG -u SCHEDPLUS_DATA -u SCHEDPLUS_LISTEN -u SCHEDPLUS_NOW \
  "$bin" --data "$work/data" serve --demo --listen 127.0.0.1:0 --now "$now" \
  >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  [[ -s "$work/data/server.json" ]] && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "screenshot.sh: schedplus serve --demo exited:" >&2
    cat "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.1
done
addr="$(sed -n 's/.*"addr": *"\([^"]*\)".*/\1/p' "$work/data/server.json")"
if [[ -z "$addr" ]]; then
  echo "screenshot.sh: the server never announced its address in server.json" >&2
  exit 1
fi
# Wait for the first publishing round to show up in the page.
page="http://$addr/public/NON_IPM_SUBTREE/SCHEDULE%2B%20FREE%20BUSY/EX:_xF8FF_o=First%20Organization_xF8FF_ou=First%20Administrative%20Group/USER-_xF8FF_CN=RECIPIENTS_xF8FF_CN=DWINSHIP.EML"
for _ in $(seq 1 100); do
  curl -sf -H 'Accept: text/html' "$page" -o /dev/null && break
  sleep 0.1
done

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$work/chromium" \
  --screenshot="$out" --window-size="$size" "$page" >"$work/chromium.log" 2>&1 || {
  cat "$work/chromium.log" >&2
  exit 1
}
echo "wrote $out ($(stat -c %s "$out") bytes) from $page at $now"
