"""The order book depth view: a real Indexer book snapshot through the books layer, then shown; before
any book; and the levels as the rows say them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.market.books import order_books
from streams.market.state import BookTop
from tests.support.builders import load_sample, run_frames, ws_frame
from tests.support.dashboard import PanelApp, T
from widgets.order_book import BAR, OrderBookPanel, OrderBookState, level_row, summary_line

SIZES = {"80": (80, 14), "160": (160, 14)}


@pytest.fixture(scope="module")
def book(samples_dir) -> BookTop:
    snapshot = load_sample(samples_dir, "nautilus-2024/ws/v4_orderbook_snapshot.json")
    (top,) = [value for value in run_frames([ws_frame(snapshot, T)], order_books(10)) if isinstance(value, BookTop)]
    return top


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", ["book", "waiting"])
def test_snapshot(snap_compare, book: BookTop, state: str, size: str) -> None:
    shown = OrderBookState(book.market, book, Decimal("0.1")) if state == "book" else OrderBookState("ETH-USD")
    assert snap_compare(PanelApp(OrderBookPanel(), shown), terminal_size=SIZES[size])


def test_the_rows_are_the_levels_best_first_with_bars_against_the_largest(book: BookTop) -> None:
    largest = max(size for _, size in (*book.bids, *book.asks))
    first = level_row(book.bids[0], book.asks[0], largest, Decimal("0.1")).plain
    assert f"{book.bids[0][0]:,.1f} │ {book.asks[0][0]:,.1f}" in first
    assert level_row(None, (Decimal("10"), largest), largest, None).plain.rstrip().endswith("█" * BAR)
    assert summary_line(OrderBookState(book.market, book, Decimal("0.1"))).plain.startswith(
        f"{book.market}  mid {book.mid:,.2f}  spread {book.spread:,.1f} (")
