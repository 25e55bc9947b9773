"""An explainable signal score per market in [-1, +1], from the indicator snapshots.

Each contributor (one per indicator that has one: see `streams.signals.indicators.registry`, which also
tabulates their readings) turns one indicator reading into a momentum value in [-1, 1], then scoring signs
it by its configured direction (mean_reversion fades the reading). The score is the weighted mean of
the contributors that have a value: a contributor still warming up is reported with value None and
contributes 0, and the weights of the others are renormalised to sum to 1. So the contributions add
up to the score, which is clamped to [-1, 1] only against rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from msgspec import Struct, structs
from reactivex import Observable

from streams.kernel import rx
from streams.signals.config import Scales, SignalsConfig
from streams.signals.indicators.market import IndicatorSnapshot
from streams.signals.indicators.registry import CONTRIBUTORS, ContributorRule


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


class _Plan(NamedTuple):
    """The configuration read once, for scoring many snapshots: per contributor its name, function,
    whether it fades its reading (mean_reversion) and weight."""

    scales: Scales
    contributors: tuple[tuple[str, ContributorRule, bool, float], ...]

    @classmethod
    def of(cls, config: SignalsConfig) -> _Plan:
        directions, weights = structs.asdict(config.directions), structs.asdict(config.weights)  # keyed by name
        return cls(config.scales, tuple(
            (name, contributor, directions[name] == "mean_reversion", weights[name])
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
