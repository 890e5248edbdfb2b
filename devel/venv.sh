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

ensure_venv() {
    local extras="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        fi
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".$extras"
}
