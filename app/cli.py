"""The `dydx-bot` command line: no arguments = the TUI replaying the bundled recording with a paper
account; `--no-ui` runs the same graph headless; subcommands record, serve, recording and margin."""

from __future__ import annotations

import argparse
import importlib
import io
import logging
import sys
import typing
from collections.abc import Sequence

from app.commands import UsageError

SIGNALS = """signals (--no-ui):
  SIGINT, SIGTERM  stop cleanly: the summary line is still printed, exit status 0
  SIGUSR1          pull the kill switch: cancel every order and halt new risk
  SIGUSR2          pull the kill switch and flatten every position"""

# subcommand -> module in app.commands exposing `add_parser(subparsers)` and `run(args) -> int`
COMMANDS = ("record", "serve", "recording", "margin")


class _Parser(argparse.ArgumentParser):
    """Refuses a bad argument in one line, as every other bad input is (argparse adds the usage)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from app.commands import run as run_command

    parser = _Parser(prog="dydx-bot", description=__doc__, epilog=SIGNALS,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    run_command.add_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"app.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # dydx-v4-client builds its LOCAL network at import and warns about its own URL; not the user's concern
    logging.getLogger("dydx_v4_client.network").setLevel(logging.ERROR)
    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal shows a "—" in the help as \u2014, not a crash
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a refusal already printed: the status, as for any other refusal
        return exc.code if isinstance(exc.code, int) else 2
    module = importlib.import_module(f"app.commands.{args.command or 'run'}")
    from streams.sources.recording import RecordingError

    try:
        return module.run(args)
    except UsageError as exc:
        print(f"dydx-bot: {exc}", file=sys.stderr)
        return 2
    except RecordingError as exc:
        print(f"dydx-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
