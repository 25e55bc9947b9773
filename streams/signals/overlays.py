"""The candle chart's indicator overlays: its `[chart]` config section, and the lines it draws over the
candles (EMA, Bollinger bands, VWAP), computed by the registry's own indicators, as the indicator stage
computes them, so a line on the chart is what the signals read from the same candles."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Literal, NamedTuple

from streams.kernel.settings import Section
from streams.market.events import Candle
from streams.signals.config import IndicatorParams, Period, Positive
from streams.signals.indicators.market import Bar
from streams.signals.indicators.registry import BAR_INDICATORS

Overlay = Literal["none", "ema", "bollinger", "vwap", "all"]
OVERLAYS: tuple[Overlay, ...] = typing.get_args(Overlay)
"""In the order the dashboard's key cycles them."""
OVERLAY_INDICATORS: dict[Overlay, tuple[str, ...]] = {
    "none": (), "ema": ("ema",), "bollinger": ("bollinger",), "vwap": ("vwap",), "all": ("ema", "bollinger", "vwap")}
"""Each overlay's indicators (registry names)."""


class ChartConfig(Section, frozen=True):
    """The dashboard's candle chart: the overlay it starts with (the `i` key cycles them), whether it starts
    with volume bars under the candles (`u` toggles them), and the overlays' periods in candles."""

    overlay: Overlay = "none"
    volume: bool = False
    ema_period: Period = 20
    bollinger_period: Period = 20
    bollinger_width: Positive = 2.0  # standard deviations
    vwap_period: Period = 60

    def params(self) -> IndicatorParams:
        """The overlays' periods as the indicators' own parameters (the others keep their defaults)."""
        return IndicatorParams(ema_period=self.ema_period, bollinger_period=self.bollinger_period,
                               bollinger_width=self.bollinger_width, vwap_period=self.vwap_period)


class Line(NamedTuple):
    name: str
    """The indicator snapshot's key for it: `ema`, `bb_upper`, `bb_middle`, `bb_lower`, `vwap`."""
    values: tuple[float | None, ...]
    """One per candle, oldest first; None while its indicator warms up."""


_DRAWN = tuple(entry for entry in BAR_INDICATORS if entry.name in OVERLAY_INDICATORS["all"])


def overlay_lines(candles: Sequence[Candle], config: ChartConfig = ChartConfig()) -> tuple[Line, ...]:
    """Every overlay line at each of `candles` (oldest first): each indicator fed them in order, the closed
    ones with `update`; the last, which may still be open, with `peek`, which gives what `update` would."""
    made = [(entry, entry.make(config.params(), 1.0)) for entry in _DRAWN]  # no overlay reads bars per year
    columns: list[list[float | None]] = [[] for entry in _DRAWN for _ in entry.values]
    last = len(candles) - 1
    for at, candle in enumerate(candles):
        bar = Bar.of(candle)
        row = [value for entry, indicator in made
               for value in entry.read(indicator.peek if at == last else indicator.update, bar)]
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    names = [name for entry in _DRAWN for name in entry.values]
    return tuple(Line(name, tuple(column)) for name, column in zip(names, columns, strict=True))
