"""Micro-benchmark: nanoseconds per price tick for EMA(20) + RSI(14), kept incrementally by
`streams.signals.indicators` versus TA-Lib recomputing both over the trailing 500-bar window on every
tick (the usual way to get a live value out of TA-Lib). Also the incremental intra-candle `peek`, and
one market's whole candle-indicator set per candle update, for scale.

Method: a fixed random walk (no data files needed); each variant runs over the same ticks, best of
`--repeat` runs with the garbage collector off, timed with perf_counter_ns. Not a test: numbers depend
on the machine, which is printed with them.

    .venv/bin/python -m benchmarks.bench_indicators [--ticks 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import random
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable

import numpy as np
import talib

from streams.market.events import Candle
from streams.market.state import CandleUpdate
from streams.signals.config import SignalsConfig
from streams.signals.indicators import Ema, MarketIndicators, Rsi

WINDOW = 500
START = 1_721_952_000  # 2024-07-26T00:00:00Z


def random_walk(count: int, seed: int = 1) -> np.ndarray:
    rng = random.Random(seed)
    prices, price = [], 3000.0
    for _ in range(count):
        price *= math.exp(rng.gauss(0.0, 0.001))
        prices.append(round(price, 1))
    return np.array(prices)


def candle_update(minute: int, price: float) -> CandleUpdate:
    close = Decimal(str(price))
    started = datetime.fromtimestamp(START + 60 * minute, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    candle = Candle(startedAt=started, ticker="ETH-USD", resolution="1MIN", low=close - 1, high=close + 1,
                    open=close, close=close, baseTokenVolume=Decimal(2), usdVolume=close * 2, trades=3)
    return CandleUpdate(t=START + 60 * minute + 60, market="ETH-USD", resolution="1MIN", candle=candle, closed=True)


def best_ns_per_tick(run: Callable[[], None], ticks: int, repeat: int) -> float:
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            start = time.perf_counter_ns()
            run()
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return min(times) / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prices = random_walk(WINDOW + args.ticks)
    live = prices[WINDOW:].tolist()

    def incremental() -> None:
        ema, rsi = Ema(20), Rsi(14)
        for price in live:
            ema.update(price)
            rsi.update(price)

    ema, rsi = Ema(20), Rsi(14)
    for price in prices[:WINDOW].tolist():
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
            market.on_candle(update)

    update, peek, recompute = (best_ns_per_tick(run, args.ticks, args.repeat)
                               for run in (incremental, peeking, talib_window))
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"TA-Lib {talib.__ta_version__.decode().split()[0]} (python-talib {talib.__version__}); "
          f"{args.ticks} ticks, best of {args.repeat}")
    print("EMA(20) + RSI(14), ns per tick:")
    for label, figure in [("incremental update (closed candle)", f"{update:.0f}"),
                          ("incremental peek (open candle)", f"{peek:.0f}"),
                          (f"TA-Lib over the last {WINDOW} bars", f"{recompute:.0f}"),
                          ("TA-Lib window / incremental update", f"{recompute / update:.1f}x")]:
        print(f"  {label:<36} {figure:>9}")
    market_ns = best_ns_per_tick(whole_market, args.ticks, args.repeat)
    print(f"one market's candle indicators (MarketIndicators.on_candle: Decimal to float, EMA, SMA, RSI, MACD,\n"
          f"BBANDS, ATR, VWAP, realised volatility, snapshot), ns per candle update: {market_ns:.0f}")


if __name__ == "__main__":
    main()
