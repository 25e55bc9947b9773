"""`dydx-bot serve PATH`: play a recording over loopback to the unmodified dYdX clients, as if it were
the indexer (REST answers and WebSocket sessions; see `streams.sources.replay_server`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from app.commands import UsageError
from app.commands.arguments import seconds
from streams.kernel.loopback import is_loopback
from streams.sources.replay import parse_speed

if TYPE_CHECKING:
    from streams.sources.replay_server import ReplayServer


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve a recording on loopback as if it were the indexer",
        description="Play a recording to the unmodified dYdX clients as if it were the indexer: recorded "
                    "REST answers, and WebSocket sessions gated by the client's subscribes. Point a client "
                    "at the printed URLs, e.g. dydx-bot --live --rest-url URL --ws-url URL.")
    parser.add_argument("path", metavar="PATH", help="recording directory or mitmproxy flow file")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--speed", default="1",
                        help="WebSocket replay speed factor, or 'max' (default 1 = recorded timing)")
    parser.add_argument("--gate-timeout", type=seconds(), default=10.0, metavar="S",
                        help="seconds a client may be late with a recorded subscribe before the server "
                             "closes with 1011 (default 10)")
    parser.add_argument("--ping-interval", type=seconds(zero=True), default=30.0, metavar="S",
                        help="seconds between server ping frames, 0 = none (default 30, like the indexer)")
    parser.add_argument("--idle-at-end", action="store_true",
                        help="keep a WebSocket open after its recorded session ends (default: close 1000)")


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from streams.sources.replay_server import ReplayServer  # aiohttp: only this command serves

    try:
        speed = parse_speed(args.speed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    server = ReplayServer(args.path, host=args.host, port=args.port, speed=speed,
                          gate_timeout=args.gate_timeout, ping_interval=args.ping_interval,
                          idle_at_end=args.idle_at_end)
    logging.basicConfig(level=logging.INFO, format="dydx-bot serve: %(message)s", stream=sys.stderr)
    if not is_loopback(args.host):
        print(f"dydx-bot serve: warning: --host {args.host} is not a loopback address: anyone who can reach "
              "this machine can connect, unencrypted", file=sys.stderr, flush=True)
    asyncio.run(_serve(server, args))
    return 0


async def _serve(server: ReplayServer, args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        urls = await server.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    script = server.script
    sessions = sum(len(recorded) for recorded in script.sessions.values())
    print(f"dydx-bot serve: {server.recording.name}: {len(script.rest)} distinct REST requests, "
          f"{sessions} WebSocket session(s), speed {args.speed}\n"
          f"REST      {urls.rest_url}\n"
          f"WebSocket {urls.ws_url}\n"
          "Ctrl-C stops.", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
