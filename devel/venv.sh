# Sourced by devel/run-server and devel/test: make ./.venv (or $VENV) and install the project into it.
# Needs Python >= 3.11 with venv; installs python3-venv with apt when root and it is missing.

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

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
