"""Invariants of the indicators on arbitrary price paths (hypothesis), and the edge cases TA-Lib's
comparison cannot reach: flat markets, sub-cent prices, empty volume, funding and book flow."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.signals.indicators import (
    Atr,
    BollingerBands,
    BookImbalance,
    Ema,
    FundingZScore,
    Macd,
    RealisedVolatility,
    RollingMoments,
    RollingSum,
    Rsi,
    Sma,
    Vwap,
)

prices = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
paths = st.lists(prices, min_size=1, max_size=120)
periods = st.integers(min_value=2, max_value=30)


def series(indicator, values) -> list:
    return [indicator.update(value) for value in values]


def within(value: float, low: float, high: float) -> bool:
    slack = 1e-12 * max(abs(low), abs(high))  # a rounding of the last bit
    return low - slack <= value <= high + slack


@given(paths, periods)
def test_rsi_stays_within_0_and_100(path, period):
    assert all(0.0 <= value <= 100.0 for value in series(Rsi(period), path) if value is not None)


@given(paths, periods, st.floats(min_value=0.1, max_value=5.0))
def test_bollinger_bands_are_ordered(path, period, width):
    for bands in series(BollingerBands(period, width), path):
        if bands is not None:
            assert bands.lower <= bands.middle <= bands.upper


@given(paths, periods)
def test_ema_stays_within_the_inputs_seen(path, period):
    for i, value in enumerate(series(Ema(period), path)):
        if value is not None:
            assert within(value, min(path[: i + 1]), max(path[: i + 1]))


@given(prices, periods, st.integers(min_value=0, max_value=60))
def test_sma_of_a_constant_is_the_constant(price, period, extra):
    values = series(Sma(period), [price] * (period + extra))
    assert values[: period - 1] == [None] * (period - 1)
    assert all(math.isclose(value, price, rel_tol=1e-15) for value in values[period - 1:])


@given(prices, periods, st.integers(min_value=0, max_value=60))
def test_a_flat_window_has_no_width(price, period, extra):
    bands = series(BollingerBands(period, 2.0), [price] * (period + extra))[-1]
    assert bands == (price, price, price)


@given(paths, periods, st.lists(prices, min_size=1, max_size=5))
def test_peeking_changes_nothing(path, period, peeks):
    plain, peeked = Macd(period, period + 3, 3), Macd(period, period + 3, 3)
    for value in path:
        for peek in peeks:
            peeked.peek(peek)
        assert peeked.update(value) == plain.update(value)


def test_a_huge_value_passing_through_the_window_leaves_no_trace():
    window = RollingSum(3)
    for value in (1e16, 1.0, 1.0, 1.0):  # adding 1 to 1e16 rounds it away: a plain running sum ends at 2
        window.push(value)
    assert window.sum == 3.0


@given(st.lists(st.one_of(st.floats(min_value=-1e12, max_value=1e12), st.floats(min_value=-1.0, max_value=1.0)),
                min_size=1, max_size=300), periods)
def test_a_rolling_sum_is_the_exact_sum_of_its_window(values, size):
    window = RollingSum(size)
    for i, value in enumerate(values):
        window.push(value)
        exact = math.fsum(values[max(0, i + 1 - size): i + 1])
        assert window.sum == pytest.approx(exact, rel=1e-15, abs=1e-12)


@given(st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=2, max_size=80), periods)
def test_rolling_moments_are_those_of_the_window(values, size):
    moments = RollingMoments(size)
    for i, value in enumerate(values):
        peek_mean, peek_m2 = moments.peek(value)
        moments.push(value)
        window = np.array(values[max(0, i + 1 - size): i + 1])
        assert (peek_mean, peek_m2) == (moments.mean, moments.m2)
        assert math.isclose(moments.mean, window.mean(), rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(moments.m2, ((window - window.mean()) ** 2).sum(), rel_tol=1e-6, abs_tol=1e-6)


# moves below 1e-6 are left out: a difference of two nearly equal prices keeps only ~1e-16/|move| of its
# relative precision, so scaling alone would move RSI by more than the tolerance (rounding, not the rule)
@given(st.lists(st.floats(min_value=-0.01, max_value=0.01).filter(lambda m: m == 0 or abs(m) > 1e-6),
                min_size=15, max_size=60),
       st.floats(min_value=1e-9, max_value=1e6))
def test_rsi_does_not_depend_on_the_price_scale(moves, scale):
    """TA-Lib reads avg gain + avg loss below 1e-8 as zero and reports 0; sub-cent markets exist."""
    path = np.cumprod(1.0 + np.array(moves))
    for plain, scaled in zip(series(Rsi(14), path), series(Rsi(14), path * scale), strict=False):
        assert (plain is None) == (scaled is None)
        if plain is not None:
            assert math.isclose(plain, scaled, abs_tol=1e-6)


def test_rsi_of_a_flat_market_is_neutral():
    assert series(Rsi(3), [5.0] * 5) == [None, None, None, 50.0, 50.0]
    assert Rsi(3).peek(5.0) is None


def test_atr_peek_needs_a_previous_close_and_a_full_seed():
    atr = Atr(2)
    assert atr.peek(2.0, 1.0, 1.5) is None
    assert atr.update(2.0, 1.0, 1.5) is None
    assert atr.peek(3.0, 2.0, 2.5) is None  # one true range of the two it needs
    assert atr.update(3.0, 2.0, 2.5) is None  # true range 1.5: from the previous close 1.5 up to 3
    assert atr.peek(3.0, 2.0, 2.0) == (1.5 + 1.0) / 2  # true range 1.0: the bar's own range
    assert atr.update(2.0, 1.0, 1.5) == (1.5 + 1.5) / 2  # true range 1.5: from 2.5 down to 1


def test_vwap_of_a_window_without_trades_is_unknown():
    vwap = Vwap(2)
    assert vwap.peek(10.0, 1.0) is None
    assert vwap.update(0.0, 0.0) is None
    assert vwap.peek(0.0, 0.0) is None
    assert vwap.update(0.0, 0.0) is None
    assert vwap.update(30.0, 3.0) == 10.0


def test_realised_volatility_peek_needs_a_previous_close():
    volatility = RealisedVolatility(2)
    assert volatility.peek(1.0) is None
    for close in (1.0, math.e, 1.0):
        last = volatility.update(close)
    assert last == pytest.approx(math.sqrt(2.0))  # returns +1 and -1: sample deviation sqrt(2)
    assert volatility.peek(math.e) == pytest.approx(math.sqrt(2.0))


def test_macd_needs_the_fast_period_shorter_than_the_slow():
    with pytest.raises(ValueError, match="fast period"):
        Macd(26, 12, 9)


def test_book_imbalance_weighs_each_reading_by_how_long_it_held():
    imbalance = BookImbalance(half_life=10.0)
    assert imbalance.update(0.0, 1.0) == 1.0
    assert imbalance.update(10.0, -1.0) == 1.0  # +1 held from 0 to 10
    assert imbalance.update(20.0, 0.0) == 0.0  # -1 held one half-life: half way from +1 to -1
    assert imbalance.update(15.0, 0.5) == 0.0  # time going backwards counts as no time


def test_book_imbalance_without_half_life_is_the_latest_reading():
    imbalance = BookImbalance(half_life=0.0)
    imbalance.update(0.0, 1.0)
    assert imbalance.update(0.5, -0.25) == -0.25


HOUR = 3600.0


def test_funding_zscore_compares_the_live_rate_with_the_settled_hours():
    funding = FundingZScore(window=4)
    history = [1e-5, 3e-5, 1e-5, 3e-5]
    for hour, rate in enumerate(history):
        funding.settle(hour * HOUR + 0.2, rate)
    assert funding.zscore is None  # no live rate yet
    funding.observe(3.5 * HOUR, 4e-5)
    assert funding.zscore == pytest.approx((4e-5 - 2e-5) / 1e-5)
    funding.settle(3 * HOUR + 0.5, 9.0)  # that tick has settled already
    funding.observe(3.9 * HOUR, 2e-5)
    assert funding.zscore == pytest.approx(0.0)
    funding.observe(4.1 * HOUR, 5e-5)  # hour 3 ended: its last estimate (2e-5) settles for tick 4
    assert funding.zscore == pytest.approx((5e-5 - 2.25e-5) / np.std([3e-5, 1e-5, 3e-5, 2e-5]))
    funding.observe(3.95 * HOUR, 1.0)  # late, out of order: ignored
    assert funding.rate == 5e-5


def test_funding_zscore_of_a_constant_history_is_zero():
    funding = FundingZScore(window=3)
    for hour in range(3):
        funding.settle(hour * HOUR, 1.25e-5)
    funding.observe(3 * HOUR, 5e-5)
    assert funding.zscore == 0.0
