"""Moving averages, bar by bar. `update(x)` takes a closed bar's value and returns the average (None
while warming up); `peek(x)` returns what `update(x)` would without changing the state."""

from __future__ import annotations

from streams.signals.indicators.rolling import RollingSum


class Sma:
    """Simple moving average of the last `period` values; first value at the `period`-th input."""

    __slots__ = ("period", "_sum")

    def __init__(self, period: int) -> None:
        self.period = period
        self._sum = RollingSum(period)

    def update(self, x: float) -> float | None:
        sums = self._sum
        total = sums.push(x)
        return total / self.period if sums.full else None

    def peek(self, x: float) -> float | None:
        sums = self._sum
        if sums.count + 1 < self.period:
            return None
        return sums.peek(x) / self.period


class Ema:
    """Exponential moving average as TA-Lib computes it: the first value (at the `period`-th input) is
    the SMA of the first `period` inputs, then each input moves it by k = 2 / (period + 1). The
    operations are TA-Lib's, in its order, so the values are the same to the last bit."""

    __slots__ = ("period", "_k", "_count", "_seed", "value")

    def __init__(self, period: int) -> None:
        self.period = period
        self._k = 2.0 / (period + 1)
        self._count = 0  # inputs seen while seeding
        self._seed = 0.0
        self.value: float | None = None

    # The step is written out in `update` and `peek` (a call would cost as much as the step itself).
    def update(self, x: float) -> float | None:
        value = self.value
        if value is not None:
            self.value = value = ((x - value) * self._k) + value
            return value
        self._seed += x
        self._count += 1
        if self._count == self.period:
            self.value = self._seed / self.period
        return self.value

    def peek(self, x: float) -> float | None:
        value = self.value
        if value is not None:
            return ((x - value) * self._k) + value
        return (self._seed + x) / self.period if self._count + 1 == self.period else None
