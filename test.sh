#!/bin/sh
# Set up (once) and run the whole test suite: lint, import contracts, types, then the tests with coverage per layer
# (CI fails under 90 % overall). Arguments go to pytest, e.g. ./test.sh tests/market -x
set -e
cd "$(dirname "$0")"
. tools/venv.sh
.venv/bin/ruff check --no-cache --quiet .
.venv/bin/lint-imports --no-cache --no-logo > .venv/lint-imports.txt || { cat .venv/lint-imports.txt; exit 1; }
.venv/bin/mypy --cache-dir .venv/mypy-cache
.venv/bin/python -m pytest -q --cov --cov-report= "$@"
.venv/bin/python tools/coverage_layers.py --fail-under 90
