"""The candle chart of the selected market (textual-plotext): as many of the latest candles as the
panel is wide, time labels in UTC, up and down candles in the theme's success and error colours."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from streams.market.events import Candle
from widgets.panel import Panel
from widgets.tcss import beside

CELLS_PER_CANDLE = 2
Y_AXIS = 12
"""Cells the price labels and axis take."""
TIME_LABELS = 4
LABEL_SPACING = 6
"""Candles at least between two time labels: plotext nudges a label that lands near another, and which one
moves depends on the order it places them in (not fixed from run to run), so they must not come near."""


@dataclass(frozen=True)
class ChartState:
    market: str | None = None
    resolution: str = "1MIN"
    candles: tuple[Candle, ...] = ()
    """Oldest first; the last one may still be open."""


class CandleChart(PlotextPlot):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state = ChartState()

    def show(self, state: ChartState) -> None:
        if state != self._state:
            self._state = state
            self.refresh()

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_figure()  # clear_data keeps the last ticks: a chart would depend on what it showed before
        shown = self._state.candles[-max(1, (self.size.width - Y_AXIS) // CELLS_PER_CANDLE):]
        if shown:
            x = list(range(len(shown)))
            colours: list[str | int | tuple[int, int, int]] = [
                Color.parse(self.app.theme_variables[name]).rgb for name in ("success", "error")]
            prices = {"Open": [float(c.open) for c in shown], "Close": [float(c.close) for c in shown],
                      "High": [float(c.high) for c in shown], "Low": [float(c.low) for c in shown]}
            # plotext's stub types the x values as date strings; plain numbers are what it takes by default
            plt.candlestick(x, prices, colors=colours)  # type: ignore[arg-type]
            every = max(LABEL_SPACING, len(shown) // TIME_LABELS)
            ticks = x[::every]
            plt.xticks([float(i) for i in ticks], [shown[i].startedAt[11:16] for i in ticks])  # UTC HH:MM
            plt.title("")
        else:
            plt.title("waiting for candles")
        return super().render()


class CandleChartPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Chart", id=id)

    def compose(self):
        yield CandleChart()

    def render_state(self, state: ChartState) -> None:
        self.border_title = "Chart" if state.market is None else f"{state.market} · {state.resolution}"
        self.query_one(CandleChart).show(state)
