"""Volatility measures, bar by bar: `update(...)` for a closed bar, `peek(...)` for the open one (no
state change); None while warming up."""

from __future__ import annotations

from math import log, sqrt
from typing import NamedTuple

from streams.signals.indicators.rolling import RollingMoments


class Bands(NamedTuple):
    upper: float
    middle: float
    lower: float


_tuple = tuple.__new__  # builds a NamedTuple at half the cost of its generated __new__ (the same object)


class BollingerBands:
    """SMA of the last `period` closes ± `width` population standard deviations (TA-Lib's BBANDS with
    its default SMA). TA-Lib derives the deviation from sum(x²) - n·mean², which loses digits; the
    rolling moments here do not, so the two agree to far below a tick."""

    __slots__ = ("period", "width", "_moments")

    def __init__(self, period: int, width: float) -> None:
        self.period = period
        self.width = width
        self._moments = RollingMoments(period)

    # The bands are written out in `update` and `peek`: this runs on every tick of every market.
    def update(self, x: float) -> Bands | None:
        moments = self._moments
        mean, m2 = moments.push(x)
        if not moments.full:
            return None
        deviation = self.width * sqrt(m2 / self.period)
        return _tuple(Bands, (mean + deviation, mean, mean - deviation))

    def peek(self, x: float) -> Bands | None:
        moments = self._moments
        if moments.count + 1 < self.period:
            return None
        mean, m2 = moments.peek(x)
        deviation = self.width * sqrt(m2 / self.period)
        return _tuple(Bands, (mean + deviation, mean, mean - deviation))


class Atr:
    """Wilder's average true range. True range starts on the second bar (it needs the previous close);
    the first ATR (on bar `period` + 1) is the mean of the first `period` true ranges, then
    atr = (atr·(period - 1) + tr) / period, in TA-Lib's order of operations."""

    __slots__ = ("period", "_count", "_previous_close", "_atr")

    def __init__(self, period: int) -> None:
        self.period = period
        self._count = 0  # true ranges seen
        self._previous_close: float | None = None
        self._atr = 0.0  # the sum over the seed true ranges, then the average

    def update(self, high: float, low: float, close: float) -> float | None:
        previous = self._previous_close
        if previous is not None:
            self._atr = self._next(previous, high, low)
            self._count += 1
        self._previous_close = close
        return self._atr if self._count >= self.period else None

    def peek(self, high: float, low: float, close: float) -> float | None:
        previous = self._previous_close
        if previous is None or self._count + 1 < self.period:
            return None
        return self._next(previous, high, low)

    def _next(self, previous: float, high: float, low: float) -> float:
        true_range = max(high - low, abs(previous - high), abs(previous - low))
        n = self.period
        if self._count < n:
            atr = self._atr + true_range
            return atr / n if self._count + 1 == n else atr
        return (self._atr * (n - 1) + true_range) / n


class RealisedVolatility:
    """Sample standard deviation of the last `period` log returns of the close, times
    sqrt(`bars_per_year`) to annualise it (1 gives the per-bar figure)."""

    __slots__ = ("period", "_scale", "_previous_close", "_returns")

    def __init__(self, period: int, bars_per_year: float = 1.0) -> None:
        self.period = period
        self._scale = sqrt(bars_per_year)
        self._previous_close: float | None = None
        self._returns = RollingMoments(period)

    def update(self, close: float) -> float | None:
        previous, self._previous_close = self._previous_close, close
        if previous is None:
            return None
        returns = self._returns
        m2 = returns.push(log(close / previous))[1]
        # sample deviation (n - 1), written out: this runs on every closed candle of every market
        return sqrt(m2 / (self.period - 1)) * self._scale if returns.full else None

    def peek(self, close: float) -> float | None:
        previous, returns = self._previous_close, self._returns
        if previous is None or returns.count + 1 < self.period:
            return None
        return sqrt(returns.peek(log(close / previous))[1] / (self.period - 1)) * self._scale
