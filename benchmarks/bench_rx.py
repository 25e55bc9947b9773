"""Micro-benchmark: what one hop of `streams.kernel.rx` costs, against RxPY's own operators in the same run.

A chain of 12 hops (map, filter, filter_map, four times over) under a subject; 200,000 values pushed through
it one at a time, every callback cheap, so the figure is the plumbing: the call per hop and what it guards
(a callback's exception goes to `on_error`, as in RxPY). `kit` and `rxpy` build the same chain, one with
this kit's operators and one with RxPY's (filter_map as map + filter); each figure is the median of `--runs`
rounds that take both in turns, the ratio the median of the rounds' ratios.

    .venv/bin/python benchmarks/bench_rx.py [--values 200000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# runnable as a file too (python benchmarks/bench_rx.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import reactivex
from reactivex import operators as ops
from reactivex.subject import Subject

from benchmarks.report import RESULTS, Row, interleaved, median_ratio, show, write
from streams.kernel import rx

HOPS = 12


def chain(operators: tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]) -> list[Any]:
    to_map, to_filter, to_filter_map = operators
    steps: list[Any] = []
    for _ in range(HOPS // 3):
        steps += [to_map(lambda x: x + 1), to_filter(lambda x: x >= 0), to_filter_map(lambda x: x - 1)]
    return steps


KIT = (rx.map, rx.filter, rx.filter_map)
RXPY = (ops.map, ops.filter, lambda mapper: reactivex.compose(ops.map(mapper), ops.filter(lambda x: x is not None)))


def push(operators: tuple[Callable[..., Any], ...], values: int) -> Callable[[], None]:
    def work() -> None:
        source: Subject[int] = Subject()
        got: list[int] = []
        source.pipe(*chain(operators)).subscribe(got.append)  # type: ignore[arg-type]
        on_next = source.on_next
        for value in range(values):
            on_next(value)
        if len(got) != values:
            raise SystemExit(f"the chain lost values: {len(got)} of {values}")

    return work


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    seconds = interleaved(args.runs, {"kit": push(KIT, args.values), "rxpy": push(RXPY, args.values)})
    ns_per_hop = {name: statistics.median(times) / args.values / HOPS * 1e9 for name, times in seconds.items()}
    speedup = median_ratio(seconds["rxpy"], seconds["kit"])
    rows = [Row("streams.kernel.rx, one hop (ns)", f"{ns_per_hop['kit']:.0f}"),
            Row("RxPY, one hop (ns)", f"{ns_per_hop['rxpy']:.0f}"),
            Row("RxPY / streams.kernel.rx", f"{speedup:.1f}x")]
    write("rx", method=__doc__, rows=rows, out=args.out or RESULTS, figures={
        "values": args.values, "hops": HOPS, "runs": args.runs, "seconds": seconds, "ns_per_hop": ns_per_hop,
        "rxpy_over_kit": speedup})
    show("rx", rows)


if __name__ == "__main__":
    main()
