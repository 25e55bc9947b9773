"""Start-up: from launching `python -m app --no-ui --speed max` (the bundled recording) to its first JSON line
on stdout, as a user runs it; against the interpreter alone starting and printing one line
(`python -c "print()"`), the floor that no change to the product moves. Both are launched in turns,
`--runs` rounds after one untimed round (the page cache); the figures are medians. Target (issue 16): < 0.5 s.

    .venv/bin/python benchmarks/bench_startup.py [--runs 11]
"""

from __future__ import annotations

import argparse
import select
import statistics
import subprocess
import sys
from pathlib import Path

# runnable as a file too (python benchmarks/bench_startup.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import RESULTS, ROOT, Row, interleaved, show, write

TARGET_S = 0.5
DEADLINE_S = 30.0  # a start-up that takes longer is broken, not slow

COMMANDS = {"first frame": [sys.executable, "-m", "app", "--no-ui", "--speed", "max"],
            "interpreter": [sys.executable, "-c", "print()"]}


def first_line(command: list[str]) -> None:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], DEADLINE_S)
        if not ready or not process.stdout.readline():
            raise SystemExit(f"no line on stdout within {DEADLINE_S:g} s from {' '.join(command)}")
    finally:
        process.kill()
        process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    seconds = interleaved(args.runs, {name: lambda c=command: first_line(c) for name, command in COMMANDS.items()})
    median = {name: statistics.median(times) for name, times in seconds.items()}
    rows = [Row("dydx-bot --no-ui: start-up to the first frame (s)", f"{median['first frame']:.3f}",
                f"< {TARGET_S:g} s", median["first frame"] < TARGET_S),
            Row("python -c 'print()': the interpreter alone (s)", f"{median['interpreter']:.3f}")]
    write("startup", method=__doc__, rows=rows, out=args.out or RESULTS,
          figures={"runs": args.runs, "seconds": seconds, "median_seconds": median})
    show("startup", rows)


if __name__ == "__main__":
    main()
