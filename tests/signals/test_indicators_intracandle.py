"""The open candle: `peek` gives the value the oracle computes with the open candle appended to the
closed ones, and peeking as often as the candle updates leaves the closed series exactly as it was."""

from __future__ import annotations

import math

import numpy as np
import pytest
from signal_cases import CASES, Series, assert_matches, run


def checked(count: int) -> list[int]:
    """Every bar through the longest warm-up, then a spread of the rest (the oracle is O(n) per call)."""
    return [i for i in range(count) if i < 100 or i % 7 == 0]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_peek_is_the_oracle_with_the_open_candle_appended(case, bars, open_bars):
    series = Series.of(bars)
    indicator = case.make()
    fed = 0
    for i in checked(len(bars)):
        for bar in bars[fed:i]:
            indicator.update(*case.inputs(bar))
        fed = i
        for open_bar in open_bars[i]:
            expected = case.oracle(series.then(i, open_bar))[-1]
            value = indicator.peek(*case.inputs(open_bar))
            if math.isnan(expected):
                assert value is None, f"bar {i}: a value before the oracle has one"
            else:
                assert value is not None, f"bar {i}: no value where the oracle has {expected}"
                np.testing.assert_allclose(case.pick(value), expected, rtol=1e-9, err_msg=f"bar {i}")


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_open_updates_leave_the_closed_series_exact(case, bars, open_bars):
    indicator = case.make()
    closed = []
    for bar, forming_bars in zip(bars, open_bars, strict=False):
        for open_bar in forming_bars:
            indicator.peek(*case.inputs(open_bar))
        value = indicator.update(*case.inputs(bar))
        closed.append(math.nan if value is None else case.pick(value))
    untouched = run(case, bars)
    np.testing.assert_array_equal(np.array(closed), untouched)
    assert_matches(untouched, case.oracle(Series.of(bars)))
