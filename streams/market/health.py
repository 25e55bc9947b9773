"""Data health of every stream, itself a stream of `StreamHealth`. A stream is one subscription
("v4_orderbook:ETH-USD", "v4_markets"), one REST path ("rest:/v4/perpetualMarkets"), the oracle price of
a followed market ("oracle:ETH-USD"), or where errors that name no stream land ("parse", "indexer").

Time is event time only. Every input moves the clock, whichever stream it belongs to, so a silent
subscription ages while others talk; a `Tick`, or the source's own status frames (its heartbeat
among them), move it when everything is silent. Every `interval` seconds of event time a report of
every stream goes out, computed before the input that crossed the boundary is applied (so a silence
that just ended still shows); a stream's report also goes out at once when it gets an error or a
resync request and when it recovers (from an error, a resync or a silence), and all of them at the end
of a finite input.

Counted per stream:
- messages (frames; a batch is one) and their rate over the last `window` seconds, in whole slots of
  a tenth of it (so the rate lags by up to one slot);
- gaps: a `message_id` that does not increase on one connection, data on a new connection with no
  snapshot to start from, or a frame the source dropped for either;
- resyncs: the books' requests, the source's renewals (a silent subscription, a failed snapshot, a
  request from above) and reconnects, each counted once however many parties ask for it;
- crossed-book corrections;
- errors: `IndexerError`s, `ParseError`s counted to the stream their `where` names, and REST attempts
  the source retries.
State: "error" while nothing good came after the last error (for errors that name no stream: nothing
good on any subscription), "resyncing" from a resync request or a lost connection to the next
snapshot (or, for a book that kept crossing, to its `CrossCleared`), "stale" when a subscription said
nothing for longer than its channel's limit in `Staleness` (the limits the live source renews by), else
"ok". A market is followed once it has a book, trades or candles subscription; its oracle stream counts
the oracle price updates v4_markets carries for it.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import cast

from msgspec import Struct
from reactivex import Observable

from streams.kernel.frames import Frame
from streams.kernel.stage import NOTHING, Stage, lift
from streams.kernel.status import read_status
from streams.market import events as ev
from streams.market.books import CHANNEL as BOOKS
from streams.market.books import CrossCleared, ResyncRequest, Uncrossed
from streams.market.candles import CANDLES, TRADES
from streams.market.markets import CHANNEL as MARKETS
from streams.market.state import StreamHealth
from streams.sources.subscriptions import Staleness, StreamKey, Subscription


class Tick(Struct, frozen=True):
    """Event time moving on with no message (a source's heartbeat), so that silence shows as age."""

    t: float


HealthInput = ev.Event | ResyncRequest | Uncrossed | CrossCleared | Tick | Frame
"""Frames: the source's `kind="status"` frames (connections, resyncs, renewals, retries, heartbeats)."""

SLOTS = 10
"""The rate window is this many whole slots, up to the newest complete one."""
_RING = SLOTS + 1  # and the current slot, still filling

# where parse.py says a frame came from: "... (channel_data v4_candles/ETH-USD/1MIN message_id 3)"
_WS_WHERE = re.compile(r"\(\w+ (\w+)(?:/(\S+))? message_id")
_REST_WHERE = re.compile(r"rest (/[^ ?]*)")

ORACLE = "oracle"
PARSE = "parse"
INDEXER = "indexer"
_FOLLOWING = (BOOKS, TRADES, CANDLES)  # a subscription to any of these follows its market



def _name(key: StreamKey) -> str:
    return key[0] if key[1] is None else f"{key[0]}:{key[1]}"


def _error_key(error: ev.ParseError) -> StreamKey:
    if match := _WS_WHERE.search(error.where):
        return match.group(1), match.group(2)
    if match := _REST_WHERE.match(error.where):
        return "rest", match.group(1)
    return PARSE, None


class _Stream:
    __slots__ = ("name", "subscription", "stale_after", "messages", "gaps", "resyncs", "crossed", "errors",
                 "first_t", "last_t", "error_t", "resync_pending", "answer_due", "subscribed", "conn",
                 "connection_id", "message_id", "counts", "slots", "reported", "order", "touched", "watched")

    def __init__(self, key: StreamKey, t: float, stale_after: float | None) -> None:
        self.name = _name(key)
        self.order = 0  # its place among the streams, whose reports go out in it (`Health._stream` sets it)
        self.subscription = False  # a WebSocket feed, which is expected to keep talking
        self.stale_after = stale_after  # seconds of silence that make it stale (None: never)
        self.messages = self.gaps = self.resyncs = self.crossed = self.errors = 0
        self.first_t = t
        self.last_t: float | None = None
        self.error_t: float | None = None
        self.resync_pending = False
        self.answer_due = False  # a resync ended without its snapshot, which may still come
        self.subscribed = False
        self.conn: int | None = None
        self.connection_id: str | None = None
        self.message_id = -1
        self.counts = [0] * _RING
        self.slots = [-1] * _RING
        self.reported: tuple | None = None  # the `change_key` of its last report
        self.touched = True  # since the last scan for changes (`Health._changed`); new is touched
        self.watched: float | None = None  # when it is on `Health._stale_watch`, the time it goes stale


class Health(Stage[HealthInput, StreamHealth]):
    """Every stream's counters and state (see the module's doc), reported in event time."""

    def __init__(self, interval: float = 1.0, window: float = 10.0, staleness: Staleness = Staleness(),
                 rates: bool = True) -> None:
        self.interval = interval
        self.rates = rates
        self.window = window
        self.staleness = staleness
        self._width = window / SLOTS
        self._streams: dict[StreamKey, _Stream] = {}
        self._unnamed_errors: list[_Stream] = []  # "parse", "indexer" while in error
        self._followed: set[str] = set()
        self._oracle_t: dict[str, float] = {}  # last oracle price update of every market, followed or not
        self._now: float | None = None
        self._next_report = 0.0
        # what may have changed since the last scan: the streams touched (a stream changes only through
        # `_stream`, which marks it, or in a report that goes out at once, which is its `reported` then),
        # and the ok subscriptions that time alone may turn stale, by when (time, entry number, stream)
        self._touched: list[_Stream] = []
        self._stale_watch: list[tuple[float, int, _Stream]] = []
        self._entries = itertools.count()

    def on_event(self, event: HealthInput) -> Iterable[StreamHealth]:
        t = event.t
        if self._now is None:
            self._next_report = (t // self.interval + 1) * self.interval
            self._now = t
        elif t > self._now:
            self._now = t
        out: list[StreamHealth] | tuple = NOTHING
        if self._now >= self._next_report:
            out = self.report() if self.rates else self._changed()
            self._next_report = (self._now // self.interval + 1) * self.interval
        urgent = self._apply(event)
        if urgent:
            out = [*out, *(self._health(stream) for stream in urgent)]
        return out

    def on_end(self) -> Iterable[StreamHealth]:
        return self.report() if self._now is not None else NOTHING

    def report(self) -> list[StreamHealth]:
        """Every stream's health at the current event time."""
        return [self._health(stream) for stream in self._streams.values()]

    def _changed(self) -> list[StreamHealth]:
        """The reports of the streams whose `change_key` moved since their last report, in the streams'
        order. Only the streams that may have changed are looked at: those touched since the last scan,
        and those whose silence may have grown past their limit (at 250 markets most streams are quiet
        in any one second)."""
        now = self._now
        assert now is not None, "a scan runs only once an input set the clock"
        candidates = self._touched
        self._touched = []
        watch = self._stale_watch
        # popped a little early (the exact test is `_state`'s), and put back below when still ok
        while watch and watch[0][0] <= now + _EARLY:
            due, _, stream = heapq.heappop(watch)
            if stream.watched == due:  # its current entry (an outdated one is dropped)
                stream.watched = None
                if not stream.touched:
                    candidates.append(stream)
        if len(candidates) > 1:
            candidates.sort(key=_order)
        out: list[StreamHealth] = []
        for stream in candidates:
            stream.touched = False
            state = self._state(stream)
            if self._change_key(stream, state) != stream.reported:
                out.append(self._health(stream))
            if state == "ok" and stream.subscription and stream.stale_after is not None:
                due = (stream.last_t if stream.last_t is not None else stream.first_t) + stream.stale_after
                # one entry per stream: a later due time is taken up when the earlier one comes
                if stream.watched is None or due < stream.watched:
                    stream.watched = due
                    heapq.heappush(watch, (due, next(self._entries), stream))
        return out

    def _apply(self, event: HealthInput) -> Iterable[_Stream]:
        """Count one input; returns the streams that must be reported at once. Dispatched on the exact
        type, once (this runs for every message); the casts tell the type checker what `kind` said."""
        kind = type(event)
        if kind is ev.ChannelData or kind is ev.ChannelBatchData or kind is ev.Subscribed:
            event = cast("ev.ChannelData | ev.ChannelBatchData | ev.Subscribed", event)
            t = event.t
            stream = self._stream((event.channel, event.id), t)
            recovered = self._count(stream, t) | self._sequence(stream, event, kind is ev.Subscribed)
            urgent: Iterable[_Stream] = (stream,) if recovered else NOTHING
            if event.channel == MARKETS:
                urgent = (*urgent, *self._oracles(_oracle_tickers(event), t))
            if self._unnamed_errors:  # good data again: what went wrong unattributed is over
                cleared, self._unnamed_errors = self._unnamed_errors, []
                for unnamed in cleared:
                    unnamed.error_t = None
                urgent = (*urgent, *cleared)
            return urgent
        if kind is ev.RestResponse:
            event = cast(ev.RestResponse, event)
            t = event.t
            urgent = ()
            if type(event.body) is ev.PerpetualMarketsResponse:
                urgent = self._oracles([ticker for ticker, market in event.body.markets.items()
                                        if market.oraclePrice is not None], t)
            stream = self._stream(("rest", event.path.split("?", 1)[0]), t)
            return (*urgent, stream) if self._count(stream, t) else urgent
        if kind is Frame:
            return self._source_status(cast(Frame, event))
        if kind is Uncrossed:
            event = cast(Uncrossed, event)
            self._stream((BOOKS, event.market), event.t).crossed += 1
            return NOTHING
        if kind is ResyncRequest:
            event = cast(ResyncRequest, event)
            return (self._resync(self._stream((event.channel, event.id), event.t)),)
        if kind is CrossCleared:
            event = cast(CrossCleared, event)
            stream = self._stream((BOOKS, event.market), event.t)
            if not stream.resync_pending:
                return NOTHING
            stream.resync_pending, stream.answer_due = False, True
            return (stream,)
        if kind is ev.IndexerError:
            event = cast(ev.IndexerError, event)
            key: StreamKey = (event.channel, event.id) if event.channel else (INDEXER, None)
            return (self._error(self._stream(key, event.t), event.t),)
        if kind is ev.ParseError:
            event = cast(ev.ParseError, event)
            return (self._error(self._stream(_error_key(event), event.t), event.t),)
        if kind is ev.Unsubscribed:
            event = cast(ev.Unsubscribed, event)
            self._stream((event.channel, event.id), event.t).subscription = False
        return NOTHING

    def _source_status(self, frame: Frame) -> Iterable[_Stream]:
        """What the source says it did: every status moves the clock, and some change streams."""
        status = read_status(frame)
        event, t = status.event, frame.t
        if event == "reconnecting":  # the connection's subscriptions wait for their new snapshots
            lost = [self._resync(stream) for stream in self._streams.values()
                    if stream.conn == status.conn and stream.subscribed and stream.subscription]
            if any(stream.name == MARKETS for stream in lost):  # and the oracle prices v4_markets carried
                lost += [self._resync(stream) for key, stream in self._streams.items() if key[0] == ORACLE]
            return lost
        if event in ("resync", "stale") and status.channel is not None:
            stream = self._stream((status.channel, status.id), t)
            if status.message_id is not None:  # the frame that broke the sequence was dropped
                stream.gaps += 1
            return (self._resync(stream),)
        if event == "retry" and status.path:
            return (self._error(self._stream(("rest", status.path.split("?", 1)[0]), t), t),)
        return NOTHING

    def _stream(self, key: StreamKey, t: float) -> _Stream:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = self._new_stream(key, t)
            stream.order = len(self._streams)  # set here: making it may have made its oracle stream first
            self._touched.append(stream)
        elif not stream.touched:
            stream.touched = True
            self._touched.append(stream)
        return stream

    def _new_stream(self, key: StreamKey, t: float) -> _Stream:
        channel, ident = key
        if channel == ORACLE:
            stream = _Stream(key, t, self.staleness.oracle)
            stream.subscription = True
            return stream
        stream = _Stream(key, t, self.staleness.limit(Subscription(channel, ident)))
        if channel in _FOLLOWING and ident:
            market = ident.split("/", 1)[0]
            if market not in self._followed:
                self._followed.add(market)
                if (seen := self._oracle_t.get(market)) is not None:
                    self._count(self._stream((ORACLE, market), seen), seen)
        return stream

    def _oracles(self, tickers: Iterable[str], t: float) -> tuple[_Stream, ...]:
        """Oracle price updates: remembered for every market, counted for the followed ones; returns the
        oracle streams they brought back from a silence."""
        recovered: tuple[_Stream, ...] = ()
        for ticker in tickers:
            self._oracle_t[ticker] = t
            if ticker in self._followed:
                stream = self._stream((ORACLE, ticker), t)
                resynced, stream.resync_pending = stream.resync_pending, False
                if self._count(stream, t) or resynced:
                    recovered = (*recovered, stream)
        return recovered

    def _count(self, stream: _Stream, t: float) -> bool:
        """Count one message; True when it ends an error, or a silence longer than the stream's limit."""
        slot = int(t // self._width)
        i = slot % _RING
        if stream.slots[i] != slot:
            stream.slots[i] = slot
            stream.counts[i] = 0
        stream.counts[i] += 1
        stream.messages += 1
        last_t, error_t, limit = stream.last_t, stream.error_t, stream.stale_after
        recovered = ((error_t is not None and error_t < t and (last_t is None or error_t >= last_t))
                     or (limit is not None and last_t is not None and t - last_t > limit))
        stream.last_t = t
        return recovered

    def _sequence(self, stream: _Stream, event: ev.ChannelData | ev.ChannelBatchData | ev.Subscribed,
                  snapshot: bool) -> bool:
        """Check the message's place in its connection's sequence; True when a snapshot ends a resync."""
        stream.subscription = True
        if not snapshot:  # a snapshot starts the sequence afresh (its id is reserved early, so exempt)
            if event.conn == stream.conn and event.connection_id == stream.connection_id:
                gap = event.message_id <= stream.message_id
            else:
                gap = stream.conn is not None  # a new connection, and no snapshot to start from
            if gap:
                stream.gaps += 1
        stream.conn = event.conn
        stream.connection_id = event.connection_id
        stream.message_id = event.message_id
        if not snapshot:
            return False
        ended = stream.resync_pending
        if ended:
            stream.resync_pending = False
        elif stream.subscribed and not stream.answer_due:
            stream.resyncs += 1  # resubscribed without a request: a reconnect nobody reported
        stream.subscribed = True
        stream.answer_due = False
        return ended

    @staticmethod
    def _resync(stream: _Stream) -> _Stream:
        if not stream.resync_pending:
            stream.resyncs += 1
            stream.resync_pending = True
        return stream

    def _error(self, stream: _Stream, t: float) -> _Stream:
        stream.errors += 1
        stream.error_t = t
        if stream.name in (PARSE, INDEXER) and stream not in self._unnamed_errors:
            self._unnamed_errors.append(stream)
        return stream

    def _state(self, stream: _Stream) -> str:
        if stream.error_t is not None and (stream.last_t is None or stream.error_t >= stream.last_t):
            return "error"
        if stream.resync_pending:
            return "resyncing"
        if stream.subscription and stream.stale_after is not None and self._age(stream) > stream.stale_after:
            return "stale"
        return "ok"

    @staticmethod
    def _change_key(stream: _Stream, state: str) -> tuple[str, int, int, int, int]:
        """`change_key` of the report the stream would give in `state`."""
        return state, stream.gaps, stream.resyncs, stream.crossed, stream.errors

    def _age(self, stream: _Stream) -> float:
        now = self._now
        assert now is not None, "a stream exists only once an input set the clock"
        return now - (stream.last_t if stream.last_t is not None else stream.first_t)

    def _health(self, stream: _Stream) -> StreamHealth:
        now = self._now
        assert now is not None, "a stream exists only once an input set the clock"
        age = self._age(stream)
        state = self._state(stream)
        stream.reported = self._change_key(stream, state)
        current = int(now // self._width)
        oldest = current - SLOTS
        recent = 0
        # a loop: this runs for every stream every second
        for count, slot in zip(stream.counts, stream.slots, strict=True):
            if oldest <= slot < current:
                recent += count
        return StreamHealth(t=now, stream=stream.name, rate=recent / self.window, last_age=age,
                            messages=stream.messages, gaps=stream.gaps, resyncs=stream.resyncs,
                            crossed=stream.crossed, errors=stream.errors, state=state)


_EARLY = 1e-3
"""Seconds before its due time a watched stream is looked at, so that rounding never makes it late."""
_order = attrgetter("order")


def health(interval: float = 1.0, window: float = 10.0, staleness: Staleness = Staleness(), rates: bool = True
           ) -> Callable[[Observable[HealthInput]], Observable[StreamHealth]]:
    """The operator: typed events merged with the books' `ResyncRequest`/`Uncrossed` and the source's
    status frames (or `Tick`s) in, `StreamHealth` out (see `Health`)."""
    return lift(lambda: Health(interval, window, staleness, rates))


def change_key(health: StreamHealth) -> tuple[str, int, int, int, int]:
    """What makes a report a change: the state or a fault counter (rates and ages move all the time)."""
    return health.state, health.gaps, health.resyncs, health.crossed, health.errors


class Changes(Stage[StreamHealth, StreamHealth]):
    """Only the reports whose stream's `change_key` moved: the same reports from `rates=True` as from
    `rates=False`, so both faces' readers of changes see the same stream."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, int, int, int, int]] = {}

    def on_event(self, event: StreamHealth) -> Iterable[StreamHealth]:
        key = change_key(event)
        if self._keys.get(event.stream) == key:
            return NOTHING
        self._keys[event.stream] = key
        return (event,)


def changes() -> Callable[[Observable[StreamHealth]], Observable[StreamHealth]]:
    return lift(Changes)


def _oracle_tickers(event: ev.ChannelData | ev.ChannelBatchData | ev.Subscribed) -> list[str]:
    """The markets whose oracle price a v4_markets message carries (its contents decoded as v4_markets')."""
    if type(event) is ev.Subscribed:
        markets = cast(ev.MarketsSnapshot, event.contents).markets
        return [ticker for ticker, market in markets.items() if market.oraclePrice is not None]
    updates = cast("Iterable[ev.MarketsUpdate]", event.contents if type(event) is ev.ChannelBatchData
                   else (event.contents,))
    return [ticker for update in updates if update.oraclePrices for ticker in update.oraclePrices]
