"""The fixed-point book core (`streams.market.book_core`) against the `Decimal` book it replaced
(`tests/support/decimal_book.py`), update by update: on every v4_orderbook frame of recordings/default and
of the fault corpus's recording, and on random updates whose prices lie on and off any tick grid (and are
written several ways: "100", "100.0", "1E+2"). Each time the same whole book to the digit (the same
`Decimal` text, so the events and the goldens are unchanged), the same best bid and ask, the same
changed/unchanged answer and the same crosses dropped. A price the core cannot place is refused clearly."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sources import DEFAULT_RECORDING
from streams.market import events as ev
from streams.market.book_core import BadLevelError, OrderBook
from streams.market.books import ResyncRequest, order_books
from streams.market.parse import parse_frame
from streams.sources.recording import open_recording
from tests.faults.test_fault_recordings import write
from tests.support.builders import run_frames, ws_frame
from tests.support.decimal_book import DecimalBook

DEPTH = 10
EVERYTHING = 10_000


def same(book: OrderBook, reference: DecimalBook) -> None:
    whole, expected = book.top(EVERYTHING), reference.top(EVERYTHING)
    assert repr(whole) == repr(expected)  # repr: the digits as received, not only equal values
    assert book.top() == reference.top(DEPTH)


def check_update(book: OrderBook, reference: DecimalBook, update: ev.OrderbookUpdate) -> None:
    assert book.apply(update) == reference.apply(update, DEPTH)
    assert book.uncross() == reference.uncross()
    same(book, reference)


def replay_both(events: Iterable[ev.Event]) -> int:
    """Every v4_orderbook event to both books of its market; returns how many updates were compared."""
    books: dict[str, tuple[OrderBook, DecimalBook]] = {}
    compared = 0
    for event in events:
        if not isinstance(event, (ev.Subscribed, ev.ChannelData, ev.ChannelBatchData)) \
                or event.channel != "v4_orderbook" or not event.id:
            continue
        if isinstance(event, ev.Subscribed):
            pair = books[event.id] = (OrderBook(DEPTH), DecimalBook())
            snapshot = event.contents
            assert isinstance(snapshot, ev.OrderbookSnapshot)
            for book in pair:
                book.load(snapshot.bids, snapshot.asks)
            same(*pair)
            continue
        if event.id not in books:
            continue
        updates = event.contents if isinstance(event, ev.ChannelBatchData) else [event.contents]
        for update in updates:
            assert isinstance(update, ev.OrderbookUpdate)
            check_update(*books[event.id], update)
            compared += 1
    return compared


def parsed(path: Path) -> Iterator[ev.Event]:
    for frame in open_recording(path).frames():
        event = parse_frame(frame)
        if event is not None:
            yield event


def test_every_update_of_the_bundled_recording_gives_the_decimal_books_levels():
    assert replay_both(parsed(DEFAULT_RECORDING)) == 3_593  # every update of both books (30,005 levels)


def test_every_update_of_the_fault_corpus_recording_gives_the_decimal_books_levels(tmp_path):
    path, _ = write(tmp_path / "rec")
    assert replay_both(parsed(path)) > 20  # a minute of synthetic batches


def written(n: int, places: int) -> Decimal:
    """n / 10^places, sometimes with trailing zeros or in exponent form: equal values, other digits."""
    value = Decimal(n).scaleb(-places)
    return [value, value.quantize(Decimal(1).scaleb(-places - 2)), Decimal(f"{value:E}")][n % 3]


prices = st.builds(written, st.integers(1, 4_000), st.integers(0, 12))
sizes = st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("1"), Decimal("1.0"), Decimal("2.25")])
level_lists = st.lists(st.tuples(prices, sizes), max_size=6)
updates = st.lists(st.builds(ev.OrderbookUpdate, bids=level_lists, asks=level_lists), max_size=30)
snapshot_levels = st.lists(st.builds(ev.PriceLevel, prices, sizes), max_size=12)


@given(snapshot_levels, snapshot_levels, updates)
def test_prices_on_and_off_any_grid_give_the_decimal_books_levels(bids, asks, sequence):
    book, reference = OrderBook(DEPTH), DecimalBook()
    book.load(bids, asks)
    reference.load(bids, asks)
    same(book, reference)
    for update in sequence:
        check_update(book, reference, update)


def test_a_price_off_the_books_grid_widens_its_unit_and_keeps_every_level_exact():
    book = OrderBook(depth=3)
    book.load([ev.PriceLevel(Decimal("3393.2"), Decimal(1)), ev.PriceLevel(Decimal("3393.1"), Decimal(2))],
              [ev.PriceLevel(Decimal("3393.5"), Decimal(3))])
    book.apply(ev.OrderbookUpdate(bids=[(Decimal("3393.15"), Decimal(4)), (Decimal("3393.1500000001"), Decimal(5))],
                                  asks=[(Decimal("3393.49999999999"), Decimal(6))]))
    assert book.top() == (
        ((Decimal("3393.2"), Decimal(1)), (Decimal("3393.1500000001"), Decimal(5)), (Decimal("3393.15"), Decimal(4))),
        ((Decimal("3393.49999999999"), Decimal(6)), (Decimal("3393.5"), Decimal(3))))
    assert book.key(Decimal("3393.1500000001")) - book.key(Decimal("3393.15")) == 10  # 1e-10 in units of 1e-11


@pytest.mark.parametrize("price, reason", [
    ("NaN", "price NaN is not a finite number"),
    ("-Infinity", "price -Infinity is not a finite number"),
    ("1E-31", "price 1E-31 has more than 30 decimals"),
])
def test_a_price_the_core_cannot_place_is_refused_with_its_reason(price, reason):
    with pytest.raises(BadLevelError, match=reason):
        OrderBook().key(Decimal(price))


CONN = "c0"


def frame(kind: str, message_id: int, contents: dict, t: float):
    return ws_frame({"type": kind, "connection_id": CONN, "message_id": message_id, "channel": "v4_orderbook",
                     "id": "ETH-USD", "contents": contents}, t)


def test_a_level_the_book_cannot_place_makes_it_ask_for_a_snapshot_and_show_nothing_until_then():
    good = {"bids": [{"price": "3393.2", "size": "1"}], "asks": [{"price": "3393.5", "size": "1"}]}
    out = run_frames([
        frame("subscribed", 1, good, 1.0),
        frame("channel_data", 2, {"bids": [["NaN", "1"]]}, 2.0),
        frame("channel_data", 3, {"bids": [["3393.3", "1"]]}, 3.0),  # not trusted: no top
        frame("subscribed", 4, {**good, "asks": [{"price": "Infinity", "size": "1"}]}, 4.0),
        frame("subscribed", 5, good, 5.0),
    ], order_books())
    first, request, bad_snapshot, again = out
    assert first.bids == ((Decimal("3393.2"), Decimal(1)),)
    assert isinstance(request, ResyncRequest) and (request.t, request.id) == (2.0, "ETH-USD")
    assert request.reason == "update level: price NaN is not a finite number"
    assert isinstance(bad_snapshot, ResyncRequest)
    assert bad_snapshot.reason == "snapshot level: price Infinity is not a finite number"
    assert again.t == 5.0 and again.asks == ((Decimal("3393.5"), Decimal(1)),)
