"""Order books from recorded v4_orderbook frames: the real ETH-USD snapshot, the real batched frame applied
in order, a real single-level delete; crossed books uncrossed like the venue's guide says, and resync
requests when the feed cannot be trusted. Frames -> parse() -> order_books() -> assertions."""

from __future__ import annotations

from decimal import Decimal

import pytest
import reactivex
from hypothesis import given
from hypothesis import strategies as st

from streams.market import events as ev
from streams.market.book_core import OrderBook
from streams.market.books import CrossCleared, ResyncRequest, Uncrossed, order_books
from streams.market.parse import parse
from streams.market.state import BookTop
from tests.support.builders import load_sample, run_frames, ws_frame

T0 = 1_721_848_355.0  # 2024-07-24 19:12:35 UTC, when the ETH-USD snapshot was live
CONN = "7ad53844-1f2c-4d86-83d1-42f6562844f3"  # the mainnet connection of the snapshot and the delete


@pytest.fixture(scope="module")
def snapshot(samples_dir) -> dict:
    return load_sample(samples_dir, "nautilus-2024/ws/v4_orderbook_snapshot.json")


@pytest.fixture(scope="module")
def batch(samples_dir) -> dict:
    return load_sample(samples_dir, "nautilus-2024/ws/v4_orderbook_batched_data.json")


def update(message_id: int, t: float, bids=(), asks=(), market="ETH-USD", connection_id=CONN, conn=0):
    """A channel_data frame shaped like the real ones (levels as [price, size] arrays)."""
    contents = {}
    if bids:
        contents["bids"] = [list(level) for level in bids]
    if asks:
        contents["asks"] = [list(level) for level in asks]
    return ws_frame({"type": "channel_data", "connection_id": connection_id, "message_id": message_id,
                     "channel": "v4_orderbook", "id": market, "version": "1.0.0", "contents": contents},
                    t, conn=conn)


def subscribed(message_id: int, t: float, bids=(), asks=(), market="ETH-USD", connection_id=CONN):
    return ws_frame({"type": "subscribed", "connection_id": connection_id, "message_id": message_id,
                     "channel": "v4_orderbook", "id": market,
                     "contents": {"bids": [{"price": p, "size": s} for p, s in bids],
                                  "asks": [{"price": p, "size": s} for p, s in asks]}}, t)


def levels(raw: list) -> list[tuple[Decimal, Decimal]]:
    """Snapshot objects or update arrays as (price, size)."""
    pairs = [(x["price"], x["size"]) if isinstance(x, dict) else x for x in raw]
    return [(Decimal(price), Decimal(size)) for price, size in pairs]


def fold(book: dict[str, dict[Decimal, Decimal]], contents: list[dict]) -> dict[str, dict[Decimal, Decimal]]:
    """The reference: absolute sizes applied in order to plain dicts, "0" deleting."""
    for content in contents:
        for side in ("bids", "asks"):
            for price, size in levels(content.get(side, [])):
                if size:
                    book[side][price] = size
                else:
                    book[side].pop(price, None)
    return book


def best_first(side: dict[Decimal, Decimal], bids: bool) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple(sorted(side.items(), reverse=bids))


def tops(out: list) -> list[BookTop]:
    return [value for value in out if isinstance(value, BookTop)]


# ---------------------------------------------------------------------------------------------------
# Real payloads


def test_the_real_snapshot_gives_the_top_levels_mid_spread_and_imbalance(snapshot):
    [top] = run_frames([ws_frame(snapshot, T0)], order_books(depth=10))

    bids, asks = levels(snapshot["contents"]["bids"]), levels(snapshot["contents"]["asks"])
    assert top.t == T0 and top.market == "ETH-USD" and top.message_id == 4
    assert top.bids == tuple(bids[:10]) and top.asks == tuple(asks[:10])
    assert top.bids[0] == (Decimal("3393.2"), Decimal("7.795"))
    assert top.asks[0] == (Decimal("3393.5"), Decimal("4.946"))
    assert top.mid == Decimal("3393.35") and top.spread == Decimal("0.3")
    bid_size, ask_size = sum(s for _, s in bids[:10]), sum(s for _, s in asks[:10])
    assert top.imbalance == pytest.approx(float((bid_size - ask_size) / (bid_size + ask_size)))


def test_the_whole_real_snapshot_is_kept_sorted(snapshot):
    [top] = run_frames([ws_frame(snapshot, T0)], order_books(depth=100))

    assert len(top.bids) == len(top.asks) == 100
    assert top.bids == best_first(dict(levels(snapshot["contents"]["bids"])), bids=True)
    assert top.asks == best_first(dict(levels(snapshot["contents"]["asks"])), bids=False)


def test_the_real_batched_frame_is_applied_in_order_and_gives_one_top(batch):
    conn = batch["connection_id"]
    out = run_frames([subscribed(2, T0, connection_id=conn), ws_frame(batch, T0 + 1)], order_books(depth=100))

    assert len(batch["contents"]) == 41
    expected = fold({"bids": {}, "asks": {}}, batch["contents"])
    first, top = out  # the empty snapshot, then one top for the 41 deltas
    assert first.bids == first.asks == () and first.mid is None and first.imbalance is None
    assert top.message_id == 17 and top.t == T0 + 1
    assert top.bids == best_first(expected["bids"], bids=True)
    assert top.asks == best_first(expected["asks"], bids=False)
    # order matters: 2396.1 was written five times, 2339.5 deleted and then set again
    book = dict(top.bids)
    assert book[Decimal("2396.1")] == Decimal("1.074")
    assert book[Decimal("2339.5")] == Decimal("7.818")
    assert Decimal("2396.6") not in book
    assert top.bids[0] == (Decimal("2396.3"), Decimal("4.788"))
    assert top.asks[0] == (Decimal("2396.9"), Decimal("4"))
    assert top.spread == Decimal("0.6")


def test_a_drifted_book_loses_its_stale_side_to_the_newer_levels(snapshot, batch):
    """The snapshot (July, ~3393) and the batch (September, ~2396) are real captures two months apart: on
    one connection they are the worst drift there is. The first ask below the July bids crosses all of
    them, and all 100 stale bids go; the July asks, not crossed, stay behind the new ones."""
    out = run_frames([ws_frame(snapshot, T0), ws_frame(batch, T0 + 1, connection_id=CONN)],
                     order_books(depth=200))

    assert [type(value) for value in out] == [BookTop, Uncrossed, BookTop]
    assert out[1] == Uncrossed(t=T0 + 1, market="ETH-USD", bids_dropped=100, asks_dropped=0)
    expected = fold({"bids": {}, "asks": dict(levels(snapshot["contents"]["asks"]))}, batch["contents"])
    top = out[2]
    assert top.bids == best_first(expected["bids"], bids=True)
    assert top.asks == best_first(expected["asks"], bids=False)
    assert top.bids[0][0] < top.asks[0][0]


def test_a_real_single_level_delete_moves_the_best_bid(samples_dir):
    delete = load_sample(samples_dir, "nautilus-2024/ws/v4_orderbook.json")  # BTC-USD 65920 -> "0"
    book = subscribed(5, T0, market="BTC-USD", bids=[("65920", "0.5"), ("65919", "1.2")],
                      asks=[("65921", "0.3"), ("65922", "2")])

    first, second = run_frames([book, ws_frame(delete, T0 + 2)], order_books(depth=10))

    assert first.bids[0] == (Decimal("65920"), Decimal("0.5"))
    assert second.bids == ((Decimal("65919"), Decimal("1.2")),)
    assert second.message_id == 3219 and second.market == "BTC-USD"
    assert second.mid == Decimal("65920") and second.spread == Decimal("2")


# ---------------------------------------------------------------------------------------------------
# When the feed cannot be trusted


BIDS = [("3393.2", "7.795"), ("3393.1", "10.59"), ("3393", "20.189")]
ASKS = [("3393.5", "4.946"), ("3393.6", "7.856"), ("3393.7", "30.983")]


def test_a_message_id_regression_asks_for_a_resync_and_silences_the_book_until_a_new_snapshot():
    out = run_frames([
        subscribed(4, T0, BIDS, ASKS),
        update(10, T0 + 1, bids=[("3393.3", "1")]),
        update(9, T0 + 2, bids=[("3393.4", "1")]),  # backwards: updates were lost or replayed
        update(11, T0 + 3, bids=[("3393.4", "2")]),  # ignored: the book is not trusted any more
        subscribed(20, T0 + 4, BIDS, ASKS),
        update(21, T0 + 5, asks=[("3393.4", "1")]),
    ], order_books())

    assert [type(value) for value in out] == [BookTop, BookTop, ResyncRequest, BookTop, BookTop]
    request = out[2]
    assert (request.t, request.channel, request.id, request.conn) == (T0 + 2, "v4_orderbook", "ETH-USD", 0)
    assert "10" in request.reason and "9" in request.reason
    assert out[3].message_id == 20 and out[3].bids[0][0] == Decimal("3393.2")
    assert out[4].asks[0] == (Decimal("3393.4"), Decimal("1"))


def test_a_repeated_message_id_is_a_regression_too():
    out = run_frames([subscribed(4, T0, BIDS, ASKS), update(10, T0 + 1, bids=[("3393.3", "1")]),
                      update(10, T0 + 2, bids=[("3393.3", "1")])], order_books())

    assert isinstance(out[-1], ResyncRequest) and "from 10 to 10" in out[-1].reason


def test_an_update_from_another_connection_asks_for_a_resync():
    """After a reconnect the old book is from another connection: updates cannot continue it."""
    out = run_frames([subscribed(4, T0, BIDS, ASKS),
                      update(3, T0 + 1, bids=[("3393.3", "1")], connection_id="another", conn=1)],
                     order_books())

    request = out[-1]
    assert isinstance(request, ResyncRequest) and request.conn == 1 and "another" in request.reason


def crossing_updates(first_id: int, t: float, count: int, step: float = 0.1):
    """Updates that each cross the book: alternately an ask at 3393.1 (below the best bid 3393.2) and a
    bid at 3393.2 (above that ask), on the snapshot of BIDS and ASKS."""
    sides = [("asks", "3393.1"), ("bids", "3393.2")]
    return [update(first_id + i, t + i * step, **{sides[i % 2][0]: [(sides[i % 2][1], "1")]})
            for i in range(count)]


def test_a_cross_is_resolved_by_dropping_the_older_levels():
    out = run_frames([subscribed(4, T0, BIDS, ASKS), update(5, T0 + 1, asks=[("3393.05", "2")])],
                     order_books())

    assert out[1] == Uncrossed(t=T0 + 1, market="ETH-USD", bids_dropped=2, asks_dropped=0)
    top = out[2]
    assert top.bids[0] == (Decimal("3393"), Decimal("20.189"))
    assert top.asks[0] == (Decimal("3393.05"), Decimal("2"))


def test_both_sides_in_one_update_the_later_level_wins():
    out = run_frames([subscribed(4, T0, BIDS, ASKS),
                      update(5, T0 + 1, bids=[("3393.6", "1")], asks=[("3393.6", "2")])], order_books())

    # the bid (applied first) beats the snapshot ask 3393.5, then loses to the newer ask at its price
    assert out[1] == Uncrossed(t=T0 + 1, market="ETH-USD", bids_dropped=1, asks_dropped=1)
    assert out[2].bids[0][0] == Decimal("3393.2")
    assert out[2].asks[0] == (Decimal("3393.6"), Decimal("2"))


def test_crosses_on_consecutive_updates_ask_for_one_resync_until_the_next_snapshot():
    frames = [subscribed(4, T0, BIDS, ASKS), *crossing_updates(5, T0 + 1, 6),
              subscribed(30, T0 + 2, BIDS, ASKS), *crossing_updates(31, T0 + 3, 4)]
    out = run_frames(frames, order_books(max_crossed_updates=5, max_crossed_seconds=60))

    kinds = [type(value).__name__ for value in out]
    assert kinds.count("Uncrossed") == 10
    [request] = [value for value in out if isinstance(value, ResyncRequest)]
    assert request.t == pytest.approx(T0 + 1.4) and "5 updates" in request.reason
    assert all(top.bids[0][0] < top.asks[0][0] for top in tops(out))


def test_a_cross_lasting_long_enough_asks_for_a_resync():
    out = run_frames([subscribed(4, T0, BIDS, ASKS), *crossing_updates(5, T0 + 1, 3, step=0.6)],
                     order_books(max_crossed_updates=100, max_crossed_seconds=1.0))

    [request] = [value for value in out if isinstance(value, ResyncRequest)]
    assert request.t == pytest.approx(T0 + 2.2) and "1.200 s" in request.reason


def test_a_clean_update_ends_a_run_of_crosses():
    crossing = crossing_updates(5, T0 + 1, 4)
    frames = [subscribed(4, T0, BIDS, ASKS), *crossing[:2], update(7, T0 + 1.25, bids=[("3300", "1")]),
              *[update(8 + i, T0 + 1.3 + i * 0.1, **{side: [(price, "1")]})
                for i, (side, price) in enumerate([("asks", "3393.0"), ("bids", "3393.1")])]]
    out = run_frames(frames, order_books(max_crossed_updates=3, max_crossed_seconds=60))

    assert not [value for value in out if isinstance(value, ResyncRequest)]


def quiet_updates(first_id: int, t: float, count: int) -> list:
    """Updates deep in the bids, crossing nothing."""
    return [update(first_id + i, t + i * 0.1, bids=[(f"33{i % 10}0", "1")]) for i in range(count)]


def test_a_book_that_kept_crossing_and_stops_is_sound_again_without_a_snapshot():
    # what a replay sees: nobody answers the request, the updates go on and the crosses stop
    frames = [subscribed(4, T0, BIDS, ASKS), *crossing_updates(5, T0 + 1, 6), *quiet_updates(11, T0 + 2, 3),
              *crossing_updates(14, T0 + 3, 1), *quiet_updates(15, T0 + 4, 5)]
    out = run_frames(frames, order_books(max_crossed_updates=5, max_crossed_seconds=60))

    [request] = [value for value in out if isinstance(value, ResyncRequest)]
    # three clean updates were not enough: a cross came again, and five more were needed
    assert [value for value in out if isinstance(value, CrossCleared)] == [
        CrossCleared(t=T0 + 4.4, market="ETH-USD", updates=5)]
    assert out.index(request) < len(out) - 1
    assert all(top.bids[0][0] < top.asks[0][0] for top in tops(out))


def test_a_book_that_never_asked_clears_nothing():
    out = run_frames([subscribed(4, T0, BIDS, ASKS), *crossing_updates(5, T0 + 1, 2), *quiet_updates(7, T0 + 2, 9)],
                     order_books(max_crossed_updates=5, max_crossed_seconds=60))
    assert not [value for value in out if isinstance(value, ResyncRequest | CrossCleared)]


def test_updates_outside_the_top_levels_give_no_new_top():
    out = run_frames([subscribed(4, T0, BIDS, ASKS),
                      update(5, T0 + 1, bids=[("3390", "1")]),  # below the top 3
                      update(6, T0 + 2, asks=[("3400", "0")]),  # deleting a level that is not there
                      update(7, T0 + 3, bids=[("3393.1", "0")])], order_books(depth=3))

    assert [top.message_id for top in tops(out)] == [4, 7]
    assert out[-1].bids == ((Decimal("3393.2"), Decimal("7.795")), (Decimal("3393"), Decimal("20.189")),
                            (Decimal("3390"), Decimal("1")))


def test_an_update_that_changes_nothing_gives_no_new_top():
    out = run_frames([subscribed(4, T0, BIDS, ASKS), update(5, T0 + 1, bids=[("3393.2", "7.795")])],
                     order_books())

    assert [top.message_id for top in tops(out)] == [4]


def test_unsubscribing_forgets_the_book_and_other_channels_are_ignored(samples_dir):
    trades = load_sample(samples_dir, "nautilus-2024/ws/v4_trades.json")
    unsubscribe = {"type": "unsubscribed", "connection_id": CONN, "message_id": 6, "channel": "v4_orderbook",
                   "id": "ETH-USD"}
    out = run_frames([update(3, T0, bids=[("1", "1")]),  # no snapshot yet: nothing to update
                      subscribed(4, T0, BIDS, ASKS), ws_frame(trades, T0 + 1), ws_frame(unsubscribe, T0 + 2),
                      update(7, T0 + 3, bids=[("3393.3", "1")])], order_books())

    assert [top.message_id for top in tops(out)] == [4] and len(out) == 1


def test_each_subscriber_has_its_own_books():
    """The first update has no book to go to; with books shared, the second run would apply it."""
    frames = [update(6, T0, bids=[("3393.4", "1")]), subscribed(4, T0 + 1, BIDS, ASKS),
              update(5, T0 + 2, bids=[("3393.3", "1")])]
    events = reactivex.from_iterable(frames).pipe(parse(), order_books())
    first, second = [], []
    events.subscribe(first.append)
    events.subscribe(second.append)

    assert first == second and [top.message_id for top in first] == [4, 5]


# ---------------------------------------------------------------------------------------------------
# Invariants


prices = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 4)
sizes = st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("1"), Decimal("2.25")])
level_lists = st.lists(st.tuples(prices, sizes), max_size=4)
updates = st.lists(st.builds(ev.OrderbookUpdate, bids=level_lists, asks=level_lists), max_size=40)


def everything(book: OrderBook):
    return book.top(10_000)


@given(updates)
def test_the_book_is_never_crossed_after_uncrossing(sequence):
    book = OrderBook(depth=5)
    for item in sequence:
        book.apply(item)
        book.uncross()
        bids, asks = everything(book)
        assert not bids or not asks or bids[0][0] < asks[0][0]


@given(updates, st.builds(ev.OrderbookUpdate, bids=level_lists, asks=level_lists))
def test_absolute_sizes_are_idempotent(sequence, last):
    book = OrderBook()
    for item in sequence:
        book.apply(item)
    book.apply(last)
    once = everything(book)
    book.apply(last)
    assert everything(book) == once


@given(updates)
def test_the_book_matches_plain_dicts_and_deleting_every_level_empties_it(sequence):
    book, reference = OrderBook(depth=3), {"bids": {}, "asks": {}}
    for item in sequence:
        book.apply(item)
        fold(reference, [{"bids": item.bids, "asks": item.asks}])
    assert everything(book) == (best_first(reference["bids"], True), best_first(reference["asks"], False))

    book.apply(ev.OrderbookUpdate(bids=[(p, Decimal(0)) for p in reference["bids"]],
                                  asks=[(p, Decimal(0)) for p in reference["asks"]]))
    assert everything(book) == ((), ())


def test_equally_old_crossing_levels_both_go():
    """Only snapshot levels can be equally old (the server sends them uncrossed, so this is defensive)."""
    book = OrderBook()
    book.load([ev.PriceLevel(Decimal("101"), Decimal("1"))], [ev.PriceLevel(Decimal("100"), Decimal("1"))])
    book.apply(ev.OrderbookUpdate(bids=[(Decimal("90"), Decimal("1"))]))

    assert book.uncross() == (1, 1)
    assert book.top() == (((Decimal("90"), Decimal("1")),), ())
