"""Rolling sums and moments over a fixed window, O(1) per value and free of drift.

A window sum kept by adding the new value and subtracting the oldest accumulates rounding error for
as long as the stream runs; Neumaier's compensated summation keeps it within about one ulp of the
exact sum however many values pass through. The variance comes from sliding Welford updates of the
sum of squared deviations (not from sum(x²) - n·mean², which cancels catastrophically when prices
are near 10⁴ and the window is a few ticks wide).

Every mutating method has a `peek` twin that answers "what if this value came next" without changing
anything: that is how an open candle is evaluated many times over the same closed state.
"""

from __future__ import annotations

from collections import deque


class RollingSum:
    """The sum of the last `size` values."""

    __slots__ = ("size", "_window", "_total", "_compensation")

    def __init__(self, size: int) -> None:
        self.size = size
        self._window: deque[float] = deque()
        self._total = 0.0
        self._compensation = 0.0

    @property
    def count(self) -> int:
        return len(self._window)

    @property
    def full(self) -> bool:
        return len(self._window) == self.size

    @property
    def oldest(self) -> float | None:
        """The value the next push drops, if the window is full."""
        return self._window[0] if len(self._window) == self.size else None

    @property
    def sum(self) -> float:
        return self._total + self._compensation

    def push(self, value: float) -> float:
        """Take `value` (dropping the oldest once full); returns the new sum."""
        self._total, self._compensation = total, compensation = self._shifted(value)
        window = self._window
        window.append(value)
        if len(window) > self.size:
            window.popleft()
        return total + compensation

    def peek(self, value: float) -> float:
        """The sum after `push(value)`."""
        total, compensation = self._shifted(value)
        return total + compensation

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


class RollingMoments:
    """Mean and sum of squared deviations (M2) of the last `size` values.

    A window of identical values reads exactly that value with M2 exactly 0 (the trailing run of equal
    values is counted, as pandas does): rounding would otherwise leave a spread of an ulp or so, and a
    ratio over that spread (a %B, a z-score) would be noise at full scale.
    """

    __slots__ = ("_sum", "_m2", "_last", "_run")

    def __init__(self, size: int) -> None:
        self._sum = RollingSum(size)
        self._m2 = 0.0
        self._last: float | None = None
        self._run = 0  # how many of the latest values equal `_last`

    @property
    def count(self) -> int:
        return self._sum.count

    @property
    def full(self) -> bool:
        return self._sum.full

    @property
    def mean(self) -> float:
        return self._last if self._run >= self._sum.count else self._sum.sum / self._sum.count

    @property
    def m2(self) -> float:
        return 0.0 if self._run >= self._sum.count else self._m2

    def push(self, value: float) -> tuple[float, float]:
        """Take `value` (dropping the oldest once full); returns the new (mean, M2), as `mean` and `m2`."""
        sums = self._sum
        count, total, oldest = sums.count, sums.sum, sums.oldest
        new_total = sums.push(value)
        self._m2 = m2 = self._next_m2(value, new_total, count, total, oldest)
        self._run = run = self._next_run(value)
        self._last = value
        after = count if oldest is not None else count + 1
        return (value, 0.0) if run >= after else (new_total / after, m2)

    def peek(self, value: float) -> tuple[float, float]:
        """(mean, M2) after `push(value)`."""
        sums = self._sum
        count = sums.count
        after = count if count == sums.size else count + 1
        if self._next_run(value) >= after:
            return value, 0.0
        new_total = sums.peek(value)
        return new_total / after, self._next_m2(value, new_total, count, sums.sum, sums.oldest)

    def _next_run(self, value: float) -> int:
        return self._run + 1 if value == self._last else 1

    def _next_m2(self, value: float, new_total: float, count: int, total: float, oldest: float | None) -> float:
        """M2 after `value` comes in, from the window before it: `count` values summing to `total`, of
        which `oldest` leaves (None: none does); `new_total` is the sum after."""
        if count == 0:
            return 0.0
        mean = total / count
        if oldest is None:  # Welford: M2 += (x - mean)(x - mean')
            m2 = self._m2 + (value - mean) * (value - new_total / (count + 1))
        else:  # `value` replaces the oldest: M2 += (x - x_old)(x - mean' + x_old - mean)
            m2 = self._m2 + (value - oldest) * (value - new_total / count + oldest - mean)
        return max(m2, 0.0)  # rounding can dip a near-flat window's M2 just below zero
