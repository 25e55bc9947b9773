#!/bin/sh
# Set up (once) and start dydx-bot: with no arguments, the TUI replaying the bundled recording.
# Any arguments are passed on, e.g. ./run.sh --no-ui --speed max. It runs in the caller's directory, so
# that relative paths (--replay, --config, record --out, the history's export) are the caller's.
set -e
here=$(cd "$(dirname "$0")" && pwd)
(cd "$here" && . tools/venv.sh)
exec "$here/.venv/bin/dydx-bot" "$@"
