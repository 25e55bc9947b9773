#!/bin/sh
# Set up (once) and start dydx-bot: with no arguments, the TUI replaying the bundled recording.
# Any arguments are passed on, e.g. ./run.sh --no-ui --speed max
set -e
cd "$(dirname "$0")"
. tools/venv.sh
exec .venv/bin/dydx-bot "$@"
