# Sourced by run.sh and test.sh: create .venv with Python 3.11 and install the locked dependencies,
# once per change of the locks.
#
# Nothing here can be broken by a new upstream release: the installer itself is pinned and hash-checked
# first (tools/pip.lock: the pip that a venv bundles may be years older than the lock), then every package
# comes from requirements.lock alone, with --no-deps, so no installer ever resolves a requirement against
# the registry's newest release (an extra such as coverage[toml] included); `pip check` then proves the
# lock complete. Both locks are exported from uv.lock (see CONTRIBUTING.md).
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    echo "dydx-bot needs Python 3.11 (found: $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
stamp=.venv/.installed-$(cat tools/pip.lock requirements.lock | cksum | cut -d' ' -f1)
if [ ! -f "$stamp" ]; then
    [ -x .venv/bin/python ] || "$PY" -m venv .venv || exit 1
    pip_install() {
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 .venv/bin/python -m pip install --quiet "$@" || exit 1
    }
    pip_install --require-hashes --no-deps -r tools/pip.lock
    pip_install --require-hashes --no-deps -r requirements.lock
    # setuptools warns that any folder named like a package may shadow it: ours are the package
    PYTHONWARNINGS="ignore:Editable installation" pip_install --no-deps --no-build-isolation -e .
    .venv/bin/python -m pip check || exit 1
    rm -f .venv/.installed-*
    touch "$stamp"
fi
