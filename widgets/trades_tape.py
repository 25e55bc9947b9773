"""Trades tape of the selected market: its latest trades, newest on top, each with its time (the venue's,
UTC), the taker's side, size, price and notional, buys and sells in their colours; a trade of a notional at
or above `[tape] large_notional` is marked ◆ in bold, a liquidation or deleveraging named. Above them, the
last price and how much of the trades shown were bought and sold."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from textual.content import Content
from textual.widgets import Static

from streams.market.trades import MarketTrade
from widgets.format import DIM, DOWN, UP, Column, Columns, compact, price, quantity
from widgets.panel import Panel
from widgets.rows import KeyedRows, show_text
from widgets.tcss import beside

TAPE_ROWS = 60
"""Trades kept per market: more than the tallest view shows."""
LARGE = "◆"
FORCED = {"LIQUIDATED": "liq", "DELEVERAGED": "delev"}
"""Trade types named on the tape (the others are ordinary trades)."""
COLUMNS = Columns(Column("TIME", 8, left=True), Column("SIDE", 4, left=True), Column("SIZE", 12),
                  Column("PRICE", 12), Column("NOTIONAL", 8), Column("", 7, left=True), gap=2)


@dataclass(frozen=True)
class TradesTapeState:
    market: str | None = None
    trades: tuple[MarketTrade, ...] = ()
    """Newest first."""
    tick: Decimal | None = None


def trade_row(trade: MarketTrade, tick: Decimal | None) -> Content:
    colour = UP if trade.side == "BUY" else DOWN
    strong = f"{colour} bold" if trade.large else colour
    mark = " ".join(part for part in (LARGE if trade.large else "", FORCED.get(trade.type, "")) if part)
    return COLUMNS.row((trade.created_at[11:19], DIM), (trade.side, colour), (quantity(trade.size), strong),
                       (price(trade.price, tick), colour), (compact(trade.notional), strong), (mark, strong))


def summary_line(state: TradesTapeState) -> Content:
    if not state.trades:
        return Content.styled(f"{state.market or 'no market'}: waiting for its trades", DIM)
    last = state.trades[0]
    bought = sum((t.size for t in state.trades if t.side == "BUY"), Decimal(0))
    sold = sum((t.size for t in state.trades if t.side == "SELL"), Decimal(0))
    return Content.assemble((state.market or "", "bold"), "  last ", (price(last.price, state.tick),
                            UP if last.side == "BUY" else DOWN),
                            f"  bought {quantity(bought)} · sold {quantity(sold)} in the last {len(state.trades)}",
                            (f"  {LARGE} large", DIM))


class TradesTapePanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Trades", id=id)
        self._tick: Decimal | None = None

    def compose(self):
        yield Static(id="summary")
        yield Static(COLUMNS.header(), classes="header")
        yield KeyedRows("no trades", render=lambda trade: trade_row(trade, self._tick))

    def render_state(self, state: TradesTapeState) -> None:
        show_text(self.query_one("#summary", Static), summary_line(state))
        rows = self.query_one(KeyedRows)
        if state.tick != self._tick:  # every line is drawn again to the new tick
            self._tick = state.tick
            rows.show([])
        rows.show([(trade.id, trade) for trade in state.trades])
