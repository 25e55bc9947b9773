"""Candle series for the signal tests: the real ETH-USD sample (skipped without ../shared) and a
generated one that every checkout has; as candles, closed bars, and the bars of each open candle."""

from __future__ import annotations

import pytest
from signal_cases import FRACTIONS, eth_candles, forming, synthetic_candles

from streams.market.events import Candle
from streams.signals.indicators import Bar


@pytest.fixture(scope="session")
def eth(samples_dir) -> list[Candle]:
    return eth_candles(samples_dir)


@pytest.fixture(scope="session", params=["eth", "synthetic"])
def candles(request: pytest.FixtureRequest) -> list[Candle]:
    """Each test that takes it runs on the real candles, then on the generated ones."""
    return request.getfixturevalue("eth") if request.param == "eth" else synthetic_candles()


@pytest.fixture(scope="session")
def bars(candles) -> list[Bar]:
    return [Bar.of(candle) for candle in candles]


@pytest.fixture(scope="session")
def open_bars(candles) -> list[list[Bar]]:
    """For each candle, its bar at each of `FRACTIONS` of the way through it."""
    return [[Bar.of(forming(candle, fraction)) for fraction in FRACTIONS] for candle in candles]
