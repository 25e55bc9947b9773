"""The candle chart: the latest candles of the selected market, as many as fit, with our fills as markers,
the overlays and the volume bars."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from streams.kernel.orders import Fill
from streams.signals.overlays import OVERLAYS, ChartConfig, overlay_lines
from tests.support.dashboard import PanelApp, candles
from widgets.candle_chart import CandleChart, CandleChartPanel, ChartState, nice_ticks, trade_markers

SIZES = {"80": (48, 12), "160": (110, 24)}
STATES = {"normal": ChartState("BTC-USD", "1MIN", candles()), "waiting": ChartState()}
PERIODS = ChartConfig(ema_period=10, bollinger_period=10, vwap_period=10)
"""Periods that warm up within the 40 candles of the panel's tests."""


def fills() -> list[Fill]:
    """Buys and sells in the last minutes, and one in the first candle, which a narrow chart leaves out."""
    shown = candles()
    at = [datetime.fromisoformat(candle.startedAt).timestamp() for candle in shown]
    return [Fill(t=at[t] + 20, market="BTC-USD", side=side, size=Decimal("0.01"), price=shown[t].close, fee=Decimal(0),
                 liquidity="TAKER") for t, side in ((0, "BUY"), (-12, "BUY"), (-7, "SELL"), (-3, "SELL"))]


def traded() -> ChartState:
    shown = candles()
    return ChartState("BTC-USD", "1MIN", shown, trade_markers(shown, fills(), 60), overlay_lines(shown, PERIODS))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(CandleChartPanel(), STATES[state]), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_snapshot_with_markers_and_each_overlay(snap_compare, overlay: str, size: str) -> None:
    panel = CandleChartPanel(ChartConfig(overlay=overlay, ema_period=10, bollinger_period=10,  # type: ignore[arg-type]
                                         vwap_period=10))
    assert snap_compare(PanelApp(panel, traded()), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_with_volume(snap_compare, size: str) -> None:
    panel = CandleChartPanel(ChartConfig(volume=True, overlay="ema", ema_period=10))
    assert snap_compare(PanelApp(panel, traded()), terminal_size=SIZES[size])


def test_a_fill_is_marked_at_the_candle_it_was_made_in_and_only_there() -> None:
    shown = candles()
    markers = trade_markers(shown[1:], fills(), 60)  # the first candle is not shown: its fill is left out
    assert [(m.candle, m.side, m.price) for m in markers] == [
        (shown[t].startedAt, side, shown[t].close) for t, side in ((-12, "BUY"), (-7, "SELL"), (-3, "SELL"))]
    assert trade_markers(shown[:5], fills(), 60) == trade_markers(shown[:1], fills(), 60)  # none after them
    assert trade_markers((), fills(), 60) == ()


def test_price_ticks_are_round_inside_the_range_and_at_least_the_gap_apart() -> None:
    assert nice_ticks(69_327.0, 69_562.0, 40.0) == [69_350.0, 69_400.0, 69_450.0, 69_500.0, 69_550.0]
    assert nice_ticks(69_327.0, 69_562.0, 135.0) == [69_400.0]
    assert nice_ticks(0.98, 1.02, 0.015) == pytest.approx([0.98, 1.0, 1.02])
    assert nice_ticks(5.0, 5.0, 3.0) == [5.0]


async def test_the_same_state_does_not_redraw() -> None:
    app = PanelApp(CandleChartPanel(), STATES["normal"])
    async with app.run_test(size=SIZES["80"]) as pilot:
        chart = app.query_one(CandleChart)
        redraws: list[object] = []
        chart.refresh = lambda *args, **kwargs: redraws.append(args)  # type: ignore[method-assign]
        app.panel.render_state(STATES["normal"])
        app.panel.render_state(ChartState("BTC-USD", "1MIN", candles()[:-1]))
        await pilot.pause()
    assert len(redraws) == 1
    assert app.panel.border_title == "BTC-USD · 1MIN"


async def test_the_overlay_cycles_and_volume_toggles_with_a_redraw_each() -> None:
    app = PanelApp(CandleChartPanel(PERIODS), traded())
    async with app.run_test(size=SIZES["160"]) as pilot:
        chart = app.query_one(CandleChart)
        redraws: list[object] = []
        chart.refresh = lambda *args, **kwargs: redraws.append(args)  # type: ignore[method-assign]
        assert [app.panel.next_overlay() for _ in OVERLAYS] == [*OVERLAYS[1:], "none"]
        assert app.panel.toggle_volume() is True
        assert app.panel.border_title == "BTC-USD · 1MIN · vol"
        await pilot.pause()
    assert len(redraws) == len(OVERLAYS) + 1
