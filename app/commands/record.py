"""`dydx-bot record --markets BTC-USD,ETH-USD [--network N | --upstream URL] [--duration S] --out PATH`:
record a live session through mitmproxy in reverse-proxy mode.

The project's live source subscribes exactly as `--live` does, but to a local mitmproxy that forwards
to the indexer (TLS verified upstream, no CA on the client side) and writes everything durably as it
passes. `--duration` or Ctrl-C / SIGTERM stop cleanly and write the manifest; a killed recorder leaves
a recording whose every message before the kill reads back.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import TYPE_CHECKING

from app.commands import UsageError
from app.commands.arguments import DAY, seconds
from streams.kernel.status import SourceStatus
from streams.sources.endpoints import NETWORKS, Endpoints

if TYPE_CHECKING:
    from streams.sources.recorder import Recorder


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("record", help="record a live session through mitmproxy",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", required=True, help="comma-separated markets, e.g. BTC-USD,ETH-USD")
    upstream = parser.add_mutually_exclusive_group()
    upstream.add_argument("--network", choices=tuple(NETWORKS), default="mainnet",
                          help="indexer to record (default mainnet)")
    upstream.add_argument("--upstream", metavar="URL",
                          help="indexer base URL to record instead, e.g. http://127.0.0.1:8080 (tests, mirrors)")
    parser.add_argument("--duration", type=seconds(most=366 * DAY), metavar="S",
                        help="stop after S seconds (default: Ctrl-C)")
    parser.add_argument("--out", required=True, metavar="PATH", help="new recording directory")


def run(args: argparse.Namespace) -> int:
    # imported here: mitmproxy and the live client take most of a second, which no other command needs
    from streams.sources.live import parse_markets
    from streams.sources.recorder import Recorder, RecorderError

    markets = parse_markets(args.markets)
    if not markets:
        raise UsageError("--markets needs at least one market, e.g. BTC-USD")
    network = "custom" if args.upstream else args.network
    upstream = args.upstream or NETWORKS[args.network].rest
    try:
        recorder = Recorder(args.out, upstream, network=network, markets=markets)
    except RecorderError as exc:
        raise UsageError(str(exc)) from None
    origin = upstream if args.upstream else f"{network} ({upstream})"
    try:
        recorder.start()
        _say(f"recording {', '.join(markets)} from {origin} into {args.out}; "
             + (f"stopping after {args.duration:g} s" if args.duration else "Ctrl-C stops"))
        return asyncio.run(_record(recorder, markets, args.duration, origin))
    except RecorderError as exc:
        _say(str(exc))
        return 1


async def _record(recorder: Recorder, markets: tuple[str, ...], duration: float | None, upstream: str) -> int:
    """Drive the live source through the proxy until the duration ends, a signal comes or the proxy
    stops by itself (it could not write); then close the sockets first, so the journal ends them. Exit 1
    when the upstream answered nothing (unreachable, TLS refused): an empty recording is not a success."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    from streams.sources.live import LiveConfig, LiveSource

    source = LiveSource(LiveConfig(Endpoints(rest=recorder.rest_url, ws=recorder.ws_url), markets))
    source.status().subscribe(_report)
    signalled = asyncio.ensure_future(stop.wait())
    proxy_stopped = asyncio.ensure_future(asyncio.to_thread(recorder.wait))
    started = time.monotonic()
    await source.start()
    try:
        await asyncio.wait([signalled, proxy_stopped], timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
        await source.stop()
        manifest = await asyncio.to_thread(recorder.stop)
        await proxy_stopped
    if stop.is_set():
        _say(f"stopped by a signal after {time.monotonic() - started:.1f} s")
    counts = manifest["counts"]
    span = (manifest["end"] - manifest["start"]) if manifest["start"] is not None else 0.0
    _say(f"recorded {counts.get('rest', 0)} REST answers and {counts.get('ws_from_server', 0)} WebSocket "
         f"messages on {counts.get('ws_connections', 0)} connection(s) over {span:.1f} s into {recorder.out}")
    if counts.get("rest") or counts.get("ws_from_server"):
        return 0
    addon = recorder.addon
    assert addon is not None  # started
    why = (f"{addon.upstream_errors} request(s) to {upstream} failed, the first {addon.first_upstream_error}"
           if addon.upstream_errors else f"{upstream} answered nothing")
    _say(f"nothing was recorded: {why}")
    return 1


def _report(status: SourceStatus) -> None:
    """The live source's own account of connections and subscriptions, one line each on stderr."""
    if status.event in ("connecting", "tick"):
        return
    where = " ".join(part for part in (status.channel, status.id, status.path) if part)
    detail = f" ({status.reason})" if status.reason else ""
    _say(f"{status.event} {where}".rstrip() + detail)


def _say(text: str) -> None:
    print(f"dydx-bot record: {text}", file=sys.stderr, flush=True)
