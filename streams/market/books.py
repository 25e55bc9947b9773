"""Order books per market from the v4_orderbook channel, and the top-N view the layers above read.

A book starts from the `subscribed` snapshot (at most 100 levels a side) and takes updates whose sizes
are the new absolute totals ("0" deletes), batched ones applied in order. The Indexer does not keep
books uncrossed and levels beyond the snapshot's 100 drift, so every level remembers which update set
it and a cross is resolved as the venue's guide does: the older of the crossing levels is stale and
dropped. When crosses keep coming, or a `message_id` goes backwards, the book asks layer 2 for a fresh
snapshot (`ResyncRequest`); a book that missed updates shows nothing until that snapshot arrives. A book
that asked because it kept crossing, and then takes as many updates in a row without a cross, is sound
again without the snapshot (`CrossCleared`): a replay, which can never answer the request, recovers so.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import cast

from msgspec import Struct
from reactivex import Observable

from streams.kernel.stage import NOTHING, Stage, lift
from streams.market import events as ev
from streams.market.parse import channel_keys
from streams.market.state import BookTop

CHANNEL = "v4_orderbook"
BOOK_READS = channel_keys(CHANNEL)
"""The events `OrderBooks` reads (`rx.Routed.only`): the others it ignores."""

Levels = tuple[tuple[Decimal, Decimal], ...]


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


class _Side:
    """One side of a book: size and setter (`seq`) by price, and the prices sorted ascending."""

    __slots__ = ("sizes", "seqs", "prices")

    def __init__(self) -> None:
        self.sizes: dict[Decimal, Decimal] = {}
        self.seqs: dict[Decimal, int] = {}
        self.prices: list[Decimal] = []

    def set(self, price: Decimal, size: Decimal, seq: int, depth: int) -> bool:
        """Set one level to an absolute size (0 deletes it); True when that changed the best `depth`."""
        if not size:
            if price not in self.sizes:
                return False
            in_top = self.in_top(price, depth)
            self.remove(price)
            return in_top
        old = self.sizes.get(price)
        if old is None:
            prices = self.prices
            prices.insert(bisect_left(prices, price), price)
        self.sizes[price] = size
        self.seqs[price] = seq  # a level sent again is fresh again, even at the same size
        return old != size and self.in_top(price, depth)

    def remove(self, price: Decimal) -> None:
        del self.sizes[price], self.seqs[price]
        del self.prices[bisect_left(self.prices, price)]

    def clear(self) -> None:
        self.sizes.clear()
        self.seqs.clear()
        self.prices.clear()

    def in_top(self, price: Decimal, depth: int) -> bool:
        raise NotImplementedError

    def top(self, depth: int) -> Levels:
        raise NotImplementedError


class _Bids(_Side):
    __slots__ = ()

    def in_top(self, price: Decimal, depth: int) -> bool:
        prices = self.prices
        return len(prices) <= depth or price >= prices[-depth]

    def top(self, depth: int) -> Levels:
        sizes = self.sizes
        return tuple([(price, sizes[price]) for price in reversed(self.prices[-depth:])])


class _Asks(_Side):
    __slots__ = ()

    def in_top(self, price: Decimal, depth: int) -> bool:
        prices = self.prices
        return len(prices) <= depth or price <= prices[depth - 1]

    def top(self, depth: int) -> Levels:
        sizes = self.sizes
        return tuple([(price, sizes[price]) for price in self.prices[:depth]])


class OrderBook:
    """One market's price levels. `depth` is the size of the view: `apply` says whether it changed."""

    def __init__(self, depth: int = 10) -> None:
        self.depth = depth
        self.bids: _Side = _Bids()
        self.asks: _Side = _Asks()
        self._seq = 0  # counts applied levels; snapshot levels are 0, the oldest

    def load(self, bids: Iterable[ev.PriceLevel], asks: Iterable[ev.PriceLevel]) -> None:
        """Replace everything with a snapshot."""
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            side.clear()
            for level in levels:
                side.set(level.price, level.size, 0, self.depth)

    def apply(self, update: ev.OrderbookUpdate) -> bool:
        """Apply one update's levels in order; True when the top `depth` levels changed."""
        changed = False
        depth = self.depth
        for side, levels in ((self.bids, update.bids), (self.asks, update.asks)):
            for price, size in levels:
                self._seq += 1
                changed = side.set(price, size, self._seq, depth) or changed
        return changed

    def uncross(self) -> tuple[int, int]:
        """While best bid >= best ask, drop the older of the two (both if equally old, which only
        snapshot levels can be). Returns the levels dropped from (bids, asks)."""
        bids, asks = self.bids, self.asks
        dropped_bids = dropped_asks = 0
        while bids.prices and asks.prices:
            bid, ask = bids.prices[-1], asks.prices[0]
            if bid < ask:
                break
            bid_seq, ask_seq = bids.seqs[bid], asks.seqs[ask]
            if bid_seq <= ask_seq:
                bids.remove(bid)
                dropped_bids += 1
            if ask_seq <= bid_seq:
                asks.remove(ask)
                dropped_asks += 1
        return dropped_bids, dropped_asks

    def top(self, depth: int | None = None) -> tuple[Levels, Levels]:
        """The best `depth` levels of each side (default: the book's), best first."""
        depth = depth or self.depth
        return self.bids.top(depth), self.asks.top(depth)

    def view(self, t: float, market: str, message_id: int) -> BookTop:
        bids, asks = self.top()
        mid = spread = imbalance = None
        if bids and asks:
            best_bid, best_ask = bids[0][0], asks[0][0]
            mid = (best_bid + best_ask) / 2
            spread = best_ask - best_bid
        bid_size = sum(size for _, size in bids)
        ask_size = sum(size for _, size in asks)
        if bid_size or ask_size:
            imbalance = float(bid_size - ask_size) / float(bid_size + ask_size)
        return BookTop(t=t, market=market, bids=bids, asks=asks, mid=mid, spread=spread,
                       imbalance=imbalance, message_id=message_id)


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
        book.load(snapshot.bids, snapshot.asks)
        self._feeds[market] = _Feed(book, event)
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
            changed = book.apply(update) or changed
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
    def _invalidate(feed: _Feed, event: ev.ChannelData | ev.ChannelBatchData, reason: str
                    ) -> Iterable[BookOutput]:
        feed.valid = False
        return (ResyncRequest(t=event.t, channel=CHANNEL, id=event.id, conn=event.conn, reason=reason),)


def order_books(depth: int = 10, max_crossed_updates: int = 5, max_crossed_seconds: float = 2.0
                ) -> Callable[[Observable[ev.Event]], Observable[BookOutput]]:
    """The operator: typed events in, `BookTop` / `Uncrossed` / `ResyncRequest` out (see `OrderBooks`)."""
    return lift(lambda: OrderBooks(depth, max_crossed_updates, max_crossed_seconds))
