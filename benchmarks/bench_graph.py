"""Headless replay throughput of the full graph against the floor, and latency from a frame's arrival to
the risk state it changes.

Throughput. `headless`: `dydx-bot --no-ui --speed max` run in-process (`app.headless.run_headless`):
open the recording, read it, parse -> market state -> indicators -> scores -> strategy -> risk engine ->
paper broker -> margin, JSON lines to /dev/null. `floor`: open and read the same recording and
JSON-decode every frame (msgspec, as the parser does), nothing else. `parse`: open and read the same
recording and parse every frame into its typed event (`streams.market.parse`, prices and sizes as
`Decimal`s), nothing else: floor / parse bounds headless / floor for any graph that starts by parsing,
however little it does after. `books`: `parse` with every event also applied to the order books
(`streams.market.books.OrderBooks`, the first stage every frame meets), nothing else: the least a graph
that keeps books can cost. `graph`: the headless graph and printer over frames already in memory (no
reading). Each figure is the median of `--runs` rounds that take all of them in turns, and each ratio the
median of the rounds' ratios to that round's floor, so that all of them see the same machine.
Messages are counted two ways: frames (one WebSocket server message or REST answer each; the targets
are on these) and updates (each item of a `channel_batch_data` frame).

Latency. The frames are fed one at a time, in memory, to a graph with the headless printer attached; a
frame's arrival is stamped (perf_counter) just before it is handed over. Instrumented here, not in the
product: `RiskEngine.on_event` is wrapped to stamp when it has applied an input, and the account and
risk outputs are stamped as they come out. Per frame:
- to the risk state: until the risk engine has applied the last input the frame caused (frames that
  reach it: oracle and market updates, health reports, fills...);
- to the account state: until the `AccountState` the frame causes (held markets' prices, fills);
- end to end: until every subscriber is done with the frame (all frames).
The collector runs (gc on, as in the product), so the max includes collections.

    .venv/bin/python benchmarks/bench_graph.py [--recording recordings/default] [--runs 5]

Another recording's results go to `results/graph-<its directory name>.json` (`run.sh` runs it on 250
markets, the recording `scale_recording.py` builds).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# runnable as a file too (python benchmarks/bench_graph.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec
from reactivex.subject import Subject

from app.headless import HeadlessOptions, Printer, run_headless
from app.sources import DEFAULT_RECORDING, ReplaySource
from benchmarks.report import RESULTS, Row, interleaved, median_ratio, rate, show, write
from streams.config import Config
from streams.graph import build_graph
from streams.kernel.frames import Frame
from streams.market.books import OrderBooks
from streams.market.parse import parse_frame
from streams.risk.derisk import RiskEngine
from streams.sources.recording import open_recording

THROUGHPUT_TARGET = 50_000  # frames/s, on recordings/default
SCALE_THROUGHPUT_TARGET = 25_000  # frames/s, on any other (run.sh: 250 markets)
RATIO_TARGET = 0.25  # issue 16; 0.5 would take a native core (benchmarks/README.md)
P99_TARGET_MS = 0.5  # issue 16


class _Batch(msgspec.Struct):
    type: str = ""
    contents: msgspec.Raw = msgspec.Raw()


_batch = msgspec.json.Decoder(_Batch)
_items = msgspec.json.Decoder(list[msgspec.Raw])


def count_messages(frames: list[Frame]) -> tuple[int, int]:
    """(frames, updates): a `channel_batch_data` frame holds one update per item of its contents."""
    updates = 0
    for frame in frames:
        if frame.kind == "ws" and b'"channel_batch_data"' in frame.data:
            message = _batch.decode(frame.data)
            if message.type == "channel_batch_data":
                updates += len(_items.decode(message.contents))
                continue
        updates += 1
    return len(frames), updates


def floor(path: Path) -> int:
    decode = msgspec.json.decode
    count = 0
    for frame in open_recording(path).frames():
        decode(frame.data)
        count += 1
    return count


def parse_only(path: Path) -> int:
    """`floor`'s loop with the parser in place of the decoder (written out, not shared through a callback,
    so that the floor pays no extra call per frame)."""
    count = 0
    for frame in open_recording(path).frames():
        parse_frame(frame)
        count += 1
    return count


def parse_books(path: Path) -> int:
    """`parse_only` with each event applied to the order books, their outputs taken and dropped."""
    on_event = OrderBooks().on_event
    count = 0
    for frame in open_recording(path).frames():
        event = parse_frame(frame)
        if event is not None:
            for _ in on_event(event):
                pass
        count += 1
    return count


def headless(path: Path) -> int:
    with open(os.devnull, "wb") as out:
        code = run_headless(HeadlessOptions(config=Config(), replay=ReplaySource.open(path, speed=None), out=out,
                                            err=io.StringIO()))
    if code != 0:
        raise SystemExit(f"the headless replay of {path} failed (exit {code})")
    return code


def graph_only(frames: list[Frame]) -> None:
    with open(os.devnull, "wb") as out:
        source: Subject[Frame] = Subject()
        graph = build_graph(source, Config(), health_rates=False, all_snapshots=False)  # as headless does
        Printer(out).attach(graph)
        graph.connect()
        for frame in frames:
            source.on_next(frame)
        source.on_completed()


def percentiles(samples: list[float]) -> dict[str, float | int]:
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    return {"n": len(ordered), "p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": ordered[-1] * 1e3}


def latencies(frames: list[Frame]) -> dict[str, dict[str, float | int]]:
    clock = time.perf_counter
    risk_applied: list[float] = []
    original = RiskEngine.on_event

    def stamped(self: RiskEngine, event: Any) -> Any:
        out = original(self, event)
        risk_applied.append(clock())
        return out

    RiskEngine.on_event = stamped  # type: ignore[method-assign]
    try:
        with open(os.devnull, "wb") as out:
            source: Subject[Frame] = Subject()
            graph = build_graph(source, Config(), health_rates=False, all_snapshots=False)  # as headless does
            Printer(out).attach(graph)
            accounts: list[float] = []
            risk_states: list[float] = []
            graph.account.subscribe(lambda _state: accounts.append(clock()))
            graph.risk.subscribe(lambda _state: risk_states.append(clock()))
            graph.connect()
            to_risk, to_account, to_risk_change, end_to_end = [], [], [], []
            for frame in frames:
                for stamps in (risk_applied, accounts, risk_states):
                    stamps.clear()
                arrived = clock()
                source.on_next(frame)
                done = clock()
                end_to_end.append(done - arrived)
                if risk_applied:
                    to_risk.append(risk_applied[-1] - arrived)
                if accounts:
                    to_account.append(accounts[0] - arrived)
                if risk_states:
                    to_risk_change.append(risk_states[0] - arrived)
    finally:
        RiskEngine.on_event = original  # type: ignore[method-assign]
    return {"to_risk_state": percentiles(to_risk), "to_account_state": percentiles(to_account),
            "to_risk_state_change": percentiles(to_risk_change), "end_to_end": percentiles(end_to_end)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, default=DEFAULT_RECORDING)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    frames = list(open_recording(args.recording).frames())
    count, updates = count_messages(frames)
    works = {"floor": lambda: floor(args.recording), "parse": lambda: parse_only(args.recording),
             "books": lambda: parse_books(args.recording),
             "headless": lambda: headless(args.recording), "graph": lambda: graph_only(frames)}
    seconds = interleaved(args.runs, works)
    median = {name: statistics.median(times) for name, times in seconds.items()}
    per_s = {name: count / took for name, took in median.items()}
    # each ratio is against the floor of the same round, then the median of the rounds
    over_floor = {name: median_ratio(seconds["floor"], times) for name, times in seconds.items()}
    ratio = over_floor["headless"]
    target = THROUGHPUT_TARGET if args.recording == DEFAULT_RECORDING else SCALE_THROUGHPUT_TARGET
    latency = latencies(frames)

    to_risk, to_account, end = latency["to_risk_state"], latency["to_account_state"], latency["end_to_end"]
    rows = [
        Row("headless replay, full graph (frames/s)", rate(per_s["headless"]), f">= {target:,}",
            per_s["headless"] >= target),
        Row("headless replay, full graph (updates/s)", rate(updates / median["headless"])),
        Row("floor: read + JSON-decode (frames/s)", rate(per_s["floor"])),
        Row("headless / floor", f"{ratio:.2f}", f">= {RATIO_TARGET}", ratio >= RATIO_TARGET),
        Row("read + parse into typed events (frames/s)", rate(per_s["parse"])),
        Row("parse / floor: the most headless / floor can be", f"{over_floor['parse']:.2f}"),
        Row("read + parse + order books, nothing else (frames/s)", rate(per_s["books"])),
        Row("(parse + order books) / floor", f"{over_floor['books']:.2f}"),
        Row("left per frame for the graph at headless / floor = 0.5",
            f"{(2 * median['floor'] - median['parse']) / count * 1e6:.1f} us"),
        Row("graph only, frames in memory (frames/s)", rate(per_s["graph"])),
        Row("latency frame -> risk state, p50 / p99 / max",
            f"{to_risk['p50_ms']:.3f} / {to_risk['p99_ms']:.3f} / {to_risk['max_ms']:.2f} ms (n={to_risk['n']})",
            f"p99 < {P99_TARGET_MS:g} ms", to_risk["p99_ms"] < P99_TARGET_MS),
        Row("latency frame -> account state, p50 / p99 / max",
            f"{to_account['p50_ms']:.3f} / {to_account['p99_ms']:.3f} / {to_account['max_ms']:.2f} ms "
            f"(n={to_account['n']})"),
        Row("latency frame -> done (all subscribers), p50 / p99 / max",
            f"{end['p50_ms']:.3f} / {end['p99_ms']:.3f} / {end['max_ms']:.2f} ms (n={end['n']})"),
    ]
    name = "graph" if args.recording == DEFAULT_RECORDING else f"graph-{args.recording.name}"
    write(name, method=__doc__, rows=rows, out=args.out or RESULTS, figures={
        "recording": str(args.recording), "frames": count, "updates": updates, "runs": args.runs,
        "seconds": seconds, "median_seconds": median, "frames_per_s": per_s,
        "updates_per_s": updates / median["headless"], "over_floor": over_floor,
        "headless_over_floor": ratio,
        "graph_budget_at_half_floor_us": (2 * median["floor"] - median["parse"]) / count * 1e6, "latency": latency,
    })
    show(name, rows)


if __name__ == "__main__":
    main()
