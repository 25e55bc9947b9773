"""The candle chart of the selected market (textual-plotext): as many of the latest candles as the
panel is wide, time labels in UTC, up and down candles in the theme's success and error colours, our fills
as markers at their candle and price (▲ buy, ▼ sell), and optionally indicator overlays and volume bars.

The overlay lines come computed with the state (`streams.signals.overlays`, one value per candle); the chart
keeps which overlay it draws and whether volume is shown, the dashboard's keys change them."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from streams.kernel.orders import Fill, Side
from streams.market.events import Candle
from streams.signals.overlays import OVERLAY_INDICATORS, OVERLAYS, ChartConfig, Line, Overlay
from widgets.format import compact
from widgets.panel import Panel
from widgets.tcss import beside

CELLS_PER_CANDLE = 2
Y_AXIS = 12
"""Cells the price labels and axis take."""
TIME_LABELS = 4
LABEL_SPACING = 6
"""Candles at least between two time labels: plotext nudges a label that lands near another, and which one
moves depends on the order it places them in (not fixed from run to run), so they must not come near."""
VOLUME_SHARE = 3
"""Volume takes a third of the chart's rows (the candles keep the rest)..."""
VOLUME_ROWS = 4
"""... and at least 4: 2 of bars, the time axis and its labels (at 80x24 the chart has 9 rows)."""
PRICE_ROWS = 5
"""Rows the candles need at least beside volume: 3 of prices inside their frame."""

LINE_COLOURS = {"ema": "primary", "bb_upper": "foreground-muted", "bb_middle": "foreground-muted",
                "bb_lower": "foreground-muted", "vwap": "warning"}
"""Theme colour of each overlay line: EMA blue, Bollinger bands grey, VWAP orange (on the default theme)."""
LINES = {"ema": ("ema",), "bollinger": ("bb_upper", "bb_middle", "bb_lower"), "vwap": ("vwap",)}
"""Each overlay indicator's lines."""
MARKERS: dict[Side, tuple[str, str]] = {"BUY": ("▲", "success"), "SELL": ("▼", "error")}


@dataclass(frozen=True)
class TradeMarker:
    """A fill, drawn at the candle it was made in and at its price."""

    candle: str
    """The candle's startedAt."""
    side: Side
    price: Decimal


@dataclass(frozen=True)
class ChartState:
    market: str | None = None
    resolution: str = "1MIN"
    candles: tuple[Candle, ...] = ()
    """Oldest first; the last one may still be open."""
    markers: tuple[TradeMarker, ...] = ()
    """Fills of the market in `candles`' time, oldest first."""
    lines: tuple[Line, ...] = ()
    """The overlay lines, one value per candle (`streams.signals.overlays.overlay_lines`)."""


def candle_start(candle: Candle) -> float:
    return datetime.fromisoformat(candle.startedAt).timestamp()


def trade_markers(candles: Sequence[Candle], fills: Iterable[Fill], seconds: float) -> tuple[TradeMarker, ...]:
    """Each of `fills` at the candle of `candles` (oldest first, each `seconds` long) whose time it is in;
    fills outside every candle are left out."""
    starts = [candle_start(candle) for candle in candles]
    markers = []
    for fill in fills:
        at = bisect_right(starts, fill.t) - 1
        if at >= 0 and fill.t < starts[at] + seconds:
            markers.append(TradeMarker(candles[at].startedAt, fill.side, fill.price))
    return tuple(markers)


class CandleChart(PlotextPlot):
    def __init__(self, config: ChartConfig = ChartConfig(), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state = ChartState()
        self.overlay: Overlay = config.overlay
        self.volume = config.volume

    def show(self, state: ChartState) -> None:
        if state != self._state:
            self._state = state
            self.refresh()

    def set_view(self, overlay: Overlay, volume: bool) -> None:
        if (overlay, volume) != (self.overlay, self.volume):
            self.overlay, self.volume = overlay, volume
            self.refresh()

    @property
    def _volume_rows(self) -> int:
        return max(VOLUME_ROWS, self.size.height // VOLUME_SHARE)

    @property
    def volume_fits(self) -> bool:
        """Volume is on and the chart is tall enough for it beside the candles."""
        return self.volume and self.size.height - self._volume_rows >= PRICE_ROWS

    def _colour(self, name: str) -> tuple[int, int, int]:
        return Color.parse(self.app.theme_variables[name]).rgb

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_figure()  # clear_data keeps the last ticks: a chart would depend on what it showed before
        state = self._state
        count = max(1, (self.size.width - Y_AXIS) // CELLS_PER_CANDLE)
        shown = state.candles[-count:]
        if not shown:
            plt.title("waiting for candles")
            return super().render()
        skip = len(state.candles) - len(shown)
        volume_rows = self._volume_rows
        if self.volume_fits:
            plt.subplots(2, 1)
            volume = plt.subplot(2, 1)
            volume.plotsize(self.size.width, volume_rows)
            price = plt.subplot(1, 1)  # the rest of the rows
            # both axes take labels as wide, so that the candles' columns are the volume bars' columns
            price_labels = self._price_plot(price, state, shown, skip, rows=self.size.height - volume_rows)
            volume_label = compact(max(float(c.usdVolume) for c in shown) or 1.0)
            width = max(len(volume_label), *map(len, price_labels.values()))
            price.yticks(list(price_labels), [label.rjust(width) for label in price_labels.values()])
            self._volume_plot(volume, shown, volume_label.rjust(width))
            self._time_axis(volume, shown)
            price.xticks([])  # its frame's lower side parts it from the volume, whose axis is the time's
            volume.xaxes(True, False)
        else:
            self._price_plot(plt, state, shown, skip)
            self._time_axis(plt, shown)
        plt.title("")
        return super().render()

    def _price_plot(self, plot: Any, state: ChartState, shown: Sequence[Candle], skip: int, *, rows: int = 0
                    ) -> dict[float, str]:
        """Overlays, candles and markers on `plot`. With `rows`, its price range is set and its price labels
        returned (tick -> label) for the caller to place: plotext's own are as wide as they come."""
        x = list(range(len(shown)))
        drawn = {name for indicator in OVERLAY_INDICATORS[self.overlay] for name in LINES[indicator]}
        highs, lows = [float(c.high) for c in shown], [float(c.low) for c in shown]
        for line in state.lines:  # under the candles: a candle is never hidden by a line
            if line.name not in drawn:
                continue
            points = [(i, value) for i, value in zip(x, line.values[skip:], strict=True) if value is not None]
            if points:
                plot.plot([i for i, _ in points], [v for _, v in points], marker="braille",
                          color=self._colour(LINE_COLOURS[line.name]))
                highs.append(max(v for _, v in points))
                lows.append(min(v for _, v in points))
        prices = {"Open": [float(c.open) for c in shown], "Close": [float(c.close) for c in shown],
                  "High": [float(c.high) for c in shown], "Low": [float(c.low) for c in shown]}
        plot.candlestick(x, prices, colors=[self._colour("success"), self._colour("error")])
        at = {candle.startedAt: i for i, candle in enumerate(shown)}
        for side, (symbol, colour) in MARKERS.items():
            points = [(at[m.candle], float(m.price)) for m in state.markers if m.side == side and m.candle in at]
            if points:
                plot.scatter([i for i, _ in points], [p for _, p in points], marker=symbol, color=self._colour(colour))
        if not rows:
            return {}
        low, high = min(lows), max(highs)
        plot.ylim(low, high if high > low else low + 1)
        plot.xlim(-0.5, len(shown) - 0.5)
        # labels 1.5 rows apart at least: plotext moves one of two labels that come to the same row, and which
        # one depends on the order it places them in, not fixed from run to run
        ticks = nice_ticks(low, high, 1.5 * (high - low) / max(1, rows - 3))  # rows inside the frame, less one
        return {tick: f"{tick:,.{_places(ticks)}f}" for tick in ticks}

    def _volume_plot(self, plot: Any, shown: Sequence[Candle], label: str) -> None:
        """Each candle's USD volume as a bar in its column, coloured as its candle: drawn as candles from 0 to
        the volume, so that the columns are the candles' own."""
        volumes = [float(c.usdVolume) for c in shown]
        up = [c.close >= c.open for c in shown]
        top = max(volumes) or 1.0
        plot.candlestick(list(range(len(shown))), {
            "Open": [0.0 if rising else v for rising, v in zip(up, volumes, strict=True)],
            "Close": [v if rising else 0.0 for rising, v in zip(up, volumes, strict=True)],
            "High": volumes, "Low": [0.0] * len(shown)}, colors=[self._colour("success"), self._colour("error")])
        plot.ylim(0.0, top)
        plot.yticks([top], [label])
        plot.xlim(-0.5, len(shown) - 0.5)

    @staticmethod
    def _time_axis(plot: Any, shown: Sequence[Candle]) -> None:
        every = max(LABEL_SPACING, len(shown) // TIME_LABELS)
        ticks = list(range(len(shown)))[::every]
        plot.xticks([float(i) for i in ticks], [shown[i].startedAt[11:16] for i in ticks])  # UTC HH:MM


def nice_ticks(low: float, high: float, gap: float) -> list[float]:
    """Round values from `low` to `high`, in the smallest step of 1, 2 or 5 times a power of ten that is at
    least `gap`."""
    if high <= low or gap <= 0:
        return [low]
    power = 10.0 ** math.floor(math.log10(gap))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= gap)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _places(ticks: Sequence[float]) -> int:
    """Decimal places that tell `ticks` apart."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return max(0, -math.floor(math.log10(step))) if step < 1 else 0


class CandleChartPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, config: ChartConfig = ChartConfig(), *, id: str | None = None) -> None:
        super().__init__("Chart", id=id)
        self._config = config
        self._state = ChartState()

    def compose(self):
        yield CandleChart(self._config)

    def render_state(self, state: ChartState) -> None:
        self._state = state
        self.query_one(CandleChart).show(state)
        self._title()

    def next_overlay(self) -> Overlay:
        """Draw the next overlay (none -> EMA -> Bollinger -> VWAP -> all -> none)."""
        chart = self.query_one(CandleChart)
        chart.set_view(OVERLAYS[(OVERLAYS.index(chart.overlay) + 1) % len(OVERLAYS)], chart.volume)
        self._title()
        return chart.overlay

    def toggle_volume(self) -> bool:
        chart = self.query_one(CandleChart)
        chart.set_view(chart.overlay, not chart.volume)
        self._title()
        return chart.volume

    def _title(self) -> None:
        """The market and resolution, then what is drawn over and under the candles."""
        state, chart, config = self._state, self.query_one(CandleChart), self._config
        if state.market is None:
            self.border_title = "Chart"
            return
        named = {"ema": f"EMA {config.ema_period}",
                 "bollinger": f"BB {config.bollinger_period} {config.bollinger_width:g}",
                 "vwap": f"VWAP {config.vwap_period}"}
        shown = [named[indicator] for indicator in OVERLAY_INDICATORS[chart.overlay]]
        volume = ["vol" if chart.volume_fits else "vol: too short"] if chart.volume else []
        self.border_title = " · ".join([state.market, state.resolution, *shown, *volume])

    def on_resize(self) -> None:
        self._title()  # whether volume fits
