"""The order book core three ways, over every v4_orderbook update of a recording, in one process: `decimal`,
the core keyed by `Decimal` prices as it was before issue 16 (`streams/market/books.py` at commit
`DECIMAL_COMMIT`, read with git); `fixed`, `streams/market/book_core.py` interpreted (exact fixed-point
integer keys); `compiled`, the same file built with mypyc (opt-in: only when mypyc and a C compiler are
there, in a temporary directory, never in the project; `--no-compile` skips it).

Each round parses the recording afresh (untimed: the books get new `Decimal` objects, whose hashes are not
yet cached, as in the graph), then times each core applying every update, uncrossing, and making the
view after each update that changed the top 10 (what `OrderBooks` does per update, without its feed
checks). Figures are medians of `--runs` rounds, ratios the medians of the rounds' ratios. Before timing,
every core's output is compared update by update (changed or not, levels dropped, the whole book's levels
and the view, by repr: the same digits): any difference stops the benchmark.

    .venv/bin/python benchmarks/bench_book_core.py [--recording recordings/default] [--runs 9] [--no-compile]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as a file too, as -m puts the root on the path

from benchmarks.report import RESULTS, Row, median_ratio, show, write  # noqa: E402  (after the path)

DECIMAL_COMMIT = "0bc34ed"  # the last main commit with Decimal-keyed books
DEPTH = 10
EVERYTHING = 10_000


def build_compiled(into: Path) -> str | None:
    """A copy of `streams` in `into` with book_core compiled by mypyc; None if it was built, else why not."""
    mypyc = Path(sys.executable).with_name("mypyc")
    if not mypyc.exists() or shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no mypyc or no C compiler"
    shutil.copytree(ROOT / "streams", into / "streams", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([str(mypyc), "streams/market/book_core.py"], cwd=into, capture_output=True, text=True)
    if built.returncode != 0:
        return f"mypyc failed: {built.stdout[-2000:]}{built.stderr[-2000:]}"
    return None


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decimal_core(into: Path) -> ModuleType:
    source = subprocess.run(["git", "show", f"{DECIMAL_COMMIT}:streams/market/books.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    (into / "decimal_books.py").write_text(source)
    return load("decimal_books", into / "decimal_books.py")


def updates(recording: Path) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Freshly parsed: each market's last snapshot before its updates, and every update in order."""
    events = importlib.import_module("streams.market.events")
    parse_frame = importlib.import_module("streams.market.parse").parse_frame
    open_recording = importlib.import_module("streams.sources.recording").open_recording
    snapshots: dict[str, Any] = {}
    applied: list[tuple[str, Any]] = []
    for frame in open_recording(recording).frames():
        event = parse_frame(frame)
        kind = type(event)
        if kind not in (events.Subscribed, events.ChannelData, events.ChannelBatchData) \
                or event.channel != "v4_orderbook" or not event.id:
            continue
        if kind is events.Subscribed:
            snapshots[event.id] = event.contents
        elif event.id in snapshots:
            batch = event.contents if kind is events.ChannelBatchData else [event.contents]
            applied.extend((event.id, update) for update in batch)
    return snapshots, applied


def books(core: ModuleType, snapshots: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for market, snapshot in snapshots.items():
        book = result[market] = core.OrderBook(DEPTH)
        book.load(snapshot.bids, snapshot.asks)
    return result


def run(core: ModuleType, snapshots: dict[str, Any], applied: list[tuple[str, Any]]) -> float:
    by_market = books(core, snapshots)
    started = time.perf_counter()
    for market, update in applied:
        book = by_market[market]
        changed = book.apply(update)
        dropped_bids, dropped_asks = book.uncross()
        if changed or dropped_bids or dropped_asks:
            book.view(0.0, market, 0)
    return time.perf_counter() - started


def outputs(core: ModuleType, snapshots: dict[str, Any], applied: list[tuple[str, Any]]) -> list[str]:
    by_market = books(core, snapshots)
    seen = [repr(book.top(EVERYTHING)) for book in by_market.values()]
    for market, update in applied:
        book = by_market[market]
        seen.append(repr((book.apply(update), book.uncross(), book.top(EVERYTHING), book.view(0.0, market, 0))))
    return seen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, default=ROOT / "recordings" / "default")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-compile", action="store_true", help="skip the mypyc build")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="book-core-") as temporary:
        where = Path(temporary)
        why_not = "--no-compile" if args.no_compile else build_compiled(where)
        if why_not is None:  # the copy with the compiled core first on the path: streams is imported from it
            sys.path.insert(0, str(where))
        cores: dict[str, ModuleType] = {"decimal": decimal_core(where),
                                        "fixed": load("book_core_interpreted", ROOT / "streams/market/book_core.py")}
        if why_not is None:
            compiled = importlib.import_module("streams.market.book_core")
            if not str(compiled.__file__).endswith(".so"):
                raise SystemExit(f"the compiled core did not load: {compiled.__file__}")
            cores["compiled"] = compiled
        else:
            print(f"compiled core skipped: {why_not}", file=sys.stderr)
        measure(args, cores, why_not)


def measure(args: argparse.Namespace, cores: dict[str, ModuleType], why_not: str | None) -> None:
    snapshots, applied = updates(args.recording)
    reference = outputs(cores["decimal"], snapshots, applied)
    for name, core in cores.items():
        if outputs(core, snapshots, applied) != reference:
            raise SystemExit(f"the {name} core's output differs from the Decimal core's on {args.recording}")
    works: dict[str, Callable[[dict[str, Any], list[tuple[str, Any]]], float]] = {
        name: (lambda snaps, ups, core=core: run(core, snaps, ups)) for name, core in cores.items()}
    seconds: dict[str, list[float]] = {name: [] for name in works}
    for round_ in range(args.runs + 1):  # the first round untimed
        for name, work in works.items():
            snaps, ups = updates(args.recording)
            took = work(snaps, ups)
            if round_:
                seconds[name].append(took)
    median = {name: statistics.median(times) for name, times in seconds.items()}
    speedup = {name: median_ratio(seconds["decimal"], times) for name, times in seconds.items()}
    levels = sum(len(update.bids) + len(update.asks) for _, update in applied)
    rows = [Row(f"{name}: us per update ({len(applied):,} updates, {levels:,} levels)",
                f"{median[name] / len(applied) * 1e6:.2f} us, x{speedup[name]:.2f} of decimal")
            for name in works]
    if why_not is not None:
        rows.append(Row("compiled (mypyc)", f"not built: {why_not}"))
    write("book_core", method=__doc__ or "", rows=rows, out=args.out or RESULTS, figures={
        "recording": str(args.recording), "updates": len(applied), "levels": levels, "runs": args.runs,
        "seconds": seconds, "median_seconds": median, "speedup_over_decimal": speedup,
        "identical_output": True, "compiled": why_not is None, "decimal_commit": DECIMAL_COMMIT})
    show("book_core", rows)


if __name__ == "__main__":
    main()
