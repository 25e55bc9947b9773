"""Data health: one row per stream (each subscription, REST, parse errors) with its state, message rate,
the age of its last message and what went wrong with it (gaps, resyncs, crossed books, errors)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widgets import Static

from streams.market.state import StreamHealth
from widgets.format import DIM, Column, Columns
from widgets.markets import HEALTH_STYLES
from widgets.panel import Panel
from widgets.rows import KeyedRows
from widgets.tcss import beside

COLUMNS = Columns(Column("STREAM", 20, left=True), Column("STATE", 9, left=True), Column("RATE", 7),
                  Column("AGE", 5), Column("GAPS", 4), Column("RESYNC", 6), Column("CROSS", 5), Column("ERR", 4))


@dataclass(frozen=True)
class DataHealthState:
    streams: tuple[StreamHealth, ...] = ()


def age(seconds: float) -> str:
    """`0.4s`, `31.0s`, then `12m`, `3h`: a stream silent that long needs no tenths."""
    if seconds < 100:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.0f}m" if seconds < 3600 else f"{seconds / 3600:.0f}h"


def _count(value: int, style: str) -> tuple[str, str]:
    return str(value), style if value else DIM


def stream_label(stream: str) -> str:
    """A stream's name, short: `v4_orderbook:BTC-USD` -> `orderbook:BTC-USD`, `rest:/v4/candles/
    perpetualMarkets/BTC-USD` -> `rest:candles/BTC-USD`."""
    kind, _, rest = stream.partition(":")
    if kind == "rest":
        rest = rest.removeprefix("/v4/").replace("perpetualMarkets/", "")
    return f"{kind.removeprefix('v4_')}:{rest}" if rest else kind.removeprefix("v4_")


def health_row(health: StreamHealth) -> Content:
    return COLUMNS.row(
        (stream_label(health.stream), ""),
        (f"● {health.state}", HEALTH_STYLES.get(health.state, DIM)),
        (f"{health.rate:.1f}/s", ""),
        (age(health.last_age), "$text-warning" if health.state == "stale" else DIM),
        _count(health.gaps, "$text-warning"),
        _count(health.resyncs, "$text-warning"),
        _count(health.crossed, "$text-warning"),
        _count(health.errors, "$text-error"),
    )


class DataHealthPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Data health", id=id)

    def compose(self):
        yield Static(COLUMNS.header(), classes="header")
        yield KeyedRows("no streams yet", render=health_row)

    def render_state(self, state: DataHealthState) -> None:
        self.query_one(KeyedRows).show([(h.stream, h) for h in state.streams])
