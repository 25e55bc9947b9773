"""NautilusTrader's compiled streaming EMA(20) + RSI(14) over the prices in a JSON file: nanoseconds per
tick, best of `repeat`, printed as JSON. Run by `bench_indicators` with the interpreter of a separate
virtualenv that has `nautilus_trader` (it is an optional comparison, never a dependency of the product):

    python -m venv /tmp/nt-venv && /tmp/nt-venv/bin/pip install nautilus_trader
    /tmp/nt-venv/bin/python benchmarks/nautilus_ema_rsi.py PRICES.json REPEAT

Standalone on purpose: that interpreter has none of the project's packages.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from importlib import metadata
from pathlib import Path


def ns_per_tick(warm_up: list[float], live: list[float], repeat: int) -> float:
    # imported here, after the arguments: `--help` works with any interpreter
    from nautilus_trader.indicators import ExponentialMovingAverage, RelativeStrengthIndex

    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeat):
            ema, rsi = ExponentialMovingAverage(20), RelativeStrengthIndex(14)
            for price in warm_up:
                ema.update_raw(price)
                rsi.update_raw(price)
            started = time.perf_counter_ns()
            for price in live:
                ema.update_raw(price)
                rsi.update_raw(price)
            best = min(best, time.perf_counter_ns() - started)
    finally:
        gc.enable()
    return best / len(live)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prices", type=Path, help='JSON: {"warm_up": [...], "live": [...]}')
    parser.add_argument("repeat", type=int)
    args = parser.parse_args(argv)
    try:
        metadata.version("nautilus_trader")
    except metadata.PackageNotFoundError:
        sys.exit(f"{sys.executable} has no nautilus_trader: run this with a virtualenv that has it (see --help)")
    prices = json.loads(args.prices.read_text())
    print(json.dumps({"ns_per_tick": ns_per_tick(prices["warm_up"], prices["live"], args.repeat),
                      "nautilus_trader": metadata.version("nautilus_trader"),
                      "python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
