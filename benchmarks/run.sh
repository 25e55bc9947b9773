#!/bin/sh
# Every benchmark of issue 6, one after the other (about 6 minutes): each writes benchmarks/results/<name>.json,
# then one markdown table of all of them is printed. Not tests: the figures depend on the machine, which is
# recorded with them. Nothing else should run meanwhile.
#
#   benchmarks/run.sh
#   NAUTILUS_PYTHON=/tmp/nt-venv/bin/python benchmarks/run.sh   # adds the optional NautilusTrader comparison
#       (python -m venv /tmp/nt-venv && /tmp/nt-venv/bin/pip install nautilus_trader; never a product dependency)
set -e
cd "$(dirname "$0")/.."
. tools/venv.sh
PY=.venv/bin/python
$PY -m benchmarks.bench_graph
$PY -m benchmarks.bench_rx
$PY -m benchmarks.bench_book_core
$PY -m benchmarks.bench_startup
scale=$(mktemp -d)
trap 'rm -rf "$scale"' EXIT
$PY -m benchmarks.scale_recording "$scale/scale-250" --minutes 3 > /dev/null
$PY -m benchmarks.bench_graph --recording "$scale/scale-250" --runs 3
$PY -m benchmarks.bench_indicators ${NAUTILUS_PYTHON:+--nautilus-python "$NAUTILUS_PYTHON"}
$PY -m benchmarks.bench_recording
$PY -m benchmarks.bench_scale
$PY -m benchmarks.bench_scale --speed 10 --window 30 --skip-dashboard
echo
$PY -m benchmarks.summary
