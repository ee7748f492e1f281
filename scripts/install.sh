#!/usr/bin/env bash
# Install schedplus on this machine: the binary, the systemd unit, shell completions and
# the README the unit's Documentation= points to. Run from the checkout, as root:
#
#   scripts/install.sh
#
# It builds the release binary first (cargo build --release --locked) unless
# SCHEDPLUS_BIN names one already built. DESTDIR installs into a staging root (packaging,
# tests); PREFIX (default /usr/local) is where the binary goes, as the unit expects
# (ExecStart=/usr/local/bin/schedplus). Nothing is started or enabled: docs/service.md
# says how (useradd, systemctl enable --now schedplus).
#
# For a developer machine without systemd, `cargo install --path . --locked` is enough.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
DESTDIR="${DESTDIR:-}"
PREFIX="${PREFIX:-/usr/local}"

bin="${SCHEDPLUS_BIN:-}"
if [[ -z "$bin" ]]; then
  (cd "$root" && cargo build --release --locked)
  bin="$root/target/release/schedplus"
fi
if [[ ! -x "$bin" ]]; then
  echo "install.sh: $bin is not an executable schedplus binary; build it (cargo build --release) or set SCHEDPLUS_BIN" >&2
  exit 2
fi

put() { # mode source destination
  install -D -m "$1" "$2" "$DESTDIR$3"
  echo "installed $DESTDIR$3"
}

put 0755 "$bin" "$PREFIX/bin/schedplus"
put 0644 "$root/docs/schedplus.service" /etc/systemd/system/schedplus.service
# The unit's Documentation=file:///usr/share/doc/schedplus/README.md, and the docs it links.
put 0644 "$root/README.md" /usr/share/doc/schedplus/README.md
for f in "$root"/docs/*.md; do
  put 0644 "$f" "/usr/share/doc/schedplus/docs/$(basename "$f")"
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for shell in bash zsh fish; do
  "$bin" completions "$shell" > "$tmp/$shell"
done
put 0644 "$tmp/bash" /usr/share/bash-completion/completions/schedplus
put 0644 "$tmp/zsh" /usr/share/zsh/vendor-completions/_schedplus
put 0644 "$tmp/fish" /usr/share/fish/vendor_completions.d/schedplus.fish

if [[ -z "$DESTDIR" ]] && command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
fi
echo "schedplus $("$bin" --version | sed 's/^schedplus //') installed; see docs/service.md to run it as a service"
