"""The live source: the dYdX Indexer through dydx-v4-client, as one hot observable of `Frame`s.

- REST goes through the library's `IndexerClient`: the markets list, candle history per market and
  resolution, and the subaccount when an address is given; after each later snapshot of the account (a
  reconnect, a resync), its latest orders and fills, which that snapshot does not say. 429 and 5xx
  answers and transport errors are retried with backoff. The library hands back decoded JSON, so REST
  frames carry it re-encoded; the request path and query are exactly the ones the library sent.
- Each WebSocket connection is an `IndexerSocket` run by `run_forever` in its own worker thread, with
  TLS certificate verification on (the library's `connect()` blocks and turns it off). The socket's raw
  `on_message` replaces the library's JSON wrapper, so frames carry the bytes as received.
- Threads meet the event loop in one place, `LiveSource._from_thread`; everything else, including every
  emission, runs on the loop. A lost socket is a status frame and a reconnect, never an error on the
  stream.

The decisions (sharding, pacing, backoff, message-id checks, staleness) live in pure modules tested on
virtual time; this module only carries them out on sockets. It is the one place allowed to read the
wall clock: `Frame.t` is the receive time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random as _random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import certifi
import httpx
import msgspec
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.indexer.rest.utils.request_helpers import generate_query_path
from dydx_v4_client.indexer.socket.websocket import IndexerSocket
from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import Subject
from websocket import WebSocketBadStatusException, WebSocketException

from streams.kernel.frames import Frame
from streams.kernel.status import SourceStatus, read_status, status_frame
from streams.sources.endpoints import MAINNET, Endpoints
from streams.sources.envelope import Envelope, decode_envelope
from streams.sources.message_ids import MessageIdCheck
from streams.sources.pacing import Backoff, BackoffPolicy, Outbox, TokenBucket
from streams.sources.subscriptions import (
    Request,
    Staleness,
    State,
    StreamKey,
    Subscription,
    SubscriptionTracker,
    plan_subscriptions,
    shard,
)

MAX_CANDLES = 1000
"""The Indexer's cap on `limit` for list endpoints."""

CATCH_UP = 100
"""Orders and fills fetched after a re-snapshot of the account: more than a bot makes while reconnecting."""

ACCOUNT_CHANNELS = frozenset({"v4_subaccounts", "v4_parent_subaccounts"})


def parse_markets(text: str) -> tuple[str, ...]:
    """`--markets btc-usd,ETH-USD` -> ("BTC-USD", "ETH-USD")."""
    return tuple(dict.fromkeys(m.strip().upper() for m in text.split(",") if m.strip()))


@dataclass(frozen=True)
class RestCall:
    """A GET the source makes through the library's `RestClient.get` (which its typed helpers such as
    `get_perpetual_market_candles` wrap), so the frame's `target` is built from the same path and
    params by the library's own query builder."""

    path: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def target(self) -> str:
        """Path and query as the library builds them."""
        return generate_query_path(self.path, dict(self.params))


@dataclass(frozen=True)
class LiveConfig:
    """What to fetch and subscribe to, and how patiently. Built from the CLI's parsed values:
    `LiveConfig(resolve_endpoints(args.network, args.rest_url, args.ws_url), parse_markets(args.markets))`.
    """

    endpoints: Endpoints = MAINNET
    markets: tuple[str, ...] = ("BTC-USD", "ETH-USD")
    orderbook: bool = True
    trades: bool = True
    candles: tuple[str, ...] = ("1MIN",)
    address: str | None = None
    subaccount_number: int = 0
    parent_subaccount: bool = False  # follow the subaccount as a parent, with its isolated children
    candle_history: int = MAX_CANDLES  # candles fetched over REST per market and resolution (0: none)
    staleness: Staleness = field(default_factory=Staleness)
    reconnect: BackoffPolicy = field(default_factory=BackoffPolicy)
    rest_retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(base=1.0))
    rest_attempts: int = 5
    rest_timeout: float = 10.0  # seconds (the library's own default is 3000)
    subscribe_rate: float = 2.0  # requests per second per connection (the Indexer's limit)
    ping_interval: float = 20.0  # client pings detect a dead TCP connection; 0 turns them off
    ping_timeout: float = 10.0
    check_every: float = 1.0  # seconds between staleness checks (and heartbeats while nothing comes)

    def __post_init__(self) -> None:
        if not 0 <= self.candle_history <= MAX_CANDLES:
            raise ValueError(f"candle_history must be 0..{MAX_CANDLES}, not {self.candle_history}")
        if self.rest_attempts < 1:
            raise ValueError(f"rest_attempts must be at least 1, not {self.rest_attempts}")
        if self.ping_interval and not 0 < self.ping_timeout < self.ping_interval:
            raise ValueError("ping_timeout must be positive and shorter than ping_interval")
        self.subscriptions()  # rejects unknown candle resolutions now rather than at connect time

    def subscriptions(self) -> list[Subscription]:
        return plan_subscriptions(self.markets, orderbook=self.orderbook, trades=self.trades,
                                  candles=self.candles, address=self.address,
                                  subaccount_number=self.subaccount_number, parent=self.parent_subaccount)

    def rest_calls(self) -> list[RestCall]:
        calls = [RestCall("/v4/perpetualMarkets")]
        if self.candle_history:
            calls += [RestCall(f"/v4/candles/perpetualMarkets/{market}",
                               (("resolution", resolution), ("limit", self.candle_history)))
                      for market in dict.fromkeys(self.markets) for resolution in dict.fromkeys(self.candles)]
        if self.address:
            kind = "parentSubaccountNumber" if self.parent_subaccount else "subaccountNumber"
            calls.append(RestCall(f"/v4/addresses/{self.address}/{kind}/{self.subaccount_number}"))
        return calls

    def catch_up_calls(self) -> list[RestCall]:
        """What a fresh snapshot of the account leaves out: the orders that ended and the fills made while
        the bot was not listening (the reconciler takes only those it missed)."""
        if not self.address:
            return []
        if self.parent_subaccount:  # the parent's and its children's
            account = (("address", self.address), ("parentSubaccountNumber", self.subaccount_number),
                       ("limit", CATCH_UP))
            return [RestCall("/v4/orders/parentSubaccountNumber", account + (("returnLatestOrders", "true"),)),
                    RestCall("/v4/fills/parentSubaccountNumber", account)]
        account = (("address", self.address), ("subaccountNumber", self.subaccount_number), ("limit", CATCH_UP))
        return [RestCall("/v4/orders", account + (("returnLatestOrders", "true"),)), RestCall("/v4/fills", account)]


class LiveSource:
    """The live Indexer as frames. Create it, subscribe to `frames` (and `status()`), then
    `await start()`; `await stop()` (or `async with`) closes everything and completes
    the streams. Methods are called on the event loop that ran `start()`."""

    def __init__(self, config: LiveConfig = LiveConfig(), *, clock: Callable[[], float] = time.time,
                 random: Callable[[], float] = _random.random) -> None:
        self.config = config
        self._clock = clock
        self._random = random
        self._subject: Subject[Frame] = Subject()
        self.frames: Observable[Frame] = self._subject
        host = _Host(config, random, clock, now=self._now, call_later=lambda delay, then: self.loop.call_later(
            delay, then), from_thread=self._from_thread, emit=self._emit, status=self._status,
            catch_up=lambda: self._fetch_each(config.catch_up_calls()))
        self._connections = [_Connection(host, number, members)
                             for number, members in enumerate(shard(config.subscriptions()), 1)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fetches: set[asyncio.Task[None]] = set()
        self._checker: asyncio.TimerHandle | None = None
        self._silent = False  # nothing emitted since the last check
        self._stopped = False

    @property
    def connections(self) -> int:
        return len(self._connections)

    # -- streams ------------------------------------------------------------------------------------

    def status(self) -> Observable[SourceStatus]:
        return self.frames.pipe(ops.filter(_is_status), ops.map(read_status))

    # -- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._fetch_each(self.config.rest_calls())
        for connection in self._connections:
            connection.open()
        self._check()

    async def stop(self) -> None:
        if self._stopped or self._checker is None:
            return  # stopped already, or never started
        self._stopped = True
        self._checker.cancel()
        # sockets first, before anything awaits: nothing a thread posts from now on is passed on
        lines = [line for connection in self._connections for line in connection.close()]
        for fetch in self._fetches:
            fetch.cancel()
        await asyncio.gather(*self._fetches, return_exceptions=True)
        await asyncio.gather(*(asyncio.to_thread(line.thread.join, 5.0) for line in lines))
        self._subject.on_completed()

    async def __aenter__(self) -> LiveSource:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def resync(self, channel: str, id: str | None = None, reason: str = "requested") -> None:
        """Ask for a fresh snapshot of one subscription (e.g. layer 3 saw a crossed book)."""
        key = (channel, id)
        for connection in self._connections:
            if key in connection.tracker:
                connection.resync(key, reason)
                return
        raise ValueError(f"not subscribed to {channel}{':' + id if id else ''}")

    # -- on the loop --------------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the source runs on (the one that called `start()`)."""
        if self._loop is None:
            raise RuntimeError("the live source has not been started")
        return self._loop

    def _from_thread(self, callback: Callable[..., None], *args: Any) -> None:
        """The one place where worker threads hand over to the event loop."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening any more
            self.loop.call_soon_threadsafe(callback, *args)

    def _emit(self, frame: Frame) -> None:
        self._silent = False
        self._subject.on_next(frame)

    def _status(self, status: SourceStatus) -> None:
        self._emit(status_frame(self._clock(), status))

    def _now(self) -> float:
        return self.loop.time()

    def _check(self) -> None:
        now = self._now()
        for connection in self._connections:
            connection.check(now)
        if self._silent:  # a heartbeat, so that layers above see time pass while nothing comes
            self._status(SourceStatus("tick"))
        self._silent = True
        self._checker = self.loop.call_later(self.config.check_every, self._check)

    def _fetch_each(self, calls: list[RestCall]) -> None:
        """The calls one after the other, in a task that `stop()` cancels."""
        async def fetch_each() -> None:
            client = IndexerClient(self.config.endpoints.rest, api_timeout=self.config.rest_timeout)
            for call in calls:
                await self._fetch(client, call)

        if calls and not self._stopped:
            task = self.loop.create_task(fetch_each())
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)

    async def _fetch(self, client: IndexerClient, call: RestCall) -> None:
        """One REST call, retried on 429, 5xx and transport errors; the final answer becomes a frame."""
        backoff = Backoff(self.config.rest_retry, self._random)
        for attempt in range(1, self.config.rest_attempts + 1):
            try:  # every sub-client's `get` is the same RestClient.get on the same host
                body = await client.markets.get(call.path, dict(call.params))
            except (httpx.HTTPError, ValueError) as exc:
                failure = _Failure.of(exc)
            else:
                self._emit(Frame(t=self._clock(), kind="rest", data=msgspec.json.encode(body),
                                 path=call.target, status=200))
                return
            if not failure.retryable:
                break
            if attempt < self.config.rest_attempts:
                delay = max(backoff.next_delay(self._now()), failure.retry_after)
                self._status(SourceStatus("retry", path=call.target, status=failure.status, attempt=attempt,
                                          delay=round(delay, 3), reason=failure.reason))
                await asyncio.sleep(delay)
        if failure.answer is not None:
            self._emit(Frame(t=self._clock(), kind="rest", data=failure.answer, path=call.target,
                             status=failure.status or 0))
        self._status(SourceStatus("error", path=call.target, status=failure.status, reason=failure.reason))


def _is_status(frame: Frame) -> bool:
    return frame.kind == "status"


@dataclass(frozen=True)
class _Failure:
    """A failed REST attempt: what the server answered, if anything, and whether to try again."""

    reason: str
    retryable: bool
    status: int | None = None
    answer: bytes | None = None
    retry_after: float = 0.0

    @classmethod
    def of(cls, exc: Exception) -> _Failure:
        if isinstance(exc, httpx.HTTPStatusError):
            response = exc.response
            status = response.status_code
            return cls(f"HTTP {status}", status == 429 or status >= 500, status, response.content,
                       _seconds(response.headers.get("retry-after")))
        if isinstance(exc, httpx.HTTPError):
            return cls(_describe(exc), retryable=True)
        return cls(f"invalid JSON: {exc}", retryable=False, status=200)  # a 200 whose body is not JSON


def _seconds(retry_after: str | None) -> float:
    try:
        return max(0.0, float(retry_after)) if retry_after else 0.0
    except ValueError:  # an HTTP date: the backoff decides
        return 0.0


def _describe(exc: BaseException) -> str:
    """One line: a refused handshake's own text holds the whole answer, headers and HTML page."""
    if isinstance(exc, WebSocketBadStatusException):
        return f"{type(exc).__name__}: handshake answered HTTP {exc.status_code}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_FETCH_FAILED = re.compile(r"Internal error, could not fetch data for subscription: (\w+)")
"""The indexer's error when a subscription's initial snapshot could not be fetched: nothing is subscribed."""


@dataclass(frozen=True)
class _Host:
    """What a connection may use of its source, and nothing else: the config, its two clocks (the wall
    clock stamps frames, the loop's paces requests), timers, and the ways out."""

    config: LiveConfig
    random: Callable[[], float]
    clock: Callable[[], float]
    now: Callable[[], float]
    call_later: Callable[[float, Callable[[], None]], asyncio.TimerHandle]
    from_thread: Callable[..., None]  # the one hand-over from a socket's thread to the loop
    emit: Callable[[Frame], None]
    status: Callable[[SourceStatus], None]
    catch_up: Callable[[], None]  # fetch what an account missed while away (REST)


class _Connection:
    """One shard of the subscription plan: a logical connection that outlives its sockets. It runs on
    the event loop; its socket's thread reaches it only through `_Host.from_thread`."""

    def __init__(self, host: _Host, number: int, subscriptions: list[Subscription]) -> None:
        self.number = number
        self.tracker = SubscriptionTracker(subscriptions, host.config.staleness)
        self._host = host
        self._outbox: Outbox[Request] = Outbox(TokenBucket(host.config.subscribe_rate))
        self._backoff = Backoff(host.config.reconnect, host.random)
        self._line: _SocketThread | None = None
        self._lines: list[_SocketThread] = []  # every socket thread not yet finished (joined on stop)
        self._ids = MessageIdCheck()
        self._snapshotted: set[StreamKey] = set()  # subscriptions that had a snapshot, on any socket
        self._ready = False  # the server said `connected`: requests may go
        self._last_error: str | None = None
        self._opened_at = 0.0
        self._timer: asyncio.TimerHandle | None = None  # the next pump while up, the next open while down

    def open(self) -> None:
        self._timer = None
        self._ids, self._ready, self._last_error = MessageIdCheck(), False, None
        self._opened_at = self._host.now()
        url = self._host.config.endpoints.ws
        self._status("connecting", url=url, attempt=self._backoff.attempt or None)
        line = _SocketThread(url, self._host.config, self.number, self._host.clock, self._host.from_thread, self)
        self._lines = [old for old in self._lines if old.thread.is_alive()] + [line]
        self._line = line
        line.start()

    def close(self) -> list[_SocketThread]:
        """Stop for good; returns the socket threads to join."""
        self._cancel_timer()
        if self._line is not None:
            self._line.hang_up()
            self._line = None
        return self._lines

    def resync(self, key: StreamKey, reason: str) -> None:
        self._status("resync", channel=key[0], id=key[1], reason=reason)
        self._send(self.tracker.renew(key))

    def check(self, now: float) -> None:
        if not self._ready:
            answer = self._host.config.staleness.answer
            if self._line is not None and now - self._opened_at > answer:
                self._reconnect(f"no `connected` message within {answer:g} s")
            return
        for sub, reason in self.tracker.due(now):
            self._status("stale", channel=sub.channel, id=sub.id, reason=reason)
            self._send(self.tracker.renew(sub.key))

    # -- handed over from the socket thread ---------------------------------------------------------

    def received(self, line: _SocketThread, t: float, data: bytes) -> None:
        if line is not self._line:
            return  # a socket this connection has already left
        try:
            env: Envelope | None = decode_envelope(data)
        except (msgspec.DecodeError, UnicodeDecodeError):
            env = None  # passed on as is: the parser turns it into a ParseError
        if env is not None and (reason := self._ids.check(env.type, env.connection_id, env.message_id)):
            # the frame is dropped: a repeated or out-of-order update would corrupt what layer 3 holds
            self._status("resync", channel=env.channel, id=env.id, message_id=env.message_id, reason=reason)
            self._reconnect(reason)
            return
        self._host.emit(Frame(t=t, kind="ws", data=data, conn=self.number))
        if env is None:
            return
        if env.type == "connected":
            self._ready = True
            self._backoff.succeeded(self._host.now())
            self._status("connected", connection_id=env.connection_id)
            self._outbox.clear()
            self._send(self.tracker.restart())
        elif env.type == "error":
            self._refetch(env)
        elif env.channel is not None:
            self.tracker.seen(env.type, (env.channel, env.id), self._host.now())
            if env.type == "subscribed":
                self._status("subscribed", channel=env.channel, id=env.id, message_id=env.message_id)
                key = (env.channel, env.id)
                if key in self._snapshotted and env.channel in ACCOUNT_CHANNELS:
                    self._host.catch_up()
                self._snapshotted.add(key)

    def failed(self, line: _SocketThread, reason: str) -> None:
        if line is self._line:
            self._last_error = reason  # reported with the close that always follows

    def closed(self, line: _SocketThread, code: int | None, reason: str | None) -> None:
        if line is self._line:
            self._reconnect(reason or self._last_error or "connection closed", code)

    # -- internals ----------------------------------------------------------------------------------

    def _refetch(self, env: Envelope) -> None:
        """Subscribe again to what the server could not fetch a snapshot for (paced like every request).
        Newer indexers name the subscription; older ones only its channel, in the message: then it is the
        one subscription of that channel awaiting its snapshot, and if several are, the `answer` timeout
        renews whichever never gets one (a second subscribe to one still being fetched would double it)."""
        failed = _FETCH_FAILED.match(env.message or "")
        if failed is None:
            return
        channel = env.channel or failed.group(1)
        pending = [sub.key for sub in self.tracker.subscriptions
                   if sub.channel == channel and (env.channel is None or sub.id == env.id)
                   and self.tracker.state(sub.key) is State.PENDING]
        if len(pending) == 1:
            self.resync(pending[0], failed.string)

    def _reconnect(self, reason: str, code: int | None = None) -> None:
        self.close()
        self._ready = False
        delay = self._backoff.next_delay(self._host.now())
        self._status("reconnecting", attempt=self._backoff.attempt, delay=round(delay, 3), reason=reason,
                     code=code)
        self._timer = self._host.call_later(delay, self.open)

    def _send(self, requests: list[Request]) -> None:
        if not self._ready:
            return  # `connected` on the next socket subscribes everything afresh
        self._outbox.put(requests)
        self._pump()

    def _pump(self) -> None:
        """Send what the pacing allows now, and come back when the next request may go."""
        self._cancel_timer()
        now = self._host.now()
        requests, wait = self._outbox.release(now)
        for request in requests:
            if self._line is None or not self._line.send(request.payload):
                return  # the socket is closing; its close reconnects and resubscribes
            self.tracker.sent(request, now)
        if wait is not None:
            self._timer = self._host.call_later(wait, self._pump)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _status(self, event: Any, **fields: Any) -> None:
        self._host.status(SourceStatus(event, conn=self.number, **fields))


class _SocketThread:
    """One `IndexerSocket` and the worker thread running it. The callbacks run on that thread and do
    nothing but hand what happened to `post` (the loop's thread-safe call)."""

    def __init__(self, url: str, config: LiveConfig, number: int, clock: Callable[[], float],
                 post: Callable[..., None], handler: _Connection) -> None:
        self.app = IndexerSocket(url, on_open=self._opened, on_error=self._error, on_close=self._closed)
        self.app.on_message = self._message  # raw bytes instead of the library's JSON wrapper
        self.thread = threading.Thread(target=self._run, name=f"dydx-ws-{number}", daemon=True)
        self._config = config
        self._clock = clock
        self._post = post
        self._handler = handler
        self._hung_up = threading.Event()

    def start(self) -> None:
        self.thread.start()

    def send(self, payload: str) -> bool:
        try:
            self.app.send(payload)
        except (WebSocketException, OSError):
            return False
        return True

    def hang_up(self) -> None:
        """From the loop, without blocking it: send a close frame and wake the thread so it ends. A socket
        still connecting closes itself as soon as it opens; one waiting for the host to answer its upgrade
        request is shut down under it."""
        self._hung_up.set()
        self.app.keep_running = False
        ws = self.app.sock
        if ws is None:
            return
        raw = ws.sock
        if ws.connected:
            with contextlib.suppress(WebSocketException, OSError):
                ws.send_close()
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)

    # -- on the worker thread -----------------------------------------------------------------------

    def _run(self) -> None:
        tls = self._config.endpoints.tls
        self.app.run_forever(
            sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": certifi.where()} if tls else None,
            ping_interval=self._config.ping_interval,
            ping_timeout=self._config.ping_timeout if self._config.ping_interval else None,
            skip_utf8_validation=True,  # keeps text frames as the bytes received
            reconnect=0,  # reconnecting is the source's decision, with backoff and resubscription
        )

    def _opened(self, ws: IndexerSocket) -> None:
        if self._hung_up.is_set():
            ws.close()

    def _message(self, _ws: IndexerSocket, data: bytes) -> None:
        self._post(self._handler.received, self, self._clock(), data)

    def _error(self, _ws: IndexerSocket, error: BaseException) -> None:
        self._post(self._handler.failed, self, _describe(error))

    def _closed(self, _ws: IndexerSocket, code: int | None, reason: str | None) -> None:
        self._post(self._handler.closed, self, code, reason)
