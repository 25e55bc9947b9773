"""Order book depth of the selected market: the best bids and asks side by side, each level's size as a
bar against the largest size shown, the spread and the imbalance above them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from textual.content import Content
from textual.widgets import Static

from streams.market.state import BookTop
from widgets.format import DIM, DOWN, MISSING, UP, Column, Columns, decimal_places, number, price, quantity
from widgets.panel import Panel
from widgets.rows import KeyedRows, show_text
from widgets.tcss import beside

BAR = 7
COLUMNS = Columns(Column("", BAR), Column("BID SIZE", 9), Column("BID", 11), Column("│", 1),
                  Column("ASK", 11, left=True), Column("ASK SIZE", 9, left=True), Column("", BAR, left=True))


@dataclass(frozen=True)
class OrderBookState:
    market: str | None = None
    book: BookTop | None = None
    tick: Decimal | None = None


def bar(size: Decimal | None, largest: Decimal) -> str:
    return "" if size is None or not largest else "█" * max(1, round(size / largest * BAR))


def level_row(bid: tuple[Decimal, Decimal] | None, ask: tuple[Decimal, Decimal] | None, largest: Decimal,
              tick: Decimal | None) -> Content:
    bid_size, ask_size = (bid[1] if bid else None), (ask[1] if ask else None)
    return COLUMNS.row((bar(bid_size, largest), UP), (quantity(bid_size) if bid else "", ""),
                       (price(bid[0], tick) if bid else "", UP), ("│", DIM), (price(ask[0], tick) if ask else "", DOWN),
                       (quantity(ask_size) if ask else "", ""), (bar(ask_size, largest), DOWN))


def mid(value: Decimal | None, tick: Decimal | None) -> str:
    """The mid price, to a place finer than the tick (it falls between two ticks when the spread is odd)."""
    return price(value, None) if value is None or tick is None else number(value, decimal_places(tick) + 1)


def summary_line(state: OrderBookState) -> Content:
    book = state.book
    if book is None:
        return Content.styled(f"{state.market or 'no market'}: waiting for its book", DIM)
    spread = MISSING if book.spread is None else price(book.spread, state.tick)
    bps = "" if book.spread is None or not book.mid else f" ({book.spread / book.mid * 10_000:.1f}bp)"
    imbalance = MISSING if book.imbalance is None else number(book.imbalance, 2, signed=True)
    return Content.assemble((state.market or "", "bold"), f"  mid {mid(book.mid, state.tick)}  spread {spread}{bps}"
                            f"  imbalance {imbalance}")


class OrderBookPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Book", id=id)

    def compose(self):
        yield Static(id="summary")
        yield Static(COLUMNS.header(), classes="header")
        yield KeyedRows("no levels")

    def render_state(self, state: OrderBookState) -> None:
        show_text(self.query_one("#summary", Static), summary_line(state))
        book = state.book
        bids, asks = (book.bids, book.asks) if book is not None else ((), ())
        largest = max((size for _, size in (*bids, *asks)), default=Decimal(0))
        depth = max(len(bids), len(asks))
        self.query_one(KeyedRows).show([
            (str(level), level_row(bids[level] if level < len(bids) else None,
                                   asks[level] if level < len(asks) else None, largest, state.tick))
            for level in range(depth)])
