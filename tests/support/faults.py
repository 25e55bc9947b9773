"""Faulty Indexer traffic and a harness to watch the bot survive it.

`IndexerTape` is SYNTHETIC ETH-USD traffic (`tools.synthetic`: seeded random-walk candles, and
the trades, book, oracle and funding updates that agree with them) together with what the indexer would
hold after each update, so that a reconnect can be answered with the snapshots the real server would
send then. `FaultyRecording` writes recordings message by message, numbered as the indexer numbers them
(one connection id and one message-id counter per WebSocket session), and lets a test break any of it:
close codes, drops, repeated or regressed ids, foreign connection ids, crossed books, silences, garbage,
error frames, REST 429s and 5xx. Each session is what the n-th client connection to the replay server
gets.

`live_graph` runs the real `LiveSource` against the replay server and feeds the real graph, wired as the
app wires it (the books' resync requests go to `source.resync`); `LiveRun` collects what every layer
says and awaits conditions on it. The graph's strategy wants to trade at every book (`TRADING`) and is
blind to the ladder (`LadderBlind`), so that the risk engine's gate alone stands between a fault and new
risk: a fault test that finds nothing risky passed while halted, and the gate saying the halt is why, proves
that it held.
"""

from __future__ import annotations

import asyncio
import json
import random
import unittest.mock
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from streams.config import Config
from streams.graph import BOOK_DEPTH, Graph, build_graph
from streams.kernel.frames import Frame
from streams.kernel.orders import OrderIntent
from streams.kernel.status import SourceStatus, read_status
from streams.market import events as ev
from streams.market.book_core import OrderBook
from streams.market.books import order_books
from streams.market.state import BookTop
from streams.risk.config import RiskConfig
from streams.risk.derisk import IntentBlocked
from streams.risk.ladder import RiskState
from streams.signals.config import IndicatorParams, SignalsConfig, Weights
from streams.sources.endpoints import Endpoints
from streams.sources.live import LiveConfig, LiveSource
from streams.sources.pacing import BackoffPolicy
from streams.sources.recording_writer import RecordingWriter, make_flow
from streams.strategy import targets
from streams.strategy.config import StrategyConfig
from tests.support.builders import run_frames
from tests.support.servers import replay_server
from tools.synthetic import BookShape, MarketTape, batched, market_updates, synthetic_candles, text

T0 = 1_722_000_000.0  # 2024-07-26 13:20 UTC: where the synthetic traffic starts
MARKET = "ETH-USD"
CANDLES_ID = f"{MARKET}/1MIN"
HOST = "https://indexer.dydx.trade"
GUARD = 10.0  # seconds: a hang guard, never a measurement
CONN_A = "0b7c1f9e-4a11-4d6a-9c3e-6f2d8a1b5c01"
CONN_B = "5e0d2c7a-93b4-4f18-8a6d-1c9e7b3f2a02"
CONN_C = "a3f61b28-0c5d-4e97-b1a4-9d8e2f7c6b03"
FETCH_FAILED = "Internal error, could not fetch data for subscription: v4_orderbook."
"""The indexer's error text, verbatim (socks `Subscription#subscribe`; seen in a real capture)."""

TICK, STEP, PRICE = Decimal("0.1"), Decimal("0.001"), Decimal("3246.5")
ETH = {  # ETH-USD as /v4/perpetualMarkets lists it (mainnet parameters of July 2024)
    "ticker": MARKET, "clobPairId": "1", "status": "ACTIVE", "oraclePrice": text(PRICE),
    "priceChange24H": "-12.3", "volume24H": "204312345.6", "trades24H": 51234, "nextFundingRate": "0.00001",
    "initialMarginFraction": "0.05", "maintenanceMarginFraction": "0.03", "openInterest": "16119.209",
    "atomicResolution": -9, "quantumConversionExponent": -9, "tickSize": text(TICK), "stepSize": text(STEP),
    "stepBaseQuantums": 1_000_000, "subticksPerTick": 100_000, "marketType": "CROSS",
    "openInterestLowerCap": "0", "openInterestUpperCap": "0", "baseOpenInterest": "16119.209",
    "defaultFundingRate1H": "0",
}


def request(channel: str, ident: str | None = None, type: str = "subscribe") -> dict[str, Any]:
    """A client request as the library's channel helpers send it."""
    return {"type": type, "channel": channel, **({"id": ident} if ident else {}),
            **({"batched": True} if type == "subscribe" else {})}


PLAN = (request("v4_markets"), request("v4_orderbook", MARKET), request("v4_trades", MARKET),
        request("v4_candles", CANDLES_ID))
"""What `live_config()`'s source subscribes to, in its order."""


SNAPSHOT_LEVELS = 100  # what an indexer book snapshot holds at most, a side
WARM_UP = 10.0  # seconds of traffic before the first subscription


def _dump(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


_book_update = msgspec.json.Decoder(ev.OrderbookUpdate)
_candle = msgspec.json.Decoder(ev.Candle)


def trade_ids(messages: Iterable[bytes]) -> list[str]:
    """The ids of the trades that v4_trades updates among `messages` carry, in order (snapshots are history)."""
    ids = []
    for data in messages:
        message = json.loads(data)
        if message.get("type") == "channel_batch_data" and message.get("channel") == "v4_trades":
            ids += [trade["id"] for update in message["contents"] for trade in update["trades"]]
    return ids


# ---------------------------------------------------------------------------------------------------
# The traffic, and what the indexer holds after it


Levels = tuple[tuple[Decimal, Decimal], ...]
Update = tuple[float, str, "str | None", list[dict[str, Any]]]
"""(t, channel, id, contents): one batched update as the indexer flushes it."""


class IndexerTape:
    """`minutes` of SYNTHETIC ETH-USD updates after `history` closed candles, batched per 250 ms as the
    indexer does, and the indexer's state as the updates are played out (`play`). Every book level comes
    from the generator's updates (which keep the book uncrossed), so the first `WARM_UP` seconds are
    played before anyone subscribes."""

    def __init__(self, minutes: int = 3, history: int = 5, seed: int = 11) -> None:
        rng = random.Random(seed)
        candles = synthetic_candles(MARKET, T0 - 60 * history, history + minutes, PRICE, TICK, STEP, rng,
                                    trades_per_minute=12.0, base_volume=Decimal(4))
        shape = BookShape(bids=[(level, Decimal(2 + level % 3)) for level in range(15)],
                          asks=[(level, Decimal(2 + level % 4)) for level in range(15)], spread_ticks=1)
        tape = MarketTape(MARKET, candles, TICK, STEP, shape, rng=random.Random(seed + 1))
        self.book = OrderBook(depth=SNAPSHOT_LEVELS)
        self.candles: dict[str, dict[str, Any]] = {c["startedAt"]: c for c in candles[:history]}
        self.trades: list[dict[str, Any]] = []
        self.market = {**ETH, "oraclePrice": candles[history]["open"]}
        self.updates = list(batched(market_updates(tape, history)))  # (t, channel, id, contents)
        self._next = 0
        for _ in self.play(until=T0 + WARM_UP):
            pass

    def play(self, until: float | None = None) -> Iterator[Update]:
        """The next updates (all, or those before `until`), each applied to the state as it goes."""
        while self._next < len(self.updates) and (until is None or self.updates[self._next][0] < until):
            update = self.updates[self._next]
            self._next += 1
            self._apply(*update[1:])
            yield update

    def _apply(self, channel: str, _ident: str | None, contents: list[dict[str, Any]]) -> None:
        for content in contents:
            if channel == "v4_orderbook":
                self.book.apply(_book_update.decode(_dump(content)))
                self.book.uncross()
            elif channel == "v4_candles":
                self.candles[content["startedAt"]] = content
            elif channel == "v4_trades":
                self.trades[:0] = content["trades"]
            else:
                for patch in (content.get("trading") or {}).values():
                    self.market = {**self.market, **patch}
                for price in (content.get("oraclePrices") or {}).values():
                    self.market = {**self.market, "oraclePrice": price["oraclePrice"]}

    def snapshot(self, channel: str) -> dict[str, Any]:
        """The `subscribed` contents the indexer would send now."""
        if channel == "v4_markets":
            return {"markets": {MARKET: self.market}}
        if channel == "v4_orderbook":
            return {side: [{"price": text(p), "size": text(s)} for p, s in levels]
                    for side, levels in zip(("bids", "asks"), self.book.top(), strict=False)}
        if channel == "v4_trades":
            return {"trades": self.trades[:100]}
        return {"candles": [self.candles[start] for start in sorted(self.candles, reverse=True)]}

    def candle(self, started_at: str) -> ev.Candle:
        """The candle of that minute as the indexer holds it now (its final version, once closed)."""
        return _candle.decode(_dump(self.candles[started_at]))


def top_of(snapshot: dict[str, Any], depth: int = BOOK_DEPTH) -> tuple[Levels, Levels]:
    """The best `depth` levels a side of a book snapshot's contents."""
    def side(levels: list[dict[str, str]]) -> Levels:
        return tuple((Decimal(level["price"]), Decimal(level["size"])) for level in levels[:depth])

    return side(snapshot["bids"]), side(snapshot["asks"])


def clean_book(sent: list[bytes]) -> tuple[Levels, Levels]:
    """The book a fault-free run of these frames alone ends with (e.g. one session: its snapshot and its
    updates): the reference a recovered book must equal."""
    frames = [Frame(t=T0 + i, kind="ws", data=data, conn=1) for i, data in enumerate(sent)]
    tops = [top for top in run_frames(frames, order_books(BOOK_DEPTH)) if isinstance(top, BookTop)]
    return tops[-1].bids, tops[-1].asks


# ---------------------------------------------------------------------------------------------------
# Recordings


class FaultSession:
    """One recorded WebSocket connection: server messages numbered like the indexer's, client requests
    as gates, and how it ends."""

    def __init__(self, writer: RecordingWriter, conn: int, connection_id: str, t: float) -> None:
        self.writer = writer
        self.conn = conn
        self.connection_id = connection_id
        self.message_id = 0
        self.t = t
        self.sent: list[bytes] = []
        writer.ws_open(conn, t, "/v4/ws")

    def _at(self, t: float | None) -> float:
        self.t = max(self.t + 0.001, t if t is not None else self.t)
        return self.t

    def send(self, message: dict[str, Any] | bytes, t: float | None = None) -> bytes:
        """Any server message, as given (bytes: verbatim, e.g. garbage)."""
        data = message if isinstance(message, bytes) else _dump(message)
        self.writer.ws_message(self.conn, self._at(t), from_client=False, data=data)
        self.sent.append(data)
        return data

    def connected(self) -> bytes:
        return self.send({"type": "connected", "connection_id": self.connection_id, "message_id": 0})

    def expect(self, *requests: dict[str, Any]) -> None:
        """What the client must send before playback goes on (in any order)."""
        for message in requests:
            self.writer.ws_message(self.conn, self._at(None), from_client=True, data=_dump(message))

    def frame(self, type: str, channel: str, ident: str | None, contents: Any = None, t: float | None = None,
              **envelope: Any) -> bytes:
        """A numbered frame (`envelope` overrides, e.g. a regressed `message_id` or a foreign `connection_id`)."""
        if "message_id" not in envelope:
            self.message_id += 1
        message: dict[str, Any] = {"type": type, "connection_id": self.connection_id,
                                   "message_id": self.message_id, "channel": channel}
        if ident is not None:
            message["id"] = ident
        if type in ("channel_data", "channel_batch_data"):
            message["version"] = "2.1.0" if channel == "v4_trades" else "1.0.0"
        if contents is not None:
            message["contents"] = contents
        return self.send({**message, **envelope}, t)

    def subscribe_all(self, tape: IndexerTape) -> None:
        """connected; the client subscribes (`PLAN`); the snapshots as of now on the tape."""
        self.connected()
        self.expect(*PLAN)
        for message in PLAN:
            self.frame("subscribed", message["channel"], message.get("id"), tape.snapshot(message["channel"]))

    def play(self, tape: IndexerTape, until: float | None = None, through: str | None = None) -> None:
        """The tape's next updates: all, those before `until`, or up to and including one of `through`."""
        for t, channel, ident, contents in tape.play(until):
            self.frame("channel_batch_data", channel, ident, contents, t)
            if channel == through:
                return

    def error(self, message: str, **fields: Any) -> bytes:
        """An error frame; it reuses the current message id (and older indexers name no channel)."""
        return self.send({"type": "error", "message": message, "connection_id": self.connection_id,
                          "message_id": self.message_id, **fields})

    def close(self, code: int | None) -> None:
        """The server closes with `code` (None: the TCP connection just drops)."""
        self.writer.ws_close(self.conn, self._at(None), code, by_client=False)


class FaultyRecording:
    """A recording written session by session; `finish()` closes it and returns its path."""

    def __init__(self, path: Path, markets: dict[str, Any] | None = None) -> None:
        self.path = path
        self.writer = RecordingWriter(path)
        self.sessions: list[FaultSession] = []
        self._t = T0 - 60.0
        if markets is not None:
            self.rest("/v4/perpetualMarkets", {"markets": markets})

    def rest(self, target: str, body: dict[str, Any] | bytes, status: int = 200, retry_after: str | None = None
             ) -> None:
        """One REST answer; repeated targets are answered in the order recorded."""
        self._t += 0.01
        headers = {"content-type": "application/json", **({"retry-after": retry_after} if retry_after else {})}
        data = body if isinstance(body, bytes) else _dump(body)
        self.writer.add_flow(make_flow(HOST + target, "GET", status, data, self._t, self._t, headers))

    def session(self, connection_id: str) -> FaultSession:
        start = self.sessions[-1].t + 0.01 if self.sessions else T0 + WARM_UP - 1.0  # before the tape plays
        session = FaultSession(self.writer, len(self.sessions) + 1, connection_id, start)
        self.sessions.append(session)
        return session

    def finish(self) -> Path:
        self.writer.close(network="mainnet", upstream=HOST, markets=[MARKET], provenance={
            "built_by": __name__, "synthetic": "SYNTHETIC: seeded random-walk ETH-USD traffic with injected faults"})
        return self.path


# ---------------------------------------------------------------------------------------------------
# The bot under test


TRADING = Config(
    signals=SignalsConfig(indicators=IndicatorParams(atr_period=2, imbalance_half_life=0.0),
                          weights=Weights(rsi=0, macd=0, bollinger=0, vwap=0, imbalance=1, funding=0)),
    strategy=StrategyConfig(dead_zone=0.0, rebalance_interval=0.0, rebalance_threshold=Decimal(0),
                            min_trade_notional=Decimal(0)),
    risk=RiskConfig(max_position_notional=Decimal(1)),
)
"""A strategy that wants to trade from the first book on: the score is the book's imbalance (the history
candles in the snapshot give the ATR at once), every score a new target, any difference an order. Every
order would add risk, and the gate refuses each: while NORMAL for its size (one step is worth more than
the gate's 1 USDC position limit, which `LadderBlind` does not heed), while halted for the halt. So the bot
holds nothing and the ladder moves for the faults alone, as it does without trading."""


class LadderBlind(targets.TargetStrategy):
    """The strategy as it would be if it ignored the ladder and the limits (a bug, a new strategy): it
    goes on adding risk while the ladder says not to, which only the risk engine's gate can then stop."""

    def __init__(self, config: StrategyConfig, _risk: RiskConfig, bar_seconds: float,
                 schedule: targets.Schedule | None = None) -> None:
        super().__init__(config, RiskConfig(), bar_seconds, schedule)  # the default limits, not the gate's

    def on_event(self, event: targets.StrategyInput) -> list[targets.StrategyOutput]:
        return [] if isinstance(event, RiskState) else super().on_event(event)


def status_is(event: str) -> Callable[[Any], bool]:
    """Picks a source status frame saying `event`."""
    return lambda value: isinstance(value, Frame) and value.kind == "status" and read_status(value).event == event


def live_config(rest: str, ws: str, **options: Any) -> LiveConfig:
    """ETH-USD book, trades and 1-minute candles; no REST candle history; fast pacing, short backoff,
    a check (and, in silence, a heartbeat) every 50 ms."""
    settings: dict[str, Any] = dict(markets=(MARKET,), candles=("1MIN",), candle_history=0, subscribe_rate=100.0,
                                    reconnect=BackoffPolicy(base=0.05, cap=0.2),
                                    rest_retry=BackoffPolicy(base=0.02, cap=0.05), check_every=0.05)
    return LiveConfig(Endpoints(rest, ws), **{**settings, **options})


@dataclass
class LiveRun:
    """Everything the source and each layer of the graph said, in order, and a way to await a condition
    on it (checked after everything that comes out)."""

    source: LiveSource
    graph: Graph
    frames: list[Frame] = field(default_factory=list)
    events: list[ev.Event] = field(default_factory=list)
    books: list[BookTop] = field(default_factory=list)
    candles: list[Any] = field(default_factory=list)
    health: list[Any] = field(default_factory=list)
    risk: list[RiskState] = field(default_factory=list)
    orders: list[Any] = field(default_factory=list)
    resyncs: list[Any] = field(default_factory=list)
    log: list[Any] = field(default_factory=list)  # all of the above, in the order it came out
    _waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        graph = self.graph
        for stream, into in ((self.source.frames, self.frames), (graph.events, self.events),
                             (graph.books, self.books), (graph.candles, self.candles), (graph.health, self.health),
                             (graph.risk, self.risk), (graph.orders, self.orders), (graph.resyncs, self.resyncs)):
            stream.subscribe(self._into(into))

    def _into(self, values: list[Any]) -> Callable[[Any], None]:
        def append(value: Any) -> None:
            values.append(value)
            self.log.append(value)
            for condition, future in self._waiters:
                if not future.done() and condition():
                    future.set_result(None)

        return append

    async def until(self, condition: Callable[[], bool]) -> None:
        if condition():
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((condition, future))
        await asyncio.wait_for(future, GUARD)

    # -- reading what was said ----------------------------------------------------------------------

    def statuses(self, *events: str) -> list[SourceStatus]:
        said = [read_status(frame) for frame in self.frames if frame.kind == "status"]
        return [status for status in said if not events or status.event in events]

    def ticks(self) -> set[float]:
        """When the source's heartbeat beat (event time)."""
        return {frame.t for frame in self.frames if frame.kind == "status" and read_status(frame).event == "tick"}

    def ws(self) -> list[bytes]:
        return [frame.data for frame in self.frames if frame.kind == "ws"]

    def received(self, data: bytes) -> Callable[[], bool]:
        return lambda: data in self.ws()

    def after(self, mark: Callable[[Any], bool], kind: type) -> list[Any]:
        """What of `kind` came out after the first value `mark` picks."""
        start = next(i for i, value in enumerate(self.log) if mark(value))
        return [value for value in self.log[start + 1:] if isinstance(value, kind)]

    def levels(self) -> list[str]:
        """The ladder's states, in order."""
        return [state.state for state in self.risk]

    def back_to_normal(self) -> Callable[[], bool]:
        return lambda: bool(self.risk) and self.risk[-1].state == "NORMAL"

    def stream(self, name: str) -> list[Any]:
        """Every health report of one stream."""
        return [report for report in self.health if report.stream == name]

    def risky_intents_while_halted(self) -> list[OrderIntent]:
        """Orders that could add risk and went to the broker while the ladder was off NORMAL. The strategy
        must have tried some then, and each that did not pass must have been stopped for the halt: an empty
        answer proves nothing else."""
        passed, blocked, state = [], [], None
        for value in self.log:
            if isinstance(value, RiskState):
                state = value if value.state != "NORMAL" else None
            elif state is not None and isinstance(value, OrderIntent) and not value.reduce_only:
                passed.append(value)
            elif state is not None and isinstance(value, IntentBlocked):
                blocked.append(value)
                assert value.reason.startswith(f"{state.state}: "), value
        assert passed or blocked, "no order tried to add risk while the ladder was halted: nothing was proved"
        return passed


@asynccontextmanager
async def live_graph(recording: Path, *, speed: float | None = None, **options: Any) -> AsyncIterator[LiveRun]:
    """The live source (configured by `live_config(**options)`) on a replay server of `recording`, feeding
    the graph; the server idles after the last session's end, so what follows is silence."""
    with replay_server(recording, speed=speed, idle_at_end=True, ping_interval=None) as (rest_url, ws_url), \
            unittest.mock.patch.object(targets, "TargetStrategy", LadderBlind):
        source = LiveSource(live_config(rest_url, ws_url, **options), random=lambda: 0.5)
        graph = build_graph(source.frames, TRADING, staleness=source.config.staleness)
        run = LiveRun(source, graph)
        graph.resyncs.subscribe(lambda r: source.resync(r.channel, r.id, r.reason))  # as the app wires it
        connection = graph.connect()
        try:
            async with source:
                yield run
        finally:
            connection.dispose()
