"""Print every benchmark's rows from `benchmarks/results/*.json` as one markdown table, headed by the
machine they ran on.

    .venv/bin/python -m benchmarks.summary [RESULTS_DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# runnable as a file too (python benchmarks/summary.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import HEADER, RESULTS, Row

ORDER = ("graph", "indicators", "scale", "scale-x10", "recording")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="?", default=RESULTS)
    directory = parser.parse_args(argv).results
    results = {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}
    if not results:
        raise SystemExit(f"no results in {directory}: run benchmarks/run.sh first")
    names = [name for name in ORDER if name in results] + sorted(set(results) - set(ORDER))
    machine = results[names[0]]["machine"]
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items() if version)
    days = sorted({results[name]["measured_at"][:10] for name in names})
    print(f"Measured {' to '.join(dict.fromkeys((days[0], days[-1])))} on {machine['cpu']}, {machine['cores']} cores, "
          f"{machine['implementation']} {machine['python']}; {packages}\n")
    print(HEADER)
    for name in names:
        for row in results[name]["rows"]:
            print(Row(**row).markdown(name))


if __name__ == "__main__":
    main()
