"""The main job: the dashboard (default) or `--no-ui` JSON lines, on a replay or the live indexer."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app.commands import UsageError
from app.commands.arguments import subaccount_number

if TYPE_CHECKING:
    from app.sources import ReplaySource
    from streams.sources.live import LiveConfig

DEFAULT_MARKETS = "BTC-USD,ETH-USD"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--replay", metavar="PATH",
                        help="recording to replay: a recording directory or a mitmproxy flow file "
                             "(default: the bundled recordings/default)")
    source.add_argument("--live", action="store_true", help="connect to the live dYdX indexer")
    parser.add_argument("--no-ui", action="store_true",
                        help="run headless: JSON lines on stdout, progress on stderr")
    parser.add_argument("--speed", default="1", help="replay speed: a factor (1, 10, 0.5) or 'max' (default 1)")
    parser.add_argument("--markets", help=f"comma-separated markets for --live (default {DEFAULT_MARKETS})")
    parser.add_argument("--network", choices=("mainnet", "testnet"), default="mainnet",
                        help="indexer network for --live (default mainnet)")
    parser.add_argument("--rest-url", help="indexer REST URL (overrides --network)")
    parser.add_argument("--ws-url", help="indexer WebSocket URL (overrides --network)")
    parser.add_argument("--config", metavar="FILE", help="configuration (TOML; see app/default_config.toml)")
    trading = parser.add_argument_group("live trading (opt-in; the paper broker is the default)")
    trading.add_argument("--broker", choices=("paper", "live"), default="paper",
                         help="'live' places real orders through a dYdX node; needs --live (default paper)")
    trading.add_argument("--mainnet", action="store_true",
                         help="trade on mainnet (asks for a typed confirmation); testnet otherwise")
    trading.add_argument("--node-url", metavar="HOST:PORT", help="dYdX node gRPC endpoint (default: the network's)")
    trading.add_argument("--subaccount", type=subaccount_number, default=0, metavar="N",
                         help="subaccount number, 0 to 127 (default 0)")


def run(args: argparse.Namespace) -> int:
    from streams.config import ConfigError, config_warnings, load_config
    from streams.sources.replay import parse_speed

    try:
        config = load_config(args.config)
        speed = parse_speed(args.speed)
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    live = _live_config(args) if args.live else None
    if not args.live and (args.markets or args.rest_url or args.ws_url):
        raise UsageError("--markets, --rest-url and --ws-url need --live")
    if args.broker == "live" and not args.no_ui:  # refused before anything asks for a mainnet confirmation
        raise UsageError("live trading runs headless for now: add --no-ui")
    trading = _live_trading(args, live) if args.broker == "live" else None
    from app.sources import ReplaySource

    replay = None if live else ReplaySource.open(args.replay, speed)
    warnings = [f"{args.config}: {warning}" for warning in config_warnings(config, _data_markets(live, replay))]
    if args.no_ui:
        from app.headless import HeadlessOptions, run_headless

        for warning in warnings:
            print(f"dydx-bot: warning: {warning}", file=sys.stderr)
        return run_headless(HeadlessOptions(config=config, replay=replay, live=live, trading=trading))
    from app.tui import run_tui

    return run_tui(config=config, replay=replay, live=live, warnings=warnings)


def _data_markets(live: LiveConfig | None, replay: ReplaySource | None) -> tuple[str, ...] | None:
    """The markets the data will have, when known without reading it: the live subscription's, or those a
    recording's manifest lists."""
    if live is not None:
        return live.markets
    manifest = replay.recording.manifest if replay is not None else None
    markets = manifest.get("markets") if manifest else None
    return tuple(markets) if isinstance(markets, list) else None


def _live_trading(args: argparse.Namespace, live):
    from app.trading import LiveTrading
    from streams.execution.networks import NetworkRefusedError, on_loopback

    if live is None:
        raise UsageError("--broker live trades on live data only: add --live (replays always use the paper broker)")
    if not on_loopback(args.node_url) and args.mainnet != (args.network == "mainnet"):
        raise UsageError("the broker and the data must be on one network: use --mainnet with --network mainnet, "
                         "or --network testnet without --mainnet")
    try:
        return LiveTrading.choose(mainnet=args.mainnet, node_url=args.node_url, subaccount=args.subaccount)
    except NetworkRefusedError as exc:
        raise UsageError(str(exc)) from None


def _live_config(args: argparse.Namespace):
    from streams.sources.endpoints import resolve_endpoints
    from streams.sources.live import LiveConfig, parse_markets

    markets = parse_markets(DEFAULT_MARKETS if args.markets is None else args.markets)
    if not markets:
        raise UsageError(f"--markets {args.markets!r}: no market named; give e.g. --markets BTC-USD,ETH-USD")
    try:
        return LiveConfig(resolve_endpoints(args.network, args.rest_url, args.ws_url), markets)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
