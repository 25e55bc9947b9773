"""Rolling sums and moments over a fixed window, O(1) per value and free of drift.

A window sum kept by adding the new value and subtracting the oldest accumulates rounding error for
as long as the stream runs; Neumaier's compensated summation keeps it within about one ulp of the
exact sum however many values pass through. The variance comes from sliding Welford updates of the
sum of squared deviations (not from sum(x²) - n·mean², which cancels catastrophically when prices
are near 10⁴ and the window is a few ticks wide).

Every mutating method has a `peek` twin that answers "what if this value came next" without changing
anything: that is how an open candle is evaluated many times over the same closed state.

These run on every tick of every market, so the hot methods bind attributes to locals and call as
few Python functions as they can; the arithmetic, and its order, is what the tests pin.
"""

from __future__ import annotations

import math
from collections import deque


class _CompensatedWindow:
    """The last `size` values and their Neumaier-compensated sum: what both windows below share."""

    __slots__ = ("size", "_window", "_total", "_compensation")

    def __init__(self, size: int) -> None:
        self.size = size
        self._window: deque[float] = deque(maxlen=size)  # appending to a full window drops the oldest
        self._total = 0.0
        self._compensation = 0.0

    @property
    def count(self) -> int:
        return len(self._window)

    @property
    def full(self) -> bool:
        return len(self._window) == self.size

    @property
    def sum(self) -> float:
        return self._total + self._compensation

    def _shifted(self, value: float) -> tuple[float, float]:
        """The running total and its compensation after Neumaier's step for `value` in and, once the window
        is full, for the oldest value out. Written out: this is every windowed indicator's inner loop."""
        total, compensation = self._total, self._compensation
        new_total = total + value
        if abs(total) >= abs(value):
            compensation += (total - new_total) + value
        else:
            compensation += (value - new_total) + total
        window = self._window
        if len(window) == self.size:
            total, value = new_total, -window[0]
            new_total = total + value
            if abs(total) >= abs(value):
                compensation += (total - new_total) + value
            else:
                compensation += (value - new_total) + total
        return new_total, compensation


class RollingSum(_CompensatedWindow):
    """The sum of the last `size` values."""

    __slots__ = ()

    def push(self, value: float) -> float:
        """Take `value` (dropping the oldest once full); returns the new sum."""
        self._total, self._compensation = total, compensation = self._shifted(value)
        self._window.append(value)
        return total + compensation

    def peek(self, value: float) -> float:
        """The sum after `push(value)`."""
        total, compensation = self._shifted(value)
        return total + compensation


class RollingMoments(_CompensatedWindow):
    """Mean and sum of squared deviations (M2) of the last `size` values.

    A window of identical values reads exactly that value with M2 exactly 0 (the trailing run of equal
    values is counted, as pandas does): rounding would otherwise leave a spread of an ulp or so, and a
    ratio over that spread (a %B, a z-score) would be noise at full scale.
    """

    __slots__ = ("_m2", "_last", "_run")

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._m2 = 0.0
        self._last = math.nan  # no value yet (equal to none): an empty window's mean reads NaN
        self._run = 0  # how many of the latest values equal `_last`

    @property
    def mean(self) -> float:
        count = len(self._window)
        return self._last if self._run >= count else (self._total + self._compensation) / count

    @property
    def m2(self) -> float:
        return 0.0 if self._run >= len(self._window) else self._m2

    def push(self, value: float) -> tuple[float, float]:
        """Take `value` (dropping the oldest once full); returns the new (mean, M2), as `mean` and `m2`."""
        total, compensation, after, m2 = self._next(value)
        self._total, self._compensation, self._m2 = total, compensation, m2
        self._window.append(value)
        self._run = run = self._run + 1 if value == self._last else 1
        self._last = value
        return (value, 0.0) if run >= after else ((total + compensation) / after, m2)

    def peek(self, value: float) -> tuple[float, float]:
        """(mean, M2) after `push(value)`."""
        total, compensation, after, m2 = self._next(value)
        if (self._run + 1 if value == self._last else 1) >= after:
            return value, 0.0
        return (total + compensation) / after, m2

    def _next(self, value: float) -> tuple[float, float, int, float]:
        """The running total, its compensation, the count and M2 after `value` comes in."""
        window = self._window
        count = len(window)
        new_total, compensation = self._shifted(value)
        if count == 0:
            return new_total, compensation, 1, 0.0
        mean = (self._total + self._compensation) / count
        if count < self.size:  # Welford: M2 += (x - mean)(x - mean')
            after = count + 1
            m2 = self._m2 + (value - mean) * (value - (new_total + compensation) / after)
        else:  # `value` replaces the oldest: M2 += (x - x_old)(x - mean' + x_old - mean)
            after, oldest = count, window[0]
            m2 = self._m2 + (value - oldest) * (value - (new_total + compensation) / count + oldest - mean)
        if m2 < 0.0:  # rounding can dip a near-flat window's M2 just below zero
            m2 = 0.0
        return new_total, compensation, after, m2
