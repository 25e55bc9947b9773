"""Order books per market from the v4_orderbook channel, and the top-N view the layers above read.

A book starts from the `subscribed` snapshot (at most 100 levels a side) and takes updates whose sizes
are the new absolute totals ("0" deletes), batched ones applied in order. The Indexer does not keep
books uncrossed and levels beyond the snapshot's 100 drift, so every level remembers which update set
it and a cross is resolved as the venue's guide does: the older of the crossing levels is stale and
dropped. When crosses keep coming, or a `message_id` goes backwards, the book asks layer 2 for a fresh
snapshot (`ResyncRequest`); a book that missed updates shows nothing until that snapshot arrives. A book
that asked because it kept crossing, and then takes as many updates in a row without a cross, is sound
again without the snapshot (`CrossCleared`): a replay, which can never answer the request, recovers so.
A level whose price is not a finite number (or has more than 30 decimals) cannot be placed: the book
asks for a snapshot as for a gap. The levels themselves are `streams.market.book_core`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from msgspec import Struct
from reactivex import Observable

from streams.kernel.stage import NOTHING, Stage, lift
from streams.market import events as ev
from streams.market.book_core import BadLevelError, OrderBook
from streams.market.parse import channel_keys
from streams.market.state import BookTop

CHANNEL = "v4_orderbook"
BOOK_READS = channel_keys(CHANNEL)
"""The events `OrderBooks` reads (`rx.Routed.only`): the others it ignores."""


class ResyncRequest(Struct, frozen=True):
    """Ask layer 2 to resubscribe to `channel`/`id` on source connection `conn` for a fresh snapshot."""

    t: float
    channel: str
    id: str | None
    reason: str
    conn: int = 0


class Uncrossed(Struct, frozen=True):
    """A crossed book corrected locally: how many stale levels each side lost."""

    t: float
    market: str
    bids_dropped: int
    asks_dropped: int


class CrossCleared(Struct, frozen=True):
    """A book that asked for a fresh snapshot because it kept crossing took `updates` in a row without
    a cross: it needs none (live, the one asked for may still come)."""

    t: float
    market: str
    updates: int


BookOutput = BookTop | Uncrossed | ResyncRequest | CrossCleared


class _Feed:
    """A book and what it knows of the subscription feeding it."""

    __slots__ = ("book", "conn", "connection_id", "message_id", "valid", "crossed_updates",
                 "crossed_since", "resync_pending", "clean_updates")

    def __init__(self, book: OrderBook, event: ev.Subscribed) -> None:
        self.book = book
        self.conn = event.conn
        self.connection_id = event.connection_id
        self.message_id = event.message_id
        self.valid = True
        self.crossed_updates = 0  # consecutive updates that crossed the book
        self.crossed_since = 0.0
        self.resync_pending = False  # asked for a snapshot because it kept crossing
        self.clean_updates = 0  # updates in a row without a cross since it asked


class OrderBooks(Stage[ev.Event, BookOutput]):
    """All markets' books from the typed event stream.

    Out: a `BookTop` after each message that changed a book's top `depth` levels (one per batched
    frame), an `Uncrossed` for each corrected cross, and a `ResyncRequest` when a book needs a fresh
    snapshot: after a `message_id` that does not increase on the snapshot's connection, an update from
    another connection, or crosses on `max_crossed_updates` consecutive updates or lasting
    `max_crossed_seconds` of event time; a `CrossCleared` when, after a request for crossing,
    `max_crossed_updates` consecutive updates did not cross.
    """

    def __init__(self, depth: int = 10, max_crossed_updates: int = 5, max_crossed_seconds: float = 2.0
                 ) -> None:
        self.depth = depth
        self.max_crossed_updates = max_crossed_updates
        self.max_crossed_seconds = max_crossed_seconds
        self._feeds: dict[str, _Feed] = {}

    def on_event(self, event: ev.Event) -> Iterable[BookOutput]:
        # contents are decoded by channel (`streams.market.parse`): v4_orderbook's are OrderbookUpdates and an
        # OrderbookSnapshot, which the casts say to the type checker
        if type(event) is ev.ChannelBatchData:
            if event.channel == CHANNEL and event.id is not None:
                return self._on_updates(event, event.id, cast("list[ev.OrderbookUpdate]", event.contents))
        elif type(event) is ev.ChannelData:
            if event.channel == CHANNEL and event.id is not None:
                return self._on_updates(event, event.id, (cast(ev.OrderbookUpdate, event.contents),))
        elif type(event) is ev.Subscribed:
            if event.channel == CHANNEL and event.id:
                return self._on_snapshot(event, event.id, cast(ev.OrderbookSnapshot, event.contents))
        elif type(event) is ev.Unsubscribed and event.channel == CHANNEL and event.id is not None:
            self._feeds.pop(event.id, None)
        return NOTHING

    def _on_snapshot(self, event: ev.Subscribed, market: str, snapshot: ev.OrderbookSnapshot
                     ) -> Iterable[BookOutput]:
        book = OrderBook(self.depth)
        feed = self._feeds[market] = _Feed(book, event)
        try:
            book.load(snapshot.bids, snapshot.asks)
        except BadLevelError as error:
            return self._invalidate(feed, event, f"snapshot level: {error}")
        return (book.view(event.t, market, event.message_id),)

    def _on_updates(self, event: ev.ChannelData | ev.ChannelBatchData, market: str,
                    updates: Iterable[ev.OrderbookUpdate]) -> Iterable[BookOutput]:
        feed = self._feeds.get(market)
        if feed is None or not feed.valid:
            return NOTHING
        if event.connection_id != feed.connection_id or event.conn != feed.conn:
            return self._invalidate(feed, event, f"update on connection {event.connection_id} "
                                                 f"but snapshot from {feed.connection_id}")
        if event.message_id <= feed.message_id:
            return self._invalidate(feed, event, f"message_id went from {feed.message_id} "
                                                 f"to {event.message_id}")
        feed.message_id = event.message_id
        book = feed.book
        out: list[BookOutput] = []
        changed = False
        for update in updates:
            try:
                changed = book.apply(update) or changed
            except BadLevelError as error:  # the book missed that level: it cannot be trusted until a snapshot
                return self._invalidate(feed, event, f"update level: {error}")
            dropped_bids, dropped_asks = book.uncross()
            if not (dropped_bids or dropped_asks):
                feed.crossed_updates = 0
                if feed.resync_pending:
                    feed.clean_updates += 1
                    if feed.clean_updates >= self.max_crossed_updates:
                        feed.resync_pending = False
                        out.append(CrossCleared(t=event.t, market=market, updates=feed.clean_updates))
                continue
            feed.clean_updates = 0
            changed = True
            out.append(Uncrossed(t=event.t, market=market, bids_dropped=dropped_bids,
                                 asks_dropped=dropped_asks))
            if feed.crossed_updates == 0:
                feed.crossed_since = event.t
            feed.crossed_updates += 1
            if not feed.resync_pending and (
                    feed.crossed_updates >= self.max_crossed_updates
                    or event.t - feed.crossed_since >= self.max_crossed_seconds):
                feed.resync_pending = True
                out.append(ResyncRequest(t=event.t, channel=CHANNEL, id=event.id, conn=event.conn,
                                         reason=f"book crossed on {feed.crossed_updates} updates in a "
                                                f"row over {event.t - feed.crossed_since:.3f} s"))
        if changed:
            out.append(book.view(event.t, market, event.message_id))
        return out

    @staticmethod
    def _invalidate(feed: _Feed, event: ev.Subscribed | ev.ChannelData | ev.ChannelBatchData, reason: str
                    ) -> Iterable[BookOutput]:
        feed.valid = False
        return (ResyncRequest(t=event.t, channel=CHANNEL, id=event.id, conn=event.conn, reason=reason),)


def order_books(depth: int = 10, max_crossed_updates: int = 5, max_crossed_seconds: float = 2.0
                ) -> Callable[[Observable[ev.Event]], Observable[BookOutput]]:
    """The operator: typed events in, `BookTop` / `Uncrossed` / `ResyncRequest` out (see `OrderBooks`)."""
    return lift(lambda: OrderBooks(depth, max_crossed_updates, max_crossed_seconds))
