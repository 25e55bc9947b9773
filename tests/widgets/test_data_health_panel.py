"""The data health panel: every stream's state and counters, problems coloured."""

from __future__ import annotations

import pytest

from tests.support.dashboard import PanelApp, health, stream_names
from widgets.data_health import DataHealthPanel, DataHealthState, age, health_row, stream_label

SIZES = {"80": (80, 10), "160": (160, 10)}
OK = tuple(health(name) for market in ("BTC-USD", "ETH-USD") for name in stream_names(market))
ERROR = (health("rest:/v4/candles/perpetualMarkets/BTC-USD", "ok", messages=1), health("parse", "error", errors=2),
         *OK[:3], health("v4_orderbook:ETH-USD", "error", errors=3, gaps=1), health("v4_trades:ETH-USD", "stale"),
         health("v4_candles:ETH-USD/1MIN", "resyncing", resyncs=2, crossed=5))
STATES = {"normal": DataHealthState(OK), "error": DataHealthState(ERROR), "empty": DataHealthState()}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(DataHealthPanel(), STATES[state]), terminal_size=SIZES[size])


def test_a_row_counts_what_went_wrong() -> None:
    row = health_row(health("v4_orderbook:ETH-USD", "error", errors=3, gaps=1))
    assert row.plain.split() == ["orderbook:ETH-USD", "●", "error", "0.0/s", "3.0s", "1", "0", "0", "3"]


@pytest.mark.parametrize(("stream", "label"), [
    ("v4_candles:BTC-USD/1MIN", "candles:BTC-USD/1MIN"), ("v4_markets", "markets"), ("parse", "parse"),
    ("rest:/v4/perpetualMarkets", "rest:perpetualMarkets"),
    ("rest:/v4/candles/perpetualMarkets/ETH-USD", "rest:candles/ETH-USD"),
])
def test_stream_names_are_shortened(stream: str, label: str) -> None:
    assert stream_label(stream) == label


@pytest.mark.parametrize(("seconds", "text"), [(0.42, "0.4s"), (99.94, "99.9s"), (1799.0, "30m"), (7300, "2h")])
def test_ages_fit_their_column(seconds: float, text: str) -> None:
    assert age(seconds) == text
