# Sourced by run.sh and test.sh: create .venv with Python 3.11 and install the locked dependencies,
# once per change of requirements.lock.
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "dydx-bot needs Python 3.11 (found: $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
stamp=.venv/.installed-$(cksum < requirements.lock | cut -d' ' -f1)
if [ ! -f "$stamp" ]; then
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
    .venv/bin/python -m pip check
    rm -f .venv/.installed-*
    touch "$stamp"
fi
