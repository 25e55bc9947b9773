"""The candle chart: the latest candles of the selected market, as many as fit."""

from __future__ import annotations

import pytest

from tests.support.dashboard import PanelApp, candles
from widgets.candle_chart import CandleChart, CandleChartPanel, ChartState

SIZES = {"80": (48, 12), "160": (110, 24)}
STATES = {"normal": ChartState("BTC-USD", "1MIN", candles()), "waiting": ChartState()}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(CandleChartPanel(), STATES[state]), terminal_size=SIZES[size])


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
