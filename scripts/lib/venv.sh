# Sourced by the scripts that run Python with pinned packages (oracle.sh, bench.sh,
# ews.sh). Expects the repository as the working directory.

# pinned_venv VENV REQUIREMENTS: PYTHON is VENV's python with REQUIREMENTS installed; VENV
# is created when missing and reinstalled only when the pinned list changed since.
pinned_venv() {
    local venv=$1 req=$2
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating $venv" >&2
        python3 -m venv "$venv"
    fi
    local stamp="$venv/.$(basename "$req").sha256" want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "installing $req into $venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
        echo "$want" >"$stamp"
    fi
    PYTHON=$venv/bin/python
}

# oracle_venv: .venv with scripts/requirements-oracle.txt (icalendar, recurring-ical-events).
oracle_venv() {
    pinned_venv .venv scripts/requirements-oracle.txt
}
