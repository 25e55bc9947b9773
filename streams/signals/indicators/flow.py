"""Indicators of order flow and positioning that do not follow candles: the order-book imbalance
(every book update) and the funding-rate z-score (hourly funding ticks)."""

from __future__ import annotations

import math

from streams.signals.indicators.rolling import RollingMoments

HOUR = 3600.0


class BookImbalance:
    """Time-weighted exponential average of the top-of-book imbalance, with a half-life in seconds of
    event time. A reading holds until the next one, so it is weighted by how long it held: over dt
    the average moves toward the level that held by 1 - 2^(-dt / half_life). A half-life of 0 gives
    the latest reading as is."""

    __slots__ = ("half_life", "_t", "_level", "value")

    def __init__(self, half_life: float) -> None:
        self.half_life = half_life
        self._t = 0.0  # read only once `value` is set, which sets it too
        self._level = 0.0
        self.value: float | None = None

    def update(self, t: float, imbalance: float) -> float:
        if self.value is None or self.half_life == 0:
            self.value = imbalance
        else:
            decay = 0.5 ** (max(t - self._t, 0.0) / self.half_life)
            self.value = self._level + (self.value - self._level) * decay
        self._t = t
        self._level = imbalance
        return self.value


class FundingZScore:
    """How unusual the current hourly funding rate is against the last `window` settled hourly rates:
    (rate - mean) / population standard deviation; a window without variation reads 0 (no evidence
    either way). None until `window` rates have settled.

    Settled rates come from the funding history (`settle`: the rate paid at a funding tick) and from the
    live estimate (`observe`): the last estimate seen within an hour is the rate paid at the tick that
    ends it. Each tick is counted once, so history and live data may overlap; history must come first.
    """

    __slots__ = ("_settled", "_last_tick", "_hour", "rate")

    def __init__(self, window: int) -> None:
        self._settled = RollingMoments(window)
        self._last_tick: int | None = None
        self._hour: int | None = None  # the hour of the latest live estimate
        self.rate: float | None = None  # the latest live estimate

    def observe(self, t: float, rate: float) -> None:
        hour = math.floor(t / HOUR)
        if self._hour is not None and hour > self._hour and self.rate is not None:  # (both set together)
            self._settle_tick(self._hour + 1, self.rate)
        if self._hour is None or hour >= self._hour:
            self._hour = hour
            self.rate = rate

    def settle(self, t: float, rate: float) -> None:
        self._settle_tick(math.floor(t / HOUR), rate)

    @property
    def zscore(self) -> float | None:
        if self.rate is None or not self._settled.full:
            return None
        deviation = math.sqrt(self._settled.m2 / self._settled.count)
        return (self.rate - self._settled.mean) / deviation if deviation > 0 else 0.0

    def _settle_tick(self, tick: int, rate: float) -> None:
        if self._last_tick is None or tick > self._last_tick:
            self._settled.push(rate)
            self._last_tick = tick
