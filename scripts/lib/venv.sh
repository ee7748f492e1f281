# Sourced by the scripts that run Python with the pinned oracle packages (oracle.sh,
# bench.sh). Expects the repository as the working directory.

# oracle_venv: PYTHON is .venv's python with scripts/requirements-oracle.txt installed;
# .venv is created when missing and reinstalled only when the pinned list changed since.
oracle_venv() {
    local venv=.venv req=scripts/requirements-oracle.txt
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating $venv" >&2
        python3 -m venv "$venv"
    fi
    local stamp="$venv/.requirements-oracle.sha256" want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "installing $req into $venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
        echo "$want" >"$stamp"
    fi
    PYTHON=$venv/bin/python
}
