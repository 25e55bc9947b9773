"""The candle chart's state built from a recorded stream: the bundled recording through the whole graph
(paper account), its candles and fills folded into the dashboard model; the markers sit at the candle and
price of each fill, and the overlay lines are the indicator stage's values on the same candles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import reactivex
from reactivex.subject import Subject

from app.sources import DEFAULT_RECORDING
from app.view_model import CHART, DashboardModel
from streams.config import Config
from streams.graph import build_graph
from streams.kernel.frames import Frame
from streams.kernel.orders import Fill
from streams.market.state import CandleUpdate
from streams.signals.config import SignalsConfig
from streams.signals.indicators import IndicatorSnapshot, indicators
from streams.signals.overlays import ChartConfig
from streams.sources.recording import open_recording

D = Decimal


@pytest.fixture(scope="module")
def recorded() -> tuple[list[CandleUpdate], list[Any]]:
    """The bundled recording's candle updates and order events (every one), as the graph emits them."""
    candles: list[CandleUpdate] = []
    orders: list[Any] = []
    source: Subject[Frame] = Subject()
    graph = build_graph(source, Config())
    graph.candles.subscribe(candles.append)
    graph.orders.subscribe(orders.append)
    graph.connect()
    for frame in open_recording(DEFAULT_RECORDING).frames():
        source.on_next(frame)
    source.on_completed()
    return candles, orders


def model_of(candles: list[CandleUpdate], orders: list[Any], market: str, chart: ChartConfig = ChartConfig()
             ) -> DashboardModel:
    model = DashboardModel("1MIN", chart)
    model.apply(candles)
    model.record(orders)
    assert model.select(market) or model.selected == market
    return model


@pytest.mark.parametrize("market", ["BTC-USD", "ETH-USD"])
def test_each_fill_is_a_marker_at_its_candle_and_price(recorded, market: str) -> None:
    candles, orders = recorded
    state = model_of(candles, orders, market).chart_state()
    starts = {candle.startedAt: datetime.fromisoformat(candle.startedAt).timestamp() for candle in state.candles}
    fills = [fill for fill in orders if isinstance(fill, Fill) and fill.market == market]
    shown = [fill for fill in fills if min(starts.values()) <= fill.t < max(starts.values()) + 60]
    assert shown, "the strategy trades this market within the chart's candles"
    assert [(m.side, m.price) for m in state.markers] == [(fill.side, fill.price) for fill in shown]
    for marker, fill in zip(state.markers, shown, strict=True):
        assert starts[marker.candle] <= fill.t < starts[marker.candle] + 60
    assert {m.side for m in state.markers} == {"BUY", "SELL"}


def test_fills_of_other_markets_and_outside_the_candles_are_not_marked(recorded) -> None:
    candles, orders = recorded
    model = model_of(candles, orders, "BTC-USD")
    first = model.chart_state().candles[0]
    before = datetime.fromisoformat(first.startedAt).timestamp() - 1
    late, early = (Fill(t=t, market="BTC-USD", side="BUY", size=D(1), price=D(69000), fee=D(0), liquidity="TAKER")
                   for t in (1e10, before))
    marked = model.chart_state().markers
    assert model.record([late, early]) == {CHART}
    assert model.chart_state().markers == marked
    eth = model_of(candles, [o for o in orders if getattr(o, "market", "") == "BTC-USD"], "ETH-USD")
    assert eth.chart_state().markers == ()
    assert eth.record([late]) == set()  # not the selected market's: the chart is unchanged


@pytest.mark.parametrize("chart", [ChartConfig(), ChartConfig(ema_period=9, bollinger_period=30, bollinger_width=2.5,
                                                               vwap_period=15)], ids=["defaults", "periods"])
def test_the_overlay_lines_are_the_indicator_stage_s_values_on_the_same_candles(recorded, chart) -> None:
    candles, orders = recorded
    state = model_of(candles, orders, "ETH-USD", chart).chart_state()
    snapshots: list[IndicatorSnapshot] = []
    closed = [CandleUpdate(0.0, "ETH-USD", "1MIN", candle, True) for candle in state.candles]
    reactivex.from_iterable(closed).pipe(indicators(SignalsConfig(indicators=chart.params()))).subscribe(
        snapshots.append)
    assert len(snapshots) == len(state.candles) > 200
    assert [line.name for line in state.lines] == ["ema", "bb_upper", "bb_middle", "bb_lower", "vwap"]
    for line in state.lines:
        assert line.values == tuple(snapshot.values[line.name] for snapshot in snapshots), line.name
        assert line.values[-1] is not None


def test_the_open_candle_reads_as_the_stage_reads_it(recorded) -> None:
    candles, orders = recorded
    state = model_of(candles, orders, "ETH-USD").chart_state()
    *done, last = state.candles
    updates = [CandleUpdate(0.0, "ETH-USD", "1MIN", candle, True) for candle in done]
    updates.append(CandleUpdate(1.0, "ETH-USD", "1MIN", last, False))
    snapshots: list[IndicatorSnapshot] = []
    reactivex.from_iterable(updates).pipe(indicators(SignalsConfig())).subscribe(snapshots.append)
    assert not snapshots[-1].closed
    assert {line.name: line.values[-1] for line in state.lines} == {
        name: snapshots[-1].values[name] for name in ("ema", "bb_upper", "bb_middle", "bb_lower", "vwap")}
