"""Recording overhead: WebSocket messages per second a client receives from the loopback replay server
directly, and through the mitmproxy recorder that journals every one of them.

Three processes, as in use: the replay server (`dydx-bot serve REC --speed max`: its recorded WebSocket
session as fast as it can send), the recorder (`streams.sources.recorder.Recorder` in reverse mode in
front of that server, writing a new recording to a temp dir) and the client here (aiohttp), which sends
the recording's own subscribes and counts the server's messages until the close. messages/s = messages /
(first message sent .. close received). Each figure is the best of `--runs`, each run with a fresh server
(a session plays once per server); the recorder's journal is checked to hold every message.

    .venv/bin/python -m benchmarks.bench_recording [--recording recordings/default] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# runnable as a file too (python benchmarks/bench_recording.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from app.sources import DEFAULT_RECORDING
from benchmarks.report import RESULTS, ROOT, Row, rate, show, write
from streams.sources.recording import WsMessage, open_recording


def client_messages(recording: Path) -> list[bytes]:
    return [entry.data for entry in open_recording(recording).entries()
            if isinstance(entry, WsMessage) and entry.from_client]


async def receive(ws_url: str, subscribes: list[bytes]) -> tuple[int, float]:
    """(server messages, seconds) of one whole session."""
    count = 0
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url, max_msg_size=0) as ws:
            started = time.perf_counter()
            for message in subscribes:
                await ws.send_str(message.decode())
            async for message in ws:
                if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    count += 1
            return count, time.perf_counter() - started


def _url(process: subprocess.Popen[str], prefix: str) -> str:
    """The URL a child announces on a line starting with `prefix`."""
    assert process.stderr is not None or process.stdout is not None
    stream = process.stderr if process.stderr is not None else process.stdout
    for line in stream:
        if line.startswith(prefix):
            return line.split()[-1]
    raise SystemExit(f"{process.args}: ended without announcing its {prefix.strip()} URL")


def serve(recording: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "app", "serve", str(recording), "--speed", "max",
                             "--ping-interval", "0"], cwd=ROOT, stderr=subprocess.PIPE, text=True)


def record(upstream: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "benchmarks.bench_recording", "--recorder", upstream, str(out)],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_recorder(upstream: str, out: Path) -> None:
    """The recorder process: announce its WebSocket URL, record until stdin closes, print the counts."""
    from streams.sources.recorder import Recorder

    recorder = Recorder(out, upstream).start()
    print(f"WebSocket {recorder.ws_url}", flush=True)
    sys.stdin.read()
    print(json.dumps(recorder.stop()["counts"]), flush=True)


def one_run(recording: Path, subscribes: list[bytes], through_recorder: bool) -> tuple[int, float, dict | None]:
    server = serve(recording)
    try:
        ws_url = _url(server, "WebSocket")
        if not through_recorder:
            count, seconds = asyncio.run(receive(ws_url, subscribes))
            return count, seconds, None
        with tempfile.TemporaryDirectory() as scratch:
            recorder = record(ws_url.rsplit("/v4/", 1)[0].replace("ws://", "http://"), Path(scratch) / "rec")
            try:
                count, seconds = asyncio.run(receive(_url(recorder, "WebSocket"), subscribes))
            finally:
                counts, _ = recorder.communicate("", timeout=60)
            return count, seconds, json.loads(counts.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.communicate(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, default=DEFAULT_RECORDING)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    parser.add_argument("--recorder", nargs=2, metavar=("UPSTREAM", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.recorder:
        run_recorder(args.recorder[0], Path(args.recorder[1]))
        return
    subscribes = client_messages(args.recording)
    best = {"direct": (0, float("inf")), "recorder": (0, float("inf"))}
    journaled = None
    for _ in range(args.runs):
        for name in best:
            count, seconds, counts = one_run(args.recording, subscribes, name == "recorder")
            if seconds < best[name][1]:
                best[name] = (count, seconds)
            if counts is not None:
                journaled = counts
    per_s = {name: count / seconds for name, (count, seconds) in best.items()}
    received = best["recorder"][0]
    complete = journaled is not None and journaled.get("ws_from_server") == received
    rows = [
        Row("replay server -> client, direct (messages/s)", rate(per_s["direct"])),
        Row("replay server -> recorder -> client (messages/s)", rate(per_s["recorder"])),
        Row("through the recorder / direct", f"{per_s['recorder'] / per_s['direct']:.2f}"),
        Row("recorder journaled every message", f"{journaled and journaled.get('ws_from_server')} of {received}",
            "all", complete),
    ]
    write("recording", method=__doc__, rows=rows, out=args.out or RESULTS, figures={
        "recording": str(args.recording), "runs": args.runs, "messages": best["direct"][0],
        "best": {name: {"messages": count, "seconds": seconds} for name, (count, seconds) in best.items()},
        "messages_per_s": per_s, "journal_counts": journaled})
    show("recording", rows)


if __name__ == "__main__":
    main()
