"""Closed-candle series against the oracles (TA-Lib; numpy for VWAP and realised volatility), to 1e-9
relative, with the same warm-up: NaN from TA-Lib exactly where the indicator reports None."""

from __future__ import annotations

import numpy as np
import pytest
from signal_cases import CASES, Series, assert_matches, run, synthetic_candles

from streams.signals.indicators import Atr, Bar, BollingerBands, Ema, Macd, Rsi, Sma


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_closed_series_matches_the_oracle(case, bars):
    assert_matches(run(case, bars), case.oracle(Series.of(bars)))


@pytest.fixture(scope="module")
def month() -> list[Bar]:
    """A month of ETH-like minutes: whatever rounding the incremental state accumulates shows here."""
    return [Bar.of(candle) for candle in synthetic_candles(43_200, seed=11, price=3000.0, tick="0.1")]


@pytest.mark.parametrize("case", [case for case in CASES if case.name.startswith(
    ("SMA(20)", "EMA(20)", "RSI(14)", "MACD(12, 26, 9).histogram", "BBANDS(20,2.0)", "ATR(14)", "VWAP(60)",
     "RV(60,"))], ids=repr)
def test_a_month_of_minutes_still_matches(case, month):
    assert_matches(run(case, month), case.oracle(Series.of(month)))


@pytest.mark.parametrize(("indicator", "first"), [
    (Sma(20), 19), (Ema(20), 19), (Rsi(14), 14), (Atr(14), 14), (BollingerBands(20, 2.0), 19),
    (Macd(12, 26, 9), 26 + 9 - 2),
], ids=["SMA", "EMA", "RSI", "ATR", "BBANDS", "MACD"])
def test_the_first_value_comes_at_talibs_lookback(indicator, first):
    closes = 100.0 + np.sin(np.arange(60))
    inputs = (lambda x: (x + 1, x - 1, x)) if isinstance(indicator, Atr) else (lambda x: (x,))
    values = [indicator.update(*inputs(x)) for x in closes]
    assert [value is None for value in values] == [True] * first + [False] * (60 - first)
