"""The graph before and after a change, in one process: `bench_graph`'s `graph` work (the headless graph
and printer over the frames of `recordings/default`, in memory) from the working tree and from a
commit (`--before`, read with `git archive` into a temporary directory), and the floor (read + JSON-decode
the same recording); `--recording` for another (results then in `results/graph-ab-<its name>.json`).

Both trees are imported under the same module names: the first tree's modules are dropped from
`sys.modules` once its graph has run once (so every lazy import it makes has been made from it), and its
functions keep their own modules alive. Rounds take the three works in turns; each figure is the median of
`--runs` rounds, each ratio the median of the rounds' ratios, in wall time and in this process's CPU
time (less moved by the other processes of a shared machine, which only take turns on the cores).

    .venv/bin/python benchmarks/bench_graph_ab.py --before 0bc34ed [--runs 15]
"""

from __future__ import annotations

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("streams", "app", "widgets", "benchmarks")


def tree_works(root: Path, recording: Path | None) -> tuple[Callable[[], None], Callable[[], int], int]:
    """(graph work, floor work, frames) with `root`'s code, over `recording` (default: the bundled one)."""
    for name in list(sys.modules):
        if name.split(".")[0] in PACKAGES:
            del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        bench = importlib.import_module("benchmarks.bench_graph")
        if not str(bench.__file__).startswith(str(root)):
            raise SystemExit(f"{root}'s bench_graph did not load: {bench.__file__}")
        recording = recording or bench.DEFAULT_RECORDING
        frames = list(bench.open_recording(recording).frames())

        def graph() -> None:
            bench.graph_only(frames)

        def floor() -> int:
            return int(bench.floor(recording))

        graph()
    finally:
        sys.path.remove(str(root))
    return graph, floor, len(frames)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare the working tree with")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--recording", type=Path, default=None, help="default: recordings/default")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="graph-before-") as before:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(before, filter="data")
        before_graph, _, count = tree_works(Path(before), args.recording)
        after_graph, floor, _ = tree_works(ROOT, args.recording)
        works = {"before": before_graph, "after": after_graph, "floor": floor}
        seconds: dict[str, list[float]] = {name: [] for name in works}
        cpu: dict[str, list[float]] = {name: [] for name in works}
        for _ in range(args.runs):
            for name, work in works.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                work()
                seconds[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
    # imported last: the working tree's modules are the ones in sys.modules now
    from benchmarks.report import RESULTS, Row, median_ratio, rate, show, write

    per_s = {name: count / statistics.median(times) for name, times in seconds.items()}
    speedup = median_ratio(seconds["before"], seconds["after"])
    cpu_speedup = median_ratio(cpu["before"], cpu["after"])
    over_floor = {name: median_ratio(seconds["floor"], seconds[name]) for name in ("before", "after")}
    rows = [Row(f"graph only, {name} ({label})",
                f"{rate(per_s[name])} frames, {over_floor[name]:.3f} of the floor")
            for name, label in (("before", args.before), ("after", "working tree"))]
    rows.append(Row("after / before (median of the rounds' ratios): wall, CPU", f"x{speedup:.3f}, x{cpu_speedup:.3f}"))
    name = "graph-ab" if args.recording is None else f"graph-ab-{args.recording.name}"
    write(name, method=__doc__ or "", rows=rows, out=args.out or RESULTS, figures={
        "before": args.before, "recording": str(args.recording or "recordings/default"), "frames": count,
        "runs": args.runs, "seconds": seconds, "cpu_seconds": cpu,
        "frames_per_s": per_s, "speedup": speedup, "cpu_speedup": cpu_speedup, "over_floor": over_floor})
    show(name, rows)


if __name__ == "__main__":
    main()
