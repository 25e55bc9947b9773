"""Scores: each contributor's transform and direction, renormalised weights while some warm up, and
the invariants (score in [-1, 1], contributions add up to it)."""

from __future__ import annotations

import math

import pytest
import reactivex
from hypothesis import given
from hypothesis import strategies as st

from streams.signals.config import Directions, Scales, SignalsConfig, Weights
from streams.signals.indicators import VALUES, IndicatorSnapshot
from streams.signals.scoring import CONTRIBUTORS, Contributor, SignalScore, score, scores

MOMENTUM = SignalsConfig(directions=Directions(**dict.fromkeys(CONTRIBUTORS, "momentum")))
FADE = SignalsConfig(directions=Directions(**dict.fromkeys(CONTRIBUTORS, "mean_reversion")))


def snapshot(closed: bool = True, **values: float | None) -> IndicatorSnapshot:
    return IndicatorSnapshot(t=60.0, market="ETH-USD", closed=closed, values={**dict.fromkeys(VALUES), **values})


def contributor(result: SignalScore, name: str) -> Contributor:
    return next(c for c in result.contributors if c.name == name)


def test_contributors_are_the_configured_ones():
    assert list(CONTRIBUTORS) == list(Weights.__struct_fields__) == list(Directions.__struct_fields__)


@pytest.mark.parametrize(("name", "values", "reading", "value"), [
    ("rsi", {"rsi": 80.0}, 80.0, 0.6),
    ("macd", {"macd_hist": 0.3, "atr": 2.0}, 0.15, math.tanh(0.5)),
    ("macd", {"macd_hist": 0.0, "atr": 0.0}, 0.0, 0.0),  # no range at all: neutral
    ("bollinger", {"close": 110.0, "bb_upper": 110.0, "bb_lower": 90.0}, 1.0, 1.0),
    ("bollinger", {"close": 80.0, "bb_upper": 110.0, "bb_lower": 90.0}, -0.5, -1.0),  # clipped
    ("bollinger", {"close": 100.0, "bb_upper": 100.0, "bb_lower": 100.0}, 0.5, 0.0),  # flat bands
    ("vwap", {"close": 103.0, "vwap": 100.0, "atr": 1.0}, 3.0, math.tanh(1.0)),
    ("imbalance", {"imbalance": -0.4}, -0.4, -0.4),
    ("funding", {"funding_z": 2.0}, 2.0, math.tanh(1.0)),
])
def test_each_reading_becomes_a_momentum_value(name, values, reading, value):
    result = contributor(score(snapshot(**values), MOMENTUM), name)
    assert result.reading == pytest.approx(reading)
    assert result.value == pytest.approx(value)
    faded = contributor(score(snapshot(**values), FADE), name)
    assert faded.value == pytest.approx(-value)
    assert math.copysign(1.0, faded.value) == (-1.0 if value > 0 else 1.0)  # a neutral 0 is never -0.0


def test_default_directions_fade_stretched_prices_and_crowded_funding():
    result = score(snapshot(rsi=80.0, macd_hist=0.3, atr=1.0, close=110.0, bb_upper=110.0, bb_lower=90.0,
                            vwap=107.0, imbalance=0.5, funding_z=3.0), SignalsConfig())
    signs = {c.name: math.copysign(1.0, c.value) for c in result.contributors}
    assert signs == {"rsi": -1.0, "macd": 1.0, "bollinger": -1.0, "vwap": -1.0, "imbalance": 1.0,
                     "funding": -1.0}


def test_warming_up_contributors_count_for_nothing_and_the_rest_are_renormalised():
    config = SignalsConfig(weights=Weights(rsi=1.0, macd=3.0, bollinger=1.0, vwap=0.0, imbalance=1.0,
                                           funding=2.0), directions=MOMENTUM.directions)
    result = score(snapshot(rsi=75.0, imbalance=-0.2, closed=False), config)
    by_name = {c.name: c for c in result.contributors}
    assert by_name["macd"] == Contributor("macd", None, None, 3.0, 0.0)
    assert by_name["rsi"].contribution == pytest.approx(1.0 * 0.5 / 2.0)
    assert by_name["imbalance"].contribution == pytest.approx(1.0 * -0.2 / 2.0)
    assert result.score == pytest.approx(0.15)
    assert (result.t, result.market, result.closed) == (60.0, "ETH-USD", False)


def test_a_zero_weight_is_shown_but_counts_for_nothing():
    config = SignalsConfig(weights=Weights(rsi=0.0, macd=0.0, bollinger=0.0, vwap=0.0, imbalance=1.0,
                                           funding=0.0))
    result = score(snapshot(rsi=10.0, imbalance=0.3), config)
    assert contributor(result, "rsi").value == pytest.approx(0.8)
    assert contributor(result, "rsi").contribution == 0.0
    assert result.score == pytest.approx(0.3)


def test_nothing_known_scores_zero():
    result = score(snapshot(), SignalsConfig())
    assert result.score == 0.0
    assert all(c.value is None and c.contribution == 0.0 for c in result.contributors)


readings = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6))
weights = st.floats(min_value=0.0, max_value=100.0)


@given(
    st.fixed_dictionaries({
        "rsi": st.one_of(st.none(), st.floats(min_value=0.0, max_value=100.0)),
        "macd_hist": readings, "atr": st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e6)),
        "close": st.floats(min_value=1e-6, max_value=1e6), "bb_upper": readings, "bb_lower": readings,
        "vwap": readings, "imbalance": st.one_of(st.none(), st.floats(min_value=-1.0, max_value=1.0)),
        "funding_z": readings,
    }),
    st.lists(weights, min_size=6, max_size=6).filter(any),
    st.sampled_from([MOMENTUM.directions, FADE.directions, Directions()]),
)
def test_the_score_is_in_range_and_the_sum_of_its_contributions(values, weight_list, directions):
    if values["bb_upper"] is not None and values["bb_lower"] is not None and values["bb_upper"] < values["bb_lower"]:
        values["bb_upper"], values["bb_lower"] = values["bb_lower"], values["bb_upper"]
    config = SignalsConfig(weights=Weights(**dict(zip(CONTRIBUTORS, weight_list, strict=False))), directions=directions)
    result = score(snapshot(**values), config)
    assert -1.0 <= result.score <= 1.0
    assert all(c.value is None or -1.0 <= c.value <= 1.0 for c in result.contributors)
    assert math.fsum(c.contribution for c in result.contributors) == pytest.approx(result.score, abs=1e-12)


def test_the_operator_scores_every_snapshot():
    out: list[SignalScore] = []
    reactivex.of(snapshot(rsi=30.0), snapshot(rsi=70.0)).pipe(scores(SignalsConfig())).subscribe(out.append)
    assert [result.score for result in out] == [pytest.approx(0.4), pytest.approx(-0.4)]


def test_scales_set_where_tanh_bends():
    config = SignalsConfig(scales=Scales(macd=1.0, vwap=1.0, funding=1.0), directions=MOMENTUM.directions)
    result = score(snapshot(macd_hist=1.0, atr=1.0, funding_z=1.0), config)
    assert contributor(result, "macd").value == pytest.approx(math.tanh(1.0))
    assert contributor(result, "funding").value == pytest.approx(math.tanh(1.0))
