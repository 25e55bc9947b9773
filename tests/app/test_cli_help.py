"""`--help` and the README agree: the top-level help names every subcommand and the signals headless
answers to, and every flag of every command is in the README's command table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app.cli import COMMANDS, build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def parsers() -> dict[str, argparse.ArgumentParser]:
    top = build_parser()
    (subparsers,) = (action for action in top._actions if isinstance(action, argparse._SubParsersAction))
    return {"dydx-bot": top, **subparsers.choices}


def test_the_top_level_help_names_every_subcommand_and_signal() -> None:
    text = build_parser().format_help()
    for name in (*COMMANDS, "SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2"):
        assert name in text


def flags(parser: argparse.ArgumentParser) -> list[str]:
    """Every long option of `parser` and of its own subcommands (`recording info --json`)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and parser.prog != "dydx-bot":
            found += [flag for sub in action.choices.values() for flag in flags(sub)]
        found += [option for option in action.option_strings if option.startswith("--") and option != "--help"]
    return found


@pytest.mark.parametrize("command", ["dydx-bot", *COMMANDS])
def test_every_flag_is_in_the_readme(command: str) -> None:
    flags_ = flags(parsers()[command])
    assert flags_
    missing = [flag for flag in flags_ if not any(f"{before}{flag}" in README for before in "`[ ")]
    assert not missing, f"{command}: not in README.md: {missing}"
