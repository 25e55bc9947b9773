"""Micro-benchmark: what one indicator update costs per tick, against TA-Lib recomputing a window per
tick and against NautilusTrader's compiled streaming indicators.

Measured over one fixed random walk (no data files), in one run:
- each incremental indicator of `streams.signals.indicators`: `update` (a closed candle) and `peek` (the
  open candle, evaluated as if it closed now), ns per tick, warmed up on the first 500 prices;
- EMA(20) + RSI(14) kept incrementally versus TA-Lib recomputing both over the trailing 500-bar window on
  every tick (the usual way to get a live value out of TA-Lib), and versus NautilusTrader's EMA + RSI
  (`update_raw`) when `--nautilus-python` names an interpreter of a virtualenv that has `nautilus_trader`
  (an optional extra, run in its own process on the same prices: see `nautilus_ema_rsi.py`);
- one market's whole candle-indicator set per candle update (`MarketIndicators.on`: Decimal to
  float, every indicator, the snapshot), for scale.
Each variant is the best of `--repeat` runs with the garbage collector off, timed with perf_counter_ns.
Targets (issue 6): < 1 us per indicator update, >= 10x faster than the TA-Lib recompute.

    .venv/bin/python -m benchmarks.bench_indicators [--ticks 20000] [--repeat 5] [--nautilus-python PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

# runnable as a file too (python benchmarks/bench_indicators.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import talib

from benchmarks.report import RESULTS, Row, show, write
from streams.market.events import Candle
from streams.market.state import CandleUpdate
from streams.signals.config import SignalsConfig
from streams.signals.indicators import (
    Atr,
    BollingerBands,
    BookImbalance,
    Ema,
    Macd,
    MarketIndicators,
    RealisedVolatility,
    Rsi,
    Sma,
    Vwap,
)

WINDOW = 500
START = 1_721_952_000  # 2024-07-26T00:00:00Z
UPDATE_TARGET_NS = 1_000
TALIB_RATIO_TARGET = 10.0
NAUTILUS_SCRIPT = Path(__file__).with_name("nautilus_ema_rsi.py")


def random_walk(count: int, seed: int = 1) -> np.ndarray:
    rng = random.Random(seed)
    prices, price = [], 3000.0
    for _ in range(count):
        price *= math.exp(rng.gauss(0.0, 0.001))
        prices.append(round(price, 1))
    return np.array(prices)


def candle_update(minute: int, price: float) -> CandleUpdate:
    close = Decimal(str(price))
    started = datetime.fromtimestamp(START + 60 * minute, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    candle = Candle(startedAt=started, ticker="ETH-USD", resolution="1MIN", low=close - 1, high=close + 1,
                    open=close, close=close, baseTokenVolume=Decimal(2), usdVolume=close * 2, trades=3)
    return CandleUpdate(t=START + 60 * minute + 60, market="ETH-USD", resolution="1MIN", candle=candle, closed=True)


def best_ns_per_tick(run: Callable[..., None], ticks: int, repeat: int,
                     setup: Callable[[], Any] | None = None) -> float:
    """Best of `repeat` runs, the garbage collector off; with `setup`, each run is `run(setup())` and only
    `run` is timed."""
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            prepared = () if setup is None else (setup(),)
            start = time.perf_counter_ns()
            run(*prepared)
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return min(times) / ticks


class Tick:
    """One price tick in the shapes the indicators take: close, a high/low around it, volumes."""

    __slots__ = ("close", "high", "low", "quote", "base", "t", "imbalance")

    def __init__(self, i: int, close: float) -> None:
        self.close, self.high, self.low = close, close + 0.5 + (i % 3) * 0.1, close - 0.5 - (i % 5) * 0.1
        self.base = 1.0 + (i % 7) * 0.25
        self.quote = self.base * close
        self.t = float(i)
        self.imbalance = ((i * 37) % 200 - 100) / 100.0


# name -> (a fresh indicator, the arguments one tick gives it); MACD, BBANDS and ATR at TA-Lib's defaults
INDICATORS: dict[str, tuple[Callable[[], Any], Callable[[Tick], tuple[float, ...]]]] = {
    "EMA(20)": (lambda: Ema(20), lambda k: (k.close,)),
    "SMA(20)": (lambda: Sma(20), lambda k: (k.close,)),
    "RSI(14)": (lambda: Rsi(14), lambda k: (k.close,)),
    "MACD(12,26,9)": (lambda: Macd(12, 26, 9), lambda k: (k.close,)),
    "BBANDS(20,2)": (lambda: BollingerBands(20, 2.0), lambda k: (k.close,)),
    "ATR(14)": (lambda: Atr(14), lambda k: (k.high, k.low, k.close)),
    "VWAP(60)": (lambda: Vwap(60), lambda k: (k.quote, k.base)),
    "realised volatility(60)": (lambda: RealisedVolatility(60, 525_600), lambda k: (k.close,)),
    "book imbalance(10 s)": (lambda: BookImbalance(10.0), lambda k: (k.t, k.imbalance)),
}


def indicator_costs(warm_up: list[Tick], live: list[Tick], repeat: int) -> dict[str, dict[str, float]]:
    """ns per tick of each indicator's `update` (warmed up first, untimed), and of its `peek` where it has
    one (the candle indicators)."""
    costs = {}
    for name, (make, arguments) in INDICATORS.items():
        warm_args = [arguments(tick) for tick in warm_up]
        live_args = [arguments(tick) for tick in live]

        def warmed(make: Callable[[], Any] = make, warm_args: list[Any] = warm_args) -> Any:
            indicator = make()
            for args in warm_args:
                indicator.update(*args)
            return indicator

        def updating(indicator: Any, live_args: list[Any] = live_args) -> None:
            update = indicator.update
            for args in live_args:
                update(*args)

        costs[name] = {"update": best_ns_per_tick(updating, len(live), repeat, setup=warmed)}
        if hasattr(make(), "peek"):
            def peeking(indicator: Any, live_args: list[Any] = live_args) -> None:
                peek = indicator.peek
                for args in live_args:
                    peek(*args)

            costs[name]["peek"] = best_ns_per_tick(peeking, len(live), repeat, setup=warmed)
    return costs


def nautilus(python: str, warm_up: list[float], live: list[float], repeat: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as prices:
        json.dump({"warm_up": warm_up, "live": live}, prices)
        prices.flush()
        done = subprocess.run([python, str(NAUTILUS_SCRIPT), prices.name, str(repeat)], capture_output=True,
                              text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the NautilusTrader comparison failed with {python}:\n{done.stderr}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nautilus-python", metavar="PATH",
                        help="python of a virtualenv with nautilus_trader, for the optional comparison")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    prices = random_walk(WINDOW + args.ticks)
    warm_up, live = prices[:WINDOW].tolist(), prices[WINDOW:].tolist()
    ticks = [Tick(i, price) for i, price in enumerate(prices.tolist())]

    def incremental() -> None:
        ema, rsi = Ema(20), Rsi(14)
        for price in live:
            ema.update(price)
            rsi.update(price)

    ema, rsi = Ema(20), Rsi(14)
    for price in warm_up:
        ema.update(price)
        rsi.update(price)

    def peeking() -> None:
        for price in live:
            ema.peek(price)
            rsi.peek(price)

    def talib_window() -> None:
        for end in range(WINDOW, WINDOW + args.ticks):
            window = prices[end - WINDOW + 1: end + 1]
            talib.EMA(window, 20)[-1]
            talib.RSI(window, 14)[-1]

    candles = [candle_update(i, price) for i, price in enumerate(live)]

    def whole_market() -> None:
        market = MarketIndicators("ETH-USD", SignalsConfig())
        for update in candles:
            market.on(update)

    update, peek, recompute = (best_ns_per_tick(run, args.ticks, args.repeat)
                               for run in (incremental, peeking, talib_window))
    market_ns = best_ns_per_tick(whole_market, args.ticks, args.repeat)
    costs = indicator_costs(ticks[:WINDOW], ticks[WINDOW:], args.repeat)
    compiled = nautilus(args.nautilus_python, warm_up, live, args.repeat) if args.nautilus_python else None

    slowest = max(costs, key=lambda name: max(costs[name].values()))
    slowest_ns = max(costs[slowest].values())
    rows = [Row(f"{name} update / peek (ns per tick)", " / ".join(f"{ns:.0f}" for ns in cost.values()))
            for name, cost in costs.items()]
    rows += [
        Row("slowest indicator update or peek (ns)", f"{slowest_ns:.0f} ({slowest})",
            f"< {UPDATE_TARGET_NS:,} ns", slowest_ns < UPDATE_TARGET_NS),
        Row("EMA(20) + RSI(14) incremental update (ns per tick)", f"{update:.0f}"),
        Row("EMA(20) + RSI(14) incremental peek, open candle (ns per tick)", f"{peek:.0f}"),
        Row(f"EMA(20) + RSI(14) TA-Lib over the last {WINDOW} bars (ns per tick)", f"{recompute:.0f}"),
        Row("TA-Lib recompute / incremental update", f"{recompute / update:.1f}x", f">= {TALIB_RATIO_TARGET:g}x",
            recompute / update >= TALIB_RATIO_TARGET),
    ]
    if compiled is not None:
        rows += [Row(f"EMA(20) + RSI(14) NautilusTrader {compiled['nautilus_trader']} (ns per tick)",
                     f"{compiled['ns_per_tick']:.0f}"),
                 Row("incremental update / NautilusTrader", f"{update / compiled['ns_per_tick']:.1f}x")]
    else:
        rows.append(Row("EMA(20) + RSI(14) NautilusTrader", "not run (no --nautilus-python)"))
    rows.append(Row("one market's candle indicators per candle update (ns)", f"{market_ns:.0f}"))
    write("indicators", method=__doc__, rows=rows, out=args.out or RESULTS, figures={
        "ticks": args.ticks, "repeat": args.repeat, "window": WINDOW,
        "talib": f"TA-Lib {talib.__ta_version__.decode().split()[0]} (python-talib {talib.__version__})",
        "per_indicator_ns": costs,
        "ema_rsi_ns": {"incremental_update": update, "incremental_peek": peek, "talib_window": recompute,
                       "nautilus_trader": None if compiled is None else compiled["ns_per_tick"]},
        "nautilus_trader": compiled, "market_indicators_ns_per_candle": market_ns,
    })
    show("indicators", rows)


if __name__ == "__main__":
    main()
