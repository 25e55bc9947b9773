"""An explainable signal score per market in [-1, +1], from the indicator snapshots.

Each contributor turns one indicator reading into a value in [-1, 1], read as momentum (positive =
pressure upwards), then signs it by its configured direction (mean_reversion fades the reading):

| contributor | reading                                   | momentum value         |
|-------------|-------------------------------------------|------------------------|
| rsi         | RSI, 0..100                               | (rsi - 50) / 50        |
| macd        | MACD histogram in ATRs                    | tanh(reading / scale)  |
| bollinger   | %B = (close - lower) / (upper - lower)    | clip(2·%B - 1, -1, 1)  |
| vwap        | (close - VWAP) in ATRs                    | tanh(reading / scale)  |
| imbalance   | book imbalance (bids - asks) / total      | reading                |
| funding     | funding-rate z-score (longs pay when > 0) | tanh(reading / scale)  |

A ratio over a zero range (flat bands, zero ATR) reads as neutral. The score is the weighted mean of
the contributors that have a value: a contributor still warming up is reported with value None and
contributes 0, and the weights of the others are renormalised to sum to 1. So the contributions add
up to the score, which is clamped to [-1, 1] only against rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

from msgspec import Struct
from reactivex import Observable

from streams.kernel import rx
from streams.signals.config import Scales, SignalsConfig
from streams.signals.indicators.market import IndicatorSnapshot

Values = Mapping[str, float | None]


class Contributor(Struct, frozen=True):
    """Why a score is what it is, one indicator at a time. `weight` is the configured weight;
    `contribution` = weight · value / (sum of the weights of the contributors that have a value)."""

    name: str
    reading: float | None  # the indicator reading, in the units of the table above
    value: float | None  # the reading as a signed value in [-1, 1]; None while warming up
    weight: float
    contribution: float


class SignalScore(Struct, frozen=True):
    t: float
    market: str
    closed: bool  # computed on a closed candle (see IndicatorSnapshot.closed)
    score: float  # in [-1, 1]: the sum of the contributions
    contributors: tuple[Contributor, ...]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    return numerator / denominator if denominator else 0.0


def _rsi(values: Values, scales: Scales) -> tuple[float | None, float | None]:
    rsi = values["rsi"]
    return rsi, None if rsi is None else (rsi - 50.0) / 50.0


def _macd(values: Values, scales: Scales) -> tuple[float | None, float | None]:
    reading = _ratio(values["macd_hist"], values["atr"])
    return reading, None if reading is None else math.tanh(reading / scales.macd)


def _bollinger(values: Values, scales: Scales) -> tuple[float | None, float | None]:
    upper, lower, close = values["bb_upper"], values["bb_lower"], values["close"]
    if upper is None or lower is None or close is None:
        return None, None
    percent_b = (close - lower) / (upper - lower) if upper > lower else 0.5
    return percent_b, min(max(2.0 * percent_b - 1.0, -1.0), 1.0)


def _vwap(values: Values, scales: Scales) -> tuple[float | None, float | None]:
    vwap, close = values["vwap"], values["close"]
    reading = _ratio(None if vwap is None or close is None else close - vwap, values["atr"])
    return reading, None if reading is None else math.tanh(reading / scales.vwap)


def _imbalance(values: Values, scales: Scales) -> tuple[float | None, float | None]:
    imbalance = values["imbalance"]
    return imbalance, imbalance


def _funding(values: Values, scales: Scales) -> tuple[float | None, float | None]:
    z = values["funding_z"]
    return z, None if z is None else math.tanh(z / scales.funding)


CONTRIBUTORS: dict[str, Callable[[Values, Scales], tuple[float | None, float | None]]] = {
    "rsi": _rsi, "macd": _macd, "bollinger": _bollinger, "vwap": _vwap, "imbalance": _imbalance,
    "funding": _funding,
}
"""Contributor name -> (reading, momentum value) of a snapshot's values; the names are the keys of the
`weights` and `directions` config tables."""


class _Plan(NamedTuple):
    """The configuration read once, for scoring many snapshots: per contributor its name, function,
    whether it fades its reading (mean_reversion) and weight."""

    scales: Scales
    contributors: tuple[tuple[str, Callable[[Values, Scales], tuple[float | None, float | None]], bool, float], ...]

    @classmethod
    def of(cls, config: SignalsConfig) -> _Plan:
        return cls(config.scales, tuple(
            (name, contributor, getattr(config.directions, name) == "mean_reversion", getattr(config.weights, name))
            for name, contributor in CONTRIBUTORS.items()))


def score(snapshot: IndicatorSnapshot, config: SignalsConfig) -> SignalScore:
    return _score(snapshot, _Plan.of(config))


def _score(snapshot: IndicatorSnapshot, plan: _Plan) -> SignalScore:
    parts = []
    weights = []
    values, scales = snapshot.values, plan.scales
    for name, contributor, fades, weight in plan.contributors:
        reading, value = contributor(values, scales)
        if value is not None:
            if fades:
                value = 0.0 - value  # not -value: a neutral reading stays 0.0, never -0.0
            weights.append(weight)
        parts.append((name, reading, value, weight))
    available = sum(weights)
    contributors = tuple([
        Contributor(name, reading, value, weight,
                    weight * value / available if value is not None and available else 0.0)
        for name, reading, value, weight in parts
    ])
    total = min(max(math.fsum([c.contribution for c in contributors]), -1.0), 1.0)
    return SignalScore(snapshot.t, snapshot.market, snapshot.closed, total, contributors)


def scores(config: SignalsConfig) -> Callable[[Observable[IndicatorSnapshot]], Observable[SignalScore]]:
    """The operator: indicator snapshots -> signal scores, one for one."""
    plan = _Plan.of(config)
    return rx.map(lambda snapshot: _score(snapshot, plan))
