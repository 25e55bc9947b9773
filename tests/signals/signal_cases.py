"""Price series, indicator cases with their oracles (TA-Lib, or numpy where TA-Lib has no such
indicator) and event factories, shared by the signal tests."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import numpy as np
import talib
from numpy.lib.stride_tricks import sliding_window_view

from streams.market.events import Candle
from streams.market.state import BookTop, CandleUpdate, MarketInfo
from streams.signals.indicators import Atr, Bar, BollingerBands, Ema, Macd, RealisedVolatility, Rsi, Sma, Vwap
from tests.support import builders

ETH_CANDLES = "nautilus-2024/ws/v4_candles.json"
MINUTES_PER_YEAR = 365 * 24 * 60
FRACTIONS = (0.0, 0.4, 0.9)  # how far through its minute each update of an open candle comes
T0 = 1_721_956_680.0  # 2024-07-26T01:18:00Z, the oldest real ETH-USD candle


def eth_candles(samples_dir: Path) -> list[Candle]:
    """The 1000 real ETH-USD 1MIN candles of the sample, oldest first (the indexer sends newest first)."""
    data = json.loads((samples_dir / ETH_CANDLES).read_text())
    return msgspec.convert(data["contents"]["candles"], list[Candle])[::-1]


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def synthetic_candles(n: int = 1000, seed: int = 7, market: str = "BTC-USD", price: float = 60_000.0,
                      tick: str = "1") -> list[Candle]:
    """A seeded random walk of 1MIN candles from T0, prices rounded to `tick`."""
    rng = random.Random(seed)
    step = Decimal(tick)
    close = Decimal(price).quantize(step)
    candles = []
    for i in range(n):
        open_ = close
        close = (open_ * Decimal(math.exp(rng.gauss(0, 0.0015)))).quantize(step)
        high = max(open_, close) + step * rng.randrange(0, 30)
        low = min(open_, close) - step * rng.randrange(0, 30)
        base = Decimal(rng.randrange(0, 5000)) / 100  # now and then a candle without trades
        quote = (base * (high + low) / 2).quantize(Decimal("0.0001"))
        candles.append(Candle(startedAt=iso(T0 + 60 * i), ticker=market, resolution="1MIN", low=low, high=high,
                              open=open_, close=close, baseTokenVolume=base, usdVolume=quote,
                              trades=rng.randrange(0, 50)))
    return candles


def forming(candle: Candle, fraction: float) -> Candle:
    """`candle` while it was still open: trading so far has reached `fraction` of its range and volume."""
    def part(start: Decimal, end: Decimal) -> Decimal:
        return start + (end - start) * Decimal(str(fraction))

    close = part(candle.open, candle.close)
    return msgspec.structs.replace(
        candle, high=max(candle.open, close, part(candle.open, candle.high)),
        low=min(candle.open, close, part(candle.open, candle.low)), close=close,
        baseTokenVolume=candle.baseTokenVolume * Decimal(str(fraction)),
        usdVolume=candle.usdVolume * Decimal(str(fraction)))


class Series(NamedTuple):
    """Bars as columns, the way the oracles take them."""

    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    quote: np.ndarray
    base: np.ndarray

    @classmethod
    def of(cls, bars: list[Bar]) -> Series:
        return cls(*(np.array(column, dtype=float) for column in zip(*bars, strict=False)))

    def then(self, count: int, bar: Bar) -> Series:
        """The first `count` bars followed by `bar`."""
        return Series(*(np.append(column[:count], value) for column, value in zip(self, bar, strict=False)))


# -- oracles where TA-Lib has no equivalent: straightforward numpy over every window


def _windows(values: np.ndarray, n: int, reduce: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= n:
        out[n - 1:] = reduce(sliding_window_view(values, n))
    return out


def numpy_vwap(s: Series, n: int) -> np.ndarray:
    quote = _windows(s.quote, n, lambda w: w.sum(axis=1))
    base = _windows(s.base, n, lambda w: w.sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, quote / base, np.nan)


def numpy_volatility(s: Series, n: int, bars_per_year: float) -> np.ndarray:
    returns = np.log(s.close[1:] / s.close[:-1])
    out = np.full(len(s.close), np.nan)
    out[1:] = _windows(returns, n, lambda w: w.std(axis=1, ddof=1)) * math.sqrt(bars_per_year)
    return out


@dataclass(frozen=True)
class Case:
    """An indicator, how a bar feeds it, and the oracle's full-series output (NaN while warming up)."""

    name: str
    make: Callable[[], Any]
    inputs: Callable[[Bar], tuple[float, ...]]
    oracle: Callable[[Series], np.ndarray]
    pick: Callable[[Any], float] = lambda value: value

    def __repr__(self) -> str:
        return self.name


def _close(bar: Bar) -> tuple[float, ...]:
    return (bar.close,)


def _hlc(bar: Bar) -> tuple[float, ...]:
    return bar.high, bar.low, bar.close


def _volumes(bar: Bar) -> tuple[float, ...]:
    return bar.quote_volume, bar.base_volume


CASES = [
    *(Case(f"SMA({n})", lambda n=n: Sma(n), _close, lambda s, n=n: talib.SMA(s.close, n)) for n in (2, 20, 50)),
    *(Case(f"EMA({n})", lambda n=n: Ema(n), _close, lambda s, n=n: talib.EMA(s.close, n)) for n in (2, 20, 50)),
    *(Case(f"RSI({n})", lambda n=n: Rsi(n), _close, lambda s, n=n: talib.RSI(s.close, n)) for n in (2, 14, 30)),
    *(Case(f"MACD{p}.{field}", lambda p=p: Macd(*p), _close, lambda s, p=p, i=i: talib.MACD(s.close, *p)[i],
           lambda v, field=field: getattr(v, field))
      for p in ((12, 26, 9), (5, 13, 4), (2, 3, 2))
      for i, field in enumerate(("macd", "signal", "histogram"))),
    *(Case(f"BBANDS({n},{k}).{field}", lambda n=n, k=k: BollingerBands(n, k), _close,
           lambda s, n=n, k=k, i=i: talib.BBANDS(s.close, n, k, k)[i], lambda v, field=field: getattr(v, field))
      for n, k in ((20, 2.0), (5, 1.5))
      for i, field in enumerate(("upper", "middle", "lower"))),
    *(Case(f"ATR({n})", lambda n=n: Atr(n), _hlc, lambda s, n=n: talib.ATR(s.high, s.low, s.close, n))
      for n in (2, 14)),
    *(Case(f"VWAP({n})", lambda n=n: Vwap(n), _volumes, lambda s, n=n: numpy_vwap(s, n)) for n in (5, 60)),
    *(Case(f"RV({n},{per})", lambda n=n, per=per: RealisedVolatility(n, per), _close,
           lambda s, n=n, per=per: numpy_volatility(s, n, per))
      for n, per in ((5, 1.0), (60, MINUTES_PER_YEAR))),
]


def run(case: Case, bars: list[Bar]) -> np.ndarray:
    """The indicator fed every bar as closed: its series, NaN while warming up."""
    indicator = case.make()
    return np.array([_number(case, indicator.update(*case.inputs(bar))) for bar in bars])


def _number(case: Case, value: Any) -> float:
    return math.nan if value is None else case.pick(value)


def assert_matches(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-9) -> None:
    """Same warm-up (NaN at the same places) and the same values to `rtol` relative."""
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg="warm-up differs")
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0, equal_nan=True)


# -- market-state events


def candle_updates(candles: list[Candle], forming_steps: tuple[float, ...] = ()) -> list[CandleUpdate]:
    """Each candle as the market-state layer emits it: open updates at `forming_steps` of the way
    through the minute, then closed at its end."""
    out = []
    for candle in candles:
        start = datetime.fromisoformat(candle.startedAt).timestamp()
        for fraction in forming_steps:
            out.append(CandleUpdate(t=start + 60 * fraction, market=candle.ticker, resolution=candle.resolution,
                                    candle=forming(candle, fraction), closed=False))
        out.append(CandleUpdate(t=start + 60, market=candle.ticker, resolution=candle.resolution, candle=candle,
                                closed=True))
    return out


def book_top(market: str, t: float, imbalance: float | None) -> BookTop:
    return BookTop(t=t, market=market, bids=(), asks=(), mid=None, spread=None, imbalance=imbalance)


def market_info(market: str, t: float, funding_rate: str | None) -> MarketInfo:
    return builders.market_info(market, t, next_funding_rate=funding_rate, open_interest=None,
                                open_interest_lower_cap=None, open_interest_upper_cap=None)
