#!/bin/sh
# Set up (once) and run the whole test suite, with coverage per layer (CI fails under 90 % overall).
set -e
cd "$(dirname "$0")"
. tools/venv.sh
.venv/bin/python -m pytest -q --cov --cov-report= "$@"
.venv/bin/python tools/coverage_layers.py --fail-under 90
