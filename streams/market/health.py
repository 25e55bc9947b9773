"""Data health of every stream, itself a stream of `StreamHealth`. A stream is one subscription
("v4_orderbook:ETH-USD", "v4_markets"), one REST path ("rest:/v4/perpetualMarkets"), or where errors
that name no stream land ("parse", "indexer").

Time is event time only. Every input moves the clock, whichever stream it belongs to, so a silent
subscription ages while others talk; a `Tick` from the source moves it when everything is silent.
Every `interval` seconds of event time a report of every stream goes out, computed before the input
that crossed the boundary is applied (so a silence that just ended still shows); a stream's report
also goes out at once when it gets an error or a resync request, and all of them at the end of a
finite input.

Counted per stream:
- messages (frames; a batch is one) and their rate over the last `window` seconds, in whole slots of
  a tenth of it (so the rate lags by up to one slot);
- gaps: a `message_id` that does not increase on one connection, or data on a new connection with no
  snapshot to start from;
- resyncs: the books' requests, and resubscriptions nobody asked for (after a reconnect);
- crossed-book corrections;
- errors: `IndexerError`s, and `ParseError`s counted to the stream their `where` names.
State: "error" while nothing good came after the last error, "resyncing" from a resync request to the
next snapshot, "stale" when a subscription said nothing for `stale_after` seconds, else "ok".
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Union

from msgspec import Struct
from reactivex import Observable

from streams.market import events as ev
from streams.market.books import CHANNEL as BOOKS, ResyncRequest, Uncrossed
from streams.market.stage import NOTHING, Stage, lift
from streams.market.state import StreamHealth


class Tick(Struct, frozen=True):
    """Event time moving on with no message (a source's heartbeat), so that silence shows as age."""

    t: float


HealthInput = Union[ev.Event, ResyncRequest, Uncrossed, Tick]

SLOTS = 10
"""The rate window is this many whole slots, up to the newest complete one."""
_RING = SLOTS + 1  # and the current slot, still filling

# where parse.py says a frame came from: "... (channel_data v4_candles/ETH-USD/1MIN message_id 3)"
_WS_WHERE = re.compile(r"\(\w+ (\w+)(?:/(\S+))? message_id")
_REST_WHERE = re.compile(r"rest (/[^ ?]*)")

Key = tuple[str, Union[str, None]]


def _name(key: Key) -> str:
    return key[0] if key[1] is None else f"{key[0]}:{key[1]}"


def _error_key(error: ev.ParseError) -> Key:
    if match := _WS_WHERE.search(error.where):
        return match.group(1), match.group(2)
    if match := _REST_WHERE.match(error.where):
        return "rest", match.group(1)
    return "parse", None


class _Stream:
    __slots__ = ("name", "subscription", "messages", "gaps", "resyncs", "crossed", "errors", "first_t",
                 "last_t", "error_t", "resync_pending", "subscribed", "conn", "connection_id",
                 "message_id", "counts", "slots")

    def __init__(self, key: Key, t: float) -> None:
        self.name = _name(key)
        self.subscription = False  # a WebSocket feed, which is expected to keep talking
        self.messages = self.gaps = self.resyncs = self.crossed = self.errors = 0
        self.first_t = t
        self.last_t: float | None = None
        self.error_t: float | None = None
        self.resync_pending = False
        self.subscribed = False
        self.conn: int | None = None
        self.connection_id: str | None = None
        self.message_id = -1
        self.counts = [0] * _RING
        self.slots = [-1] * _RING


class Health(Stage[HealthInput, StreamHealth]):
    """Every stream's counters and state (see the module's doc), reported in event time."""

    def __init__(self, interval: float = 1.0, window: float = 10.0, stale_after: float = 30.0) -> None:
        self.interval = interval
        self.window = window
        self.stale_after = stale_after
        self._width = window / SLOTS
        self._streams: dict[Key, _Stream] = {}
        self._now: float | None = None
        self._next_report = 0.0

    def on_event(self, event: HealthInput) -> Iterable[StreamHealth]:
        t = event.t
        if self._now is None:
            self._next_report = (t // self.interval + 1) * self.interval
            self._now = t
        elif t > self._now:
            self._now = t
        out: list[StreamHealth] | tuple = NOTHING
        if self._now >= self._next_report:
            out = self.report()
            self._next_report = (self._now // self.interval + 1) * self.interval
        urgent = self._apply(event)
        if urgent is not None:
            out = [*out, self._health(urgent)]
        return out

    def on_end(self) -> Iterable[StreamHealth]:
        return self.report() if self._now is not None else NOTHING

    def report(self) -> list[StreamHealth]:
        """Every stream's health at the current event time."""
        return [self._health(stream) for stream in self._streams.values()]

    def _apply(self, event: HealthInput) -> _Stream | None:
        """Count one input; returns its stream when that stream must be reported at once."""
        kind = type(event)
        if kind is ev.ChannelData or kind is ev.ChannelBatchData or kind is ev.Subscribed:
            stream = self._stream((event.channel, event.id), event.t)
            self._count(stream, event.t)
            self._sequence(stream, event, kind is ev.Subscribed)
            return None
        if kind is ev.RestResponse:
            self._count(self._stream(("rest", event.path.split("?", 1)[0]), event.t), event.t)
            return None
        if kind is Uncrossed:
            self._stream((BOOKS, event.market), event.t).crossed += 1
            return None
        if kind is ResyncRequest:
            stream = self._stream((event.channel, event.id), event.t)
            stream.resyncs += 1
            stream.resync_pending = True
            return stream
        if kind is ev.IndexerError:
            key = (event.channel, event.id) if event.channel else ("indexer", None)
            return self._error(self._stream(key, event.t), event.t)
        if kind is ev.ParseError:
            return self._error(self._stream(_error_key(event), event.t), event.t)
        if kind is ev.Unsubscribed:
            self._stream((event.channel, event.id), event.t).subscription = False
        return None

    def _stream(self, key: Key, t: float) -> _Stream:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(key, t)
        return stream

    def _count(self, stream: _Stream, t: float) -> None:
        slot = int(t // self._width)
        i = slot % _RING
        if stream.slots[i] != slot:
            stream.slots[i] = slot
            stream.counts[i] = 0
        stream.counts[i] += 1
        stream.messages += 1
        stream.last_t = t

    def _sequence(self, stream: _Stream, event: ev.ChannelData | ev.ChannelBatchData | ev.Subscribed,
                  snapshot: bool) -> None:
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
        if snapshot:
            if stream.resync_pending:
                stream.resync_pending = False
            elif stream.subscribed:
                stream.resyncs += 1  # resubscribed without a request: a reconnect
            stream.subscribed = True

    @staticmethod
    def _error(stream: _Stream, t: float) -> _Stream:
        stream.errors += 1
        stream.error_t = t
        return stream

    def _health(self, stream: _Stream) -> StreamHealth:
        now = self._now
        last_t = stream.last_t if stream.last_t is not None else stream.first_t
        age = now - last_t
        if stream.error_t is not None and (stream.last_t is None or stream.error_t >= stream.last_t):
            state = "error"
        elif stream.resync_pending:
            state = "resyncing"
        elif stream.subscription and age > self.stale_after:
            state = "stale"
        else:
            state = "ok"
        current = int(now // self._width)
        recent = sum(count for count, slot in zip(stream.counts, stream.slots)
                     if current - SLOTS <= slot < current)
        return StreamHealth(t=now, stream=stream.name, rate=recent / self.window, last_age=age,
                            messages=stream.messages, gaps=stream.gaps, resyncs=stream.resyncs,
                            crossed=stream.crossed, errors=stream.errors, state=state)


def health(interval: float = 1.0, window: float = 10.0, stale_after: float = 30.0
           ) -> Callable[[Observable[HealthInput]], Observable[StreamHealth]]:
    """The operator: typed events merged with the books' `ResyncRequest`/`Uncrossed` (and optional
    `Tick`s) in, `StreamHealth` out (see `Health`)."""
    return lift(lambda: Health(interval, window, stale_after))
