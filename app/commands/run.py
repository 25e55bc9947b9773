"""The main job: the TUI (default) or `--no-ui` headless JSON lines, on a replay or the live indexer."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--replay", metavar="PATH", help="recording to replay (default: the bundled one)")
    source.add_argument("--live", action="store_true", help="connect to the live dYdX indexer")
    parser.add_argument("--no-ui", action="store_true", help="run headless: JSON lines on stdout")
    parser.add_argument("--speed", default="1", help="replay speed factor, or 'max' (default 1)")
    parser.add_argument("--markets", help="comma-separated markets for --live (default BTC-USD,ETH-USD)")
    parser.add_argument("--network", choices=("mainnet", "testnet"), default="mainnet")
    parser.add_argument("--rest-url", help="indexer REST URL (overrides --network)")
    parser.add_argument("--ws-url", help="indexer WebSocket URL (overrides --network)")
    parser.add_argument("--config", metavar="FILE", help="strategy/risk config (TOML)")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("dydx-bot: the dashboard and headless runner are being built (issue 5)")
