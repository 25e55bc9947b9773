"""Volume-weighted average price over a rolling window of bars."""

from __future__ import annotations

from streams.signals.indicators.rolling import RollingSum


class Vwap:
    """Sum of quote volume / sum of base volume over the last `period` bars. A dYdX candle carries both
    (`usdVolume`, `baseTokenVolume`), so this is the exact price of every trade in the window rather
    than the usual typical-price approximation. None while warming up or when nothing traded."""

    __slots__ = ("period", "_quote", "_base")

    def __init__(self, period: int) -> None:
        self.period = period
        self._quote = RollingSum(period)
        self._base = RollingSum(period)

    def update(self, quote_volume: float, base_volume: float) -> float | None:
        quote, base = self._quote.push(quote_volume), self._base.push(base_volume)
        return self._price(quote, base) if self._base.full else None

    def peek(self, quote_volume: float, base_volume: float) -> float | None:
        if self._base.count + 1 < self.period:
            return None
        return self._price(self._quote.peek(quote_volume), self._base.peek(base_volume))

    @staticmethod
    def _price(quote: float, base: float) -> float | None:
        return quote / base if base > 0 else None
