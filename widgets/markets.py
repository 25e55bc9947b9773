"""Markets: price, 24h change, funding rate and countdown, spread, open interest and data health, one row
per followed market; the selected market is highlighted (its chart and signals show beside)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from streams.market.markets import seconds_to_funding
from streams.market.state import BookTop, MarketInfo
from widgets.format import DIM, MISSING, Column, Columns, compact, countdown, percent, price, sign_style
from widgets.panel import Panel
from widgets.rows import KeyedRows
from widgets.tcss import beside

HEALTH_STYLES = {"ok": "$text-success", "stale": "$text-warning", "resyncing": "$text-warning",
                 "error": "$text-error"}
"""Data health state -> style; the states are those of `StreamHealth.state`."""

COLUMNS = Columns(Column("MARKET", 9, left=True), Column("PRICE", 11), Column("24H", 7), Column("FUNDING/H", 9),
                  Column("NEXT", 5), Column("SPREAD", 7), Column("OI", 7), Column("DATA", 9, left=True))


@dataclass(frozen=True)
class MarketRow:
    market: str
    info: MarketInfo | None = None
    book: BookTop | None = None
    health: str | None = None
    """The worst state of the market's streams (book, trades, candles), None before any report."""


@dataclass(frozen=True)
class MarketsState:
    rows: tuple[MarketRow, ...] = ()
    selected: str | None = None
    t: float | None = None
    """Event time now: the funding countdown runs on it."""


def _change_24h(info: MarketInfo) -> float | None:
    """The Indexer's 24h change is absolute; as a fraction of the price a day ago."""
    change, now = info.price_change_24h, info.oracle_price
    if change is None or now is None or now == change:
        return None
    return float(change / (now - change))


def _spread_bps(book: BookTop | None) -> str:
    if book is None or book.spread is None or not book.mid:
        return MISSING
    return f"{book.spread / book.mid * 10_000:.1f}bp"


def next_funding(t: float | None) -> str:
    """The countdown from event time `t` to the next funding payment: every market's."""
    return MISSING if t is None else countdown(seconds_to_funding(t))


def market_row(row: MarketRow, funding_in: str) -> Content:
    info, health = row.info, row.health
    change = None if info is None else _change_24h(info)
    funding = None if info is None else info.next_funding_rate
    return COLUMNS.row(
        (row.market, ""),
        (MISSING if info is None else price(info.oracle_price, info.tick_size), ""),
        (percent(change, 2, signed=True), sign_style(change)),
        (percent(funding, 4, signed=True), sign_style(funding)),
        (funding_in, DIM),
        (_spread_bps(row.book), ""),
        (MISSING if info is None else compact(info.open_interest), ""),
        (f"● {health}" if health else "○ waiting", HEALTH_STYLES.get(health or "", DIM)),
    )


class MarketsPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    class Selected(Message):
        """A market row was clicked."""

        def __init__(self, market: str) -> None:
            super().__init__()
            self.market = market

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Markets", id=id)

    def compose(self):
        yield Static(COLUMNS.header(), classes="header")
        yield KeyedRows("waiting for market data", render=lambda row_funding: market_row(*row_funding))

    def render_state(self, state: MarketsState) -> None:
        # rows are given the countdown, not the time: a row is made again when its text changes, not at
        # every tick of event time
        funding_in = next_funding(state.t)
        self.query_one(KeyedRows).show([(row.market, (row, funding_in)) for row in state.rows], state.selected)

    def on_keyed_rows_clicked(self, event: KeyedRows.Clicked) -> None:
        event.stop()
        self.post_message(self.Selected(event.key))
