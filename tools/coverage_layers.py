"""Print statement+branch coverage per layer from `.coverage`; exit 1 under `--fail-under` overall."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "kernel": "streams/kernel/",
    "sources": "streams/sources/",
    "market": "streams/market/",
    "signals": "streams/signals/",
    "strategy": "streams/strategy/",
    "risk": "streams/risk/",
    "execution": "streams/execution/",
    "graph": "streams/",  # the graph's wiring and the root config (streams/*.py); after the sub-packages above
    "app": "app/",
    "widgets": "widgets/",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fail-under", type=float, default=0.0)
    args = parser.parse_args()
    cov = coverage.Coverage()
    cov.load()
    data = cov.get_data()
    totals = {layer: [0, 0] for layer in LAYERS}  # covered, coverable (statements + branches)
    for path in data.measured_files():
        try:
            rel = Path(path).resolve().relative_to(ROOT).as_posix()  # wherever the clone is
        except ValueError:  # not the project's own code
            continue
        analysis = cov._analyze(path)  # noqa: SLF001 - the public API only prints reports
        numbers = analysis.numbers
        covered = numbers.n_executed + numbers.n_executed_branches
        coverable = numbers.n_statements + numbers.n_branches
        for layer, prefix in LAYERS.items():
            if rel.startswith(prefix):
                totals[layer][0] += covered
                totals[layer][1] += coverable
                break
    all_covered = sum(c for c, _ in totals.values())
    all_coverable = sum(n for _, n in totals.values())
    print("\ncoverage per layer (statements + branches)")
    for layer, (covered, coverable) in totals.items():
        pct = 100.0 * covered / coverable if coverable else 100.0
        print(f"  {layer:<10} {pct:6.1f} %  ({covered}/{coverable})")
    overall = 100.0 * all_covered / all_coverable if all_coverable else 100.0
    print(f"  {'overall':<10} {overall:6.1f} %")
    if overall < args.fail_under:
        print(f"coverage {overall:.1f} % is under {args.fail_under:.0f} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
