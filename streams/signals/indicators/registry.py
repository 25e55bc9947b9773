"""Every indicator, one entry each: its name, how it is made from the config, what it reads, the snapshot
values it fills and, when it has one, the score contributor that reads them. The snapshot keys, the
construction and evaluation of a market's indicators and the scoring are all derived from `INDICATORS`.

Bar indicators (`feed="bar"`) advance on closed candles and `peek` at the open one; `read(step, bar)` calls
the bound `update` or `peek` with the bar fields it needs and returns its values in the order of `values`.
The book and funding indicators are fed by the events of their kind (`MarketIndicators` knows how) and
`read(indicator)` returns their current values.

A contributor turns a snapshot's values into one reading and its momentum value in [-1, 1] (positive =
pressure upwards); scoring then signs it by its configured direction (mean_reversion fades the reading):

| contributor | reading                                   | momentum value         |
|-------------|-------------------------------------------|------------------------|
| rsi         | RSI, 0..100                               | (rsi - 50) / 50        |
| macd        | MACD histogram in ATRs                    | tanh(reading / scale)  |
| bollinger   | %B = (close - lower) / (upper - lower)    | clip(2·%B - 1, -1, 1)  |
| vwap        | (close - VWAP) in ATRs                    | tanh(reading / scale)  |
| imbalance   | book imbalance (bids - asks) / total      | reading                |
| funding     | funding-rate z-score (longs pay when > 0) | tanh(reading / scale)  |

A ratio over a zero range (flat bands, zero ATR) reads as neutral. A contributor's name is its
indicator's, and the key of its field in the `weights` and `directions` config tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

from streams.signals.config import IndicatorParams, Scales
from streams.signals.indicators.averages import Ema, Sma
from streams.signals.indicators.flow import BookImbalance, FundingZScore
from streams.signals.indicators.oscillators import Macd, Rsi
from streams.signals.indicators.volatility import Atr, BollingerBands, RealisedVolatility
from streams.signals.indicators.volume import Vwap

Values = Mapping[str, float | None]
Reading = tuple[float | None, float | None]
"""A contributor's (reading, momentum value); both None while its indicator warms up."""
ContributorRule = Callable[[Values, Scales], Reading]
"""How a contributor reads a snapshot's values."""
Feed = Literal["bar", "book", "funding"]


class Indicator(NamedTuple):
    name: str
    make: Callable[[IndicatorParams, float], Any]
    """(the indicator periods, bars per year) -> the indicator, one per market."""
    feed: Feed
    read: Callable[..., tuple[float | None, ...]]
    """`bar`: (update or peek, Bar) -> its values; otherwise (the indicator) -> its values."""
    values: tuple[str, ...]
    """The `IndicatorSnapshot.values` keys it fills, in the order `read` returns them."""
    contributor: ContributorRule | None = None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    return numerator / denominator if denominator else 0.0


def _rsi(values: Values, scales: Scales) -> Reading:
    rsi = values["rsi"]
    return rsi, None if rsi is None else (rsi - 50.0) / 50.0


def _macd(values: Values, scales: Scales) -> Reading:
    reading = _ratio(values["macd_hist"], values["atr"])
    return reading, None if reading is None else math.tanh(reading / scales.macd)


def _bollinger(values: Values, scales: Scales) -> Reading:
    upper, lower, close = values["bb_upper"], values["bb_lower"], values["close"]
    if upper is None or lower is None or close is None:
        return None, None
    percent_b = (close - lower) / (upper - lower) if upper > lower else 0.5
    return percent_b, min(max(2.0 * percent_b - 1.0, -1.0), 1.0)


def _vwap(values: Values, scales: Scales) -> Reading:
    vwap, close = values["vwap"], values["close"]
    reading = _ratio(None if vwap is None or close is None else close - vwap, values["atr"])
    return reading, None if reading is None else math.tanh(reading / scales.vwap)


def _imbalance(values: Values, scales: Scales) -> Reading:
    imbalance = values["imbalance"]
    return imbalance, imbalance


def _funding(values: Values, scales: Scales) -> Reading:
    z = values["funding_z"]
    return z, None if z is None else math.tanh(z / scales.funding)


_NO_LINES = (None, None, None)  # MACD and Bollinger while they warm up

INDICATORS: tuple[Indicator, ...] = (
    Indicator("ema", lambda p, _: Ema(p.ema_period), "bar", lambda step, bar: (step(bar.close),), ("ema",)),
    Indicator("sma", lambda p, _: Sma(p.sma_period), "bar", lambda step, bar: (step(bar.close),), ("sma",)),
    Indicator("rsi", lambda p, _: Rsi(p.rsi_period), "bar", lambda step, bar: (step(bar.close),), ("rsi",), _rsi),
    Indicator("macd", lambda p, _: Macd(p.macd_fast, p.macd_slow, p.macd_signal), "bar",
              lambda step, bar: step(bar.close) or _NO_LINES, ("macd", "macd_signal", "macd_hist"), _macd),
    Indicator("bollinger", lambda p, _: BollingerBands(p.bollinger_period, p.bollinger_width), "bar",
              lambda step, bar: step(bar.close) or _NO_LINES, ("bb_upper", "bb_middle", "bb_lower"), _bollinger),
    Indicator("atr", lambda p, _: Atr(p.atr_period), "bar",
              lambda step, bar: (step(bar.high, bar.low, bar.close),), ("atr",)),
    Indicator("vwap", lambda p, _: Vwap(p.vwap_period), "bar",
              lambda step, bar: (step(bar.quote_volume, bar.base_volume),), ("vwap",), _vwap),
    Indicator("volatility", lambda p, bars_per_year: RealisedVolatility(p.volatility_period, bars_per_year), "bar",
              lambda step, bar: (step(bar.close),), ("volatility",)),  # annualised realised volatility
    Indicator("imbalance", lambda p, _: BookImbalance(p.imbalance_half_life), "book",
              lambda book: (book.value,), ("imbalance",), _imbalance),
    Indicator("funding", lambda p, _: FundingZScore(p.funding_window), "funding",
              lambda funding: (funding.rate, funding.zscore), ("funding_rate", "funding_z"), _funding),
)
"""In snapshot order; adding an indicator is one entry here (plus its fields in `streams.signals.config`)."""

BAR_INDICATORS = tuple(entry for entry in INDICATORS if entry.feed == "bar")
BAR_VALUES = ("close", *(key for entry in BAR_INDICATORS for key in entry.values))
VALUES = (*BAR_VALUES, *(key for entry in INDICATORS if entry.feed != "bar" for key in entry.values))
"""The keys of `IndicatorSnapshot.values`, in order: the close, then the bar indicators', then the others'."""
CONTRIBUTORS: dict[str, ContributorRule] = {
    entry.name: entry.contributor for entry in INDICATORS if entry.contributor is not None}
"""Contributor name -> (reading, momentum value) of a snapshot's values, in score order."""
