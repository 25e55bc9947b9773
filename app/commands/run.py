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
    target = parser.add_argument_group(
        "live target", "where --live connects, and where the dashboard's l switches to from a replay "
                       "(default: the config's [live] section, else mainnet)")
    target.add_argument("--markets", help=f"comma-separated markets (default {DEFAULT_MARKETS})")
    target.add_argument("--network", choices=("mainnet", "testnet"), help="indexer network (default mainnet)")
    target.add_argument("--rest-url", help="indexer REST URL (overrides --network)")
    target.add_argument("--ws-url", help="indexer WebSocket URL (overrides --network), e.g. a `dydx-bot serve`'s")
    parser.add_argument("--config", metavar="FILE", help="configuration (TOML; see app/default_config.toml)")
    trading = parser.add_argument_group("live trading (opt-in; the paper broker is the default)")
    trading.add_argument("--broker", choices=("paper", "live"), default="paper",
                         help="'live' places real orders through a dYdX node; needs --live (default paper)")
    trading.add_argument("--mainnet", action="store_true",
                         help="trade on mainnet (asks for a typed confirmation); testnet otherwise")
    trading.add_argument("--node-url", metavar="HOST:PORT", help="dYdX node gRPC endpoint (default: the network's)")
    trading.add_argument("--subaccount", type=subaccount_number, default=0, metavar="N",
                         help="subaccount number, 0 to 127 (default 0)")
    trading.add_argument("--parent-subaccount", action="store_true",
                         help="follow the subaccount as a parent (v4_parent_subaccounts): its isolated positions "
                              "in children 128*k+N are in the account and the margin engine, and orders for "
                              "ISOLATED markets go to a child")


def run(args: argparse.Namespace) -> int:
    from streams.config import ConfigError, config_warnings, load_config
    from streams.sources.replay import parse_speed

    try:
        config = load_config(args.config)
        speed = parse_speed(args.speed)
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    target = _live_config(args, config.live)
    live = target if args.live else None
    if not args.live and args.no_ui and (args.markets or args.network or args.rest_url or args.ws_url):
        raise UsageError("--markets, --network, --rest-url and --ws-url say where live data comes from: "
                         "headless, add --live (only the dashboard switches to them from a replay)")
    trading = (_live_trading(args, live, args.network or config.live.network, ask_here=args.no_ui)
               if args.broker == "live" else None)
    from app.sources import ReplaySource

    replay = None if live else ReplaySource.open(args.replay, speed)
    warnings = [f"{args.config}: {warning}" for warning in config_warnings(config, _data_markets(live, replay))]
    if args.no_ui:
        from app.headless import HeadlessOptions, run_headless

        for warning in warnings:
            print(f"dydx-bot: warning: {warning}", file=sys.stderr)
        return run_headless(HeadlessOptions(config=config, replay=replay, live=live, trading=trading))
    from app.tui import run_tui

    return run_tui(config=config, replay=replay, live=live, target=target, trading=trading, warnings=warnings)


def _data_markets(live: LiveConfig | None, replay: ReplaySource | None) -> tuple[str, ...] | None:
    """The markets the data will have, when known without reading it: the live subscription's, or those a
    recording's manifest lists."""
    if live is not None:
        return live.markets
    manifest = replay.recording.manifest if replay is not None else None
    markets = manifest.get("markets") if manifest else None
    return tuple(markets) if isinstance(markets, list) else None


def _live_trading(args: argparse.Namespace, live, network: str, *, ask_here: bool):
    """Headless (`ask_here`), the network chosen now, mainnet's confirmation typed at the terminal; for the
    dashboard, the request it confirms in a modal screen (refused now if no confirmation can allow it)."""
    from app.trading import LiveTrading, TradingRequest
    from streams.execution.networks import NetworkRefusedError, on_loopback

    if live is None:
        raise UsageError("--broker live trades on live data only: add --live (replays always use the paper broker)")
    if not on_loopback(args.node_url) and args.mainnet != (network == "mainnet"):
        raise UsageError("the broker and the data must be on one network: use --mainnet with --network mainnet, "
                         "or --network testnet without --mainnet")
    request = TradingRequest(args.mainnet, args.node_url, args.subaccount, args.parent_subaccount)
    try:
        if ask_here:
            return LiveTrading.choose(mainnet=args.mainnet, node_url=args.node_url, subaccount=args.subaccount,
                                      parent=args.parent_subaccount)
        request.check()
        return request
    except NetworkRefusedError as exc:
        raise UsageError(str(exc)) from None


def _live_config(args: argparse.Namespace, section):
    """The live target: the command line's flags over the config's `[live]` section."""
    from streams.sources.endpoints import resolve_endpoints
    from streams.sources.live import LiveConfig, parse_markets

    markets = section.markets if args.markets is None else parse_markets(args.markets)
    if not markets:
        raise UsageError(f"--markets {args.markets!r}: no market named; give e.g. --markets BTC-USD,ETH-USD")
    try:
        return LiveConfig(resolve_endpoints(args.network or section.network, args.rest_url or section.rest_url,
                                            args.ws_url or section.ws_url), markets)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
