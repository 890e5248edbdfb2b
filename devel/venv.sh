# Sourced by devel/run-server and devel/test: make ./.venv (or $VENV) and install the project into it.
# Needs Python >= 3.11 with venv; installs python3-venv with apt when root and it is missing.

VENV="${VENV:-.venv}"
if [ -z "${PYTHON:-}" ]; then
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
                && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PYTHON="$candidate"
            break
        fi
    done
fi
if [ -z "${PYTHON:-}" ]; then
    echo "error: Python >= 3.11 is needed (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi

# What the installation depends on: when none of it changed since the last install, pip is not run
# (it spends 20-30 s resolving even when everything is there). The project itself is installed
# editable, so code changes need no reinstall; only setup.py (dependencies, entry points) does.
install_stamp() {
    cat setup.py client_admin/setup.py common/setup.py extensions_admin/setup.py 2>/dev/null \
        | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

ensure_venv() {
    local extras="$1"
    local stamp_file="$VENV/.pulp-install-stamp"
    local stamp
    stamp="$(install_stamp)$extras"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null && [ "$(id -u)" = 0 ]; then
            echo "installing python3-venv" >&2
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        fi
        echo "creating $VENV" >&2
        "$PYTHON" -m venv "$VENV"
    fi
    # [test] includes everything the server needs: a stamp for it serves a plain run too.
    if [ -f "$stamp_file" ] && { [ "$(cat "$stamp_file")" = "$stamp" ] \
            || [ "$(cat "$stamp_file")" = "$(install_stamp)[test]" ]; }; then
        return 0
    fi
    echo "installing the project and its dependencies into $VENV (the first time takes a minute or two)" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".$extras"
    echo "$stamp" > "$stamp_file"
}
