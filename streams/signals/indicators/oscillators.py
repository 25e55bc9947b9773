"""Oscillators, bar by bar, with TA-Lib's seeding and arithmetic: `update(x)` for a closed bar,
`peek(x)` for the open one (no state change); None while warming up."""

from __future__ import annotations

from typing import Callable, NamedTuple

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

    __slots__ = ("period", "_count", "_previous", "_gain", "_loss")

    def __init__(self, period: int) -> None:
        self.period = period
        self._count = 0  # changes seen
        self._previous: float | None = None
        self._gain = 0.0  # the sum over the seed changes, then Wilder's average
        self._loss = 0.0

    def update(self, x: float) -> float | None:
        if self._previous is not None:
            self._gain, self._loss = self._averages(x)
            self._count += 1
        self._previous = x
        return self._value(self._count, self._gain, self._loss)

    def peek(self, x: float) -> float | None:
        if self._previous is None:
            return None
        return self._value(self._count + 1, *self._averages(x))

    def _averages(self, x: float) -> tuple[float, float]:
        change = x - self._previous
        gain, loss = self._gain, self._loss
        n = self.period
        if self._count >= n:
            gain *= n - 1
            loss *= n - 1
        if change < 0:
            loss -= change
        else:
            gain += change
        if self._count + 1 >= n:  # the seed sum becomes a mean, a smoothed sum becomes an average again
            gain /= n
            loss /= n
        return gain, loss

    def _value(self, count: int, gain: float, loss: float) -> float | None:
        if count < self.period:
            return None
        total = gain + loss
        return 100.0 * (gain / total) if total else 50.0


class MacdValue(NamedTuple):
    macd: float
    signal: float
    histogram: float


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
        return None if signal is None else MacdValue(line, signal, line - signal)
