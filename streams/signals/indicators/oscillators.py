"""Oscillators, bar by bar, with TA-Lib's seeding and arithmetic: `update(x)` for a closed bar,
`peek(x)` for the open one (no state change); None while warming up."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from streams.signals.indicators.averages import Ema


class Rsi:
    """Wilder's relative strength index. The average gain and loss are seeded with the plain means of
    the first `period` changes (first value at input `period` + 1), then smoothed as
    avg = (avg·(period - 1) + change) / period.

    One deliberate difference from TA-Lib: it treats avg gain + avg loss below 1e-8 as zero and then
    reports 0 (fully oversold). That absolute threshold misreads markets priced far below a dollar
    (PEPE-USD trades near 1e-5), so here only a window with no change at all is special, and it reads
    a neutral 50.
    """

    __slots__ = ("period", "_n", "_keep", "_count", "_previous", "_gain", "_loss")

    def __init__(self, period: int) -> None:
        self.period = period
        self._n = float(period)  # the same numbers as floats: the steady step then divides float by float
        self._keep = float(period - 1)
        self._count = 0  # changes seen, counted until the seed is complete
        self._previous: float | None = None
        self._gain = 0.0  # the sum over the seed changes, then Wilder's average
        self._loss = 0.0

    # Once seeded, Wilder's step avg = (avg·(period - 1) + change) / period is written out in `update` and
    # `peek`: it is the cost of every tick, and a call would add a third to it.
    def update(self, x: float) -> float | None:
        previous, self._previous = self._previous, x
        if previous is None:  # the first input: no change yet
            return None
        if self._count < self.period:
            self._count, self._gain, self._loss = count, gain, loss = self._seeded(x - previous)
            if count < self.period:
                return None
        else:
            gain, loss = self._gain * self._keep, self._loss * self._keep
            change = x - previous
            if change < 0:
                loss -= change
            else:
                gain += change
            self._gain = gain = gain / self._n
            self._loss = loss = loss / self._n
        total = gain + loss
        return 100.0 * (gain / total) if total else 50.0

    def peek(self, x: float) -> float | None:
        previous = self._previous
        if previous is None:
            return None
        if self._count < self.period:
            count, gain, loss = self._seeded(x - previous)
            if count < self.period:
                return None
        else:
            gain, loss = self._gain * self._keep, self._loss * self._keep
            change = x - previous
            if change < 0:
                loss -= change
            else:
                gain += change
            gain /= self._n
            loss /= self._n
        total = gain + loss
        return 100.0 * (gain / total) if total else 50.0

    def _seeded(self, change: float) -> tuple[int, float, float]:
        """(changes seen, gain, loss) after `change` while seeding: sums, which become means once the seed
        is complete."""
        gain, loss = self._gain, self._loss
        if change < 0:
            loss -= change
        else:
            gain += change
        count = self._count + 1
        if count == self.period:
            gain /= self._n
            loss /= self._n
        return count, gain, loss


class MacdValue(NamedTuple):
    macd: float
    signal: float
    histogram: float


_tuple = tuple.__new__  # builds a NamedTuple at half the cost of its generated __new__ (the same object)


class Macd:
    """MACD line (fast EMA - slow EMA), its signal EMA and the histogram (line - signal).

    TA-Lib aligns the two EMAs: the fast one skips the first `slow - fast` inputs, so both are seeded
    to end on the same bar (input `slow`). The signal EMA is seeded on the first `signal` line values,
    and nothing is reported before it exists (first value at input slow + signal - 1), as in TA-Lib.
    """

    __slots__ = ("_fast", "_slow", "_signal", "_lag", "_count")

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        if not fast < slow:
            raise ValueError(f"the fast period ({fast}) must be shorter than the slow one ({slow})")
        self._fast = Ema(fast)
        self._slow = Ema(slow)
        self._signal = Ema(signal)
        self._lag = slow - fast
        self._count = 0

    def update(self, x: float) -> MacdValue | None:
        fast = self._fast.update(x) if self._count >= self._lag else None
        slow = self._slow.update(x)
        self._count += 1
        return self._combine(fast, slow, self._signal.update)

    def peek(self, x: float) -> MacdValue | None:
        fast = self._fast.peek(x) if self._count >= self._lag else None
        return self._combine(fast, self._slow.peek(x), self._signal.peek)

    @staticmethod
    def _combine(
        fast: float | None, slow: float | None, signal_step: Callable[[float], float | None]
    ) -> MacdValue | None:
        if fast is None or slow is None:
            return None
        line = fast - slow
        signal = signal_step(line)
        return None if signal is None else _tuple(MacdValue, (line, signal, line - signal))
