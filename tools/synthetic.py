"""Reconstructed Indexer traffic around real figures, for the bundled recording and the scale benchmarks.

What is real and what is reconstructed is stated by `PROVENANCE` and carried into every manifest built
from this module. Given 1-minute candles (real ones from the samples, or `synthetic_candles` — clearly
labelled), a market's traffic is rebuilt so that it agrees with each candle exactly:

- trades: exactly `candle.trades` trades per minute whose sizes sum to `baseTokenVolume` and whose prices
  open at `open`, close at `close` and touch `high` and `low`; times and the path between are drawn;
- candle updates: the running candle after each batch of trades; the last update of a minute is the real
  candle itself;
- order book: the level structure (distance from the best price in ticks, sizes) of a real snapshot,
  re-centred on the traded price, diffed into absolute-size updates;
- oracle prices and funding: the traded price with small noise; funding and open interest per minute
  (open interest from `startingOpenInterest` where the candle has it).

Updates are grouped the way the indexer's batched mode does: per channel and id every 250 ms. Everything
is drawn from a seeded `random.Random`, so the same inputs always give the same bytes. `write_session`
writes the whole of what one live source configuration asks for (REST calls, subscribes, snapshots,
updates) as a recording the replay server plays to it.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

from streams.kernel.frames import Frame
from streams.sources.live import LiveConfig, RestCall
from streams.sources.recording_writer import RecordingWriter
from streams.sources.subscriptions import Request, Subscription

BATCH_INTERVAL = 0.25  # seconds: the indexer flushes batched updates every 250 ms
VERSIONS = {"v4_trades": "2.1.0", "v4_subaccounts": "3.0.0"}  # data frames' `version`; others "1.0.0"

PROVENANCE_RECONSTRUCTED = (
    "trade times, prices between a candle's open/high/low/close and sizes within its volume; intermediate "
    "candle updates; order-book updates (a real snapshot's level structure re-centred on the traded price); "
    "oracle prices and funding-rate drift; all WebSocket timing"
)


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(t * 1000) % 1000:03d}Z"


def epoch(iso_text: str) -> float:
    return datetime.strptime(iso_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def text(value: Decimal) -> str:
    """A decimal as the indexer writes it: plain notation, no trailing zeros."""
    out = format(value.normalize(), "f")
    return out if out != "-0" else "0"


def quantize(value: Decimal, unit: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return (value / unit).to_integral_value(rounding=rounding) * unit


# ---------------------------------------------------------------------------------------------------
# Inputs


@dataclass
class BookShape:
    """A real book's structure: per side, (distance from the best price in ticks, size), best first."""

    bids: list[tuple[int, Decimal]]
    asks: list[tuple[int, Decimal]]
    spread_ticks: int

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any], tick: Decimal, size_scale: Decimal = Decimal(1),
                      step: Decimal | None = None) -> BookShape:
        def side(levels: list[dict[str, str]]) -> list[tuple[int, Decimal]]:
            best = Decimal(levels[0]["price"])
            out = []
            for level in levels:
                size = Decimal(level["size"]) * size_scale
                if step is not None:
                    size = max(step, quantize(size, step))
                out.append((int(abs(Decimal(level["price"]) - best) / tick), size))
            return out

        bids, asks = snapshot["bids"], snapshot["asks"]
        spread = int((Decimal(asks[0]["price"]) - Decimal(bids[0]["price"])) / tick)
        return cls(bids=side(bids), asks=side(asks), spread_ticks=max(1, spread))


@dataclass
class MarketTape:
    ticker: str
    candles: list[dict[str, Any]]  # 1MIN candles in wire shape, oldest first
    tick: Decimal
    step: Decimal
    book: BookShape
    funding_rate: Decimal = Decimal("0.00001")
    rng: random.Random = field(default_factory=lambda: random.Random(0))


def synthetic_candles(ticker: str, start: float, minutes: int, price: Decimal, tick: Decimal, step: Decimal,
                      rng: random.Random, volatility: float = 0.0008, trades_per_minute: float = 45.0,
                      base_volume: Decimal = Decimal(20), returns: list[float] | None = None) -> list[dict[str, Any]]:
    """SYNTHETIC 1-minute candles (labelled as such wherever used): a random walk with per-minute
    `volatility`, or, given `returns`, those returns (e.g. a real market's, scaled) plus noise."""
    candles = []
    last = price
    for i in range(minutes):
        r = returns[i % len(returns)] if returns else 0.0
        r += rng.gauss(0.0, volatility * (0.5 if returns else 1.0))
        open_ = last
        close = max(tick, quantize(open_ * Decimal(str(math.exp(r))), tick))
        wiggle = abs(float(close - open_)) + float(open_) * volatility * rng.random()
        high = quantize(max(open_, close) + Decimal(str(wiggle * rng.random())), tick)
        low = max(tick, quantize(min(open_, close) - Decimal(str(wiggle * rng.random())), tick))
        trades = max(1, int(rng.expovariate(1.0 / trades_per_minute)))
        volume = max(step * trades, quantize(base_volume * Decimal(str(rng.expovariate(1.0))), step))
        mid = (high + low) / 2
        candles.append({
            "startedAt": iso(start + 60 * i), "ticker": ticker, "resolution": "1MIN",
            "low": text(low), "high": text(high), "open": text(open_), "close": text(close),
            "baseTokenVolume": text(volume), "usdVolume": text(quantize(volume * mid, Decimal("0.0001"))),
            "trades": trades, "startingOpenInterest": None,
        })
        last = close
    return candles


# ---------------------------------------------------------------------------------------------------
# One market's updates


@dataclass(frozen=True)
class Update:
    """One update for one subscription, before batching: `contents` as the indexer would send it."""

    t: float
    channel: str
    id: str | None
    contents: dict[str, Any]


def _sizes(total: Decimal, count: int, step: Decimal, rng: random.Random) -> list[Decimal]:
    units = int(total / step)
    if count <= 1 or units <= count:
        base, extra = divmod(max(units, count), count)
        return [step * (base + (1 if i < extra else 0)) for i in range(count)]
    cuts = sorted(rng.sample(range(1, units), count - 1))
    bounds = [0, *cuts, units]
    return [step * (b - a) for a, b in zip(bounds, bounds[1:], strict=False)]


def _prices(candle: dict[str, Any], count: int, tick: Decimal, rng: random.Random) -> list[Decimal]:
    open_, close = Decimal(candle["open"]), Decimal(candle["close"])
    high, low = Decimal(candle["high"]), Decimal(candle["low"])
    if count == 1:
        return [close]
    anchors = {0: open_, count - 1: close}
    inner = list(range(1, count - 1))
    rng.shuffle(inner)
    for price in (high, low):
        if price not in anchors.values() and inner:
            anchors[inner.pop()] = price
    keys = sorted(anchors)
    prices = []
    for i in range(count):
        if i in anchors:
            prices.append(anchors[i])
            continue
        left = max(k for k in keys if k < i)
        right = min(k for k in keys if k > i)
        w = (i - left) / (right - left)
        base = float(anchors[left]) * (1 - w) + float(anchors[right]) * w
        noise = (float(high) - float(low)) * 0.15 * rng.gauss(0.0, 1.0)
        price = quantize(Decimal(str(base + noise)), tick)
        prices.append(min(high, max(low, price)))
    return prices


def market_updates(tape: MarketTape, start_minute: int = 0) -> Iterator[Update]:
    """All updates of one market from `start_minute` on, in time order."""
    rng = tape.rng
    book_id, ticker = tape.ticker, tape.ticker
    candle_id = f"{ticker}/1MIN"
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    # the subscription snapshot's levels (`initial_book`) that no update has touched yet: they rest in the
    # client's book, so a move of the price through them must delete them, or the book stays crossed
    snapshot = initial_book(tape, Decimal(tape.candles[start_minute]["open"]))
    resting = ({Decimal(level["price"]) for level in snapshot["bids"]},
               {Decimal(level["price"]) for level in snapshot["asks"]})
    funding = tape.funding_rate
    trade_count = 0
    for candle in tape.candles[start_minute:]:
        t0 = epoch(candle["startedAt"])
        count = int(candle["trades"])
        prices = _prices(candle, count, tape.tick, rng) if count else []
        sizes = _sizes(Decimal(candle["baseTokenVolume"]), count, tape.step, rng) if count else []
        times = sorted(t0 + rng.uniform(0.0, 59.9) for _ in range(count))
        running: dict[str, Any] | None = None
        last_price = Decimal(candle["open"])
        book_times = [t0 + k + rng.uniform(0.0, 1.9) for k in range(0, 60, 2)]
        oracle_times = [t0 + k + rng.uniform(0.0, 2.0) for k in range(0, 60, 3)]
        events: list[tuple[float, int, Any]] = (
            [(t, 0, i) for i, t in enumerate(times)] + [(t, 1, None) for t in book_times]
            + [(t, 2, None) for t in oracle_times]
        )
        events.sort(key=lambda e: (e[0], e[1]))
        oi = candle.get("startingOpenInterest")
        funding = quantize(funding + Decimal(str(rng.gauss(0.0, 2e-6))), Decimal("1e-12"))
        yield Update(t0 + 0.01, "v4_markets", None, {"trading": {ticker: {
            "nextFundingRate": text(funding), **({"openInterest": oi, "baseOpenInterest": oi} if oi else {})}}})
        for t, kind, index in events:
            if kind == 0:
                price, size = prices[index], sizes[index]
                side = "BUY" if price > last_price or (price == last_price and rng.random() < 0.5) else "SELL"
                last_price = price
                trade_count += 1
                yield Update(t, "v4_trades", ticker, {"trades": [{
                    "id": f"{int(t * 1000):016x}{trade_count:08x}", "size": text(size), "price": text(price),
                    "side": side, "createdAt": iso(t), "type": "LIMIT"}]})
                running = _advance(running, candle, price, size, index + 1)
                final = index == count - 1
                yield Update(t, "v4_candles", candle_id, candle if final else running)
            elif kind == 1:
                delta = _book_delta(bids, asks, tape, last_price, rng, resting)
                if delta:
                    yield Update(t, "v4_orderbook", book_id, delta)
            else:
                noise = Decimal(str(1 + rng.gauss(0.0, 0.0001)))
                oracle = quantize(last_price * noise, tape.tick / 100)
                yield Update(t, "v4_markets", None, {"oraclePrices": {ticker: {
                    "oraclePrice": text(oracle), "effectiveAt": iso(t), "marketId": 0}}})
        if count == 0:
            yield Update(t0 + 59.0, "v4_candles", candle_id, candle)


def _advance(running: dict[str, Any] | None, candle: dict[str, Any], price: Decimal, size: Decimal,
             trades: int) -> dict[str, Any]:
    if running is None:
        running = {**candle, "open": candle["open"], "high": candle["open"], "low": candle["open"],
                   "baseTokenVolume": "0", "usdVolume": "0"}
    volume = Decimal(running["baseTokenVolume"]) + size
    usd = Decimal(running["usdVolume"]) + quantize(size * price, Decimal("0.0001"))
    return {**running, "high": text(max(Decimal(running["high"]), price)),
            "low": text(min(Decimal(running["low"]), price)), "close": text(price),
            "baseTokenVolume": text(volume), "usdVolume": text(usd), "trades": trades}


TOP_LEVELS = 12  # levels per side the generator keeps moving; deeper ones stay as the snapshot left them


def initial_book(tape: MarketTape, price: Decimal) -> dict[str, list[dict[str, str]]]:
    best_bid = quantize(price, tape.tick, ROUND_DOWN)
    best_ask = best_bid + tape.tick * tape.book.spread_ticks
    return {
        "bids": [{"price": text(best_bid - tape.tick * d), "size": text(s)} for d, s in tape.book.bids],
        "asks": [{"price": text(best_ask + tape.tick * d), "size": text(s)} for d, s in tape.book.asks],
    }


def _book_delta(bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal], tape: MarketTape, price: Decimal,
                rng: random.Random, resting: tuple[set[Decimal], set[Decimal]]) -> dict[str, list[list[str]]]:
    best_bid = quantize(price, tape.tick, ROUND_DOWN) - tape.tick * rng.randint(0, 1)
    best_ask = best_bid + tape.tick * tape.book.spread_ticks
    wanted_bids = {best_bid - tape.tick * d: s * Decimal(str(round(rng.uniform(0.7, 1.3), 2)))
                   for d, s in tape.book.bids[:TOP_LEVELS]}
    wanted_asks = {best_ask + tape.tick * d: s * Decimal(str(round(rng.uniform(0.7, 1.3), 2)))
                   for d, s in tape.book.asks[:TOP_LEVELS]}
    out: dict[str, list[list[str]]] = {}
    for name, book, wanted, inside, untouched in (
            ("bids", bids, wanted_bids, lambda p: p > best_bid - tape.tick * 60, resting[0]),
            ("asks", asks, wanted_asks, lambda p: p < best_ask + tape.tick * 60, resting[1])):
        changes = []
        for level in sorted(p for p in book if inside(p) and p not in wanted):
            changes.append([text(level), "0"])
            del book[level]
            untouched.discard(level)
        for level, size in sorted(wanted.items()):
            size = max(tape.step, quantize(size, tape.step))
            if book.get(level) != size and rng.random() < 0.2:
                book[level] = size
                changes.append([text(level), text(size)])
                untouched.discard(level)
        if changes:
            out[name] = changes
    # never leave the book crossed, by a level of ours or of the snapshot: the real server sends it uncrossed
    for name, book, untouched, crossing in (("bids", bids, resting[0], lambda p: p >= best_ask),
                                            ("asks", asks, resting[1], lambda p: p <= best_bid)):
        for level in sorted({p for p in book if crossing(p)} | {p for p in untouched if crossing(p)}):
            book.pop(level, None)
            untouched.discard(level)
            out.setdefault(name, []).append([text(level), "0"])
    return out


def batched(updates: Iterable[Update], unbatched: Collection[tuple[str, str | None]] = ()
            ) -> Iterator[tuple[float, str, str | None, list[dict[str, Any]]]]:
    """Group time-ordered updates per (channel, id) into 250 ms batches, flushed at the window's end;
    updates of the `unbatched` (channel, id)s go out alone, at their own time."""
    pending: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    window_end: float | None = None
    for update in updates:
        if window_end is None:
            window_end = update.t + BATCH_INTERVAL
        while update.t >= window_end:
            for (channel, ident), contents in pending.items():
                yield window_end, channel, ident, contents
            pending.clear()
            window_end += BATCH_INTERVAL
            if not pending and update.t >= window_end:
                window_end = update.t + BATCH_INTERVAL
        if (update.channel, update.id) in unbatched:
            yield update.t, update.channel, update.id, [update.contents]
            continue
        pending.setdefault((update.channel, update.id), []).append(update.contents)
    for (channel, ident), contents in pending.items():
        yield window_end or 0.0, channel, ident, contents


def merge_markets(tapes: list[MarketTape], start_minute: int) -> Iterator[Update]:
    """Every market's updates merged in time order (v4_markets updates of all markets share one stream)."""
    import heapq

    return heapq.merge(*(market_updates(tape, start_minute) for tape in tapes), key=lambda u: u.t)


# ---------------------------------------------------------------------------------------------------
# Wire messages of one WebSocket session


class MessageIds:
    """Numbers server messages the way the indexer does: one connection id, one message-id counter."""

    def __init__(self, rng: random.Random) -> None:
        self.connection_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.message_id = 0

    def _next(self) -> int:
        self.message_id += 1
        return self.message_id

    def connected(self) -> bytes:
        return _dump({"type": "connected", "connection_id": self.connection_id, "message_id": 0})

    def subscribed(self, channel: str, ident: str | None, contents: dict[str, Any]) -> bytes:
        message = {"type": "subscribed", "connection_id": self.connection_id, "message_id": self._next(),
                   "channel": channel}
        if ident is not None:
            message["id"] = ident
        message["contents"] = contents
        return _dump(message)

    def batch(self, channel: str, ident: str | None, contents: list[dict[str, Any]]) -> bytes:
        return self._update("channel_batch_data", channel, ident, contents)

    def data(self, channel: str, ident: str | None, contents: dict[str, Any]) -> bytes:
        """One unbatched update (`channel_data`)."""
        return self._update("channel_data", channel, ident, contents)

    def _update(self, kind: str, channel: str, ident: str | None, contents: Any) -> bytes:
        message = {"type": kind, "connection_id": self.connection_id, "message_id": self._next(),
                   "channel": channel}
        if ident is not None:
            message["id"] = ident
        message["version"] = VERSIONS.get(channel, "1.0.0")
        message["contents"] = contents
        return _dump(message)


def _dump(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------------
# A whole client session, as one live source asks for it

REST_LEAD = 8.0  # seconds before `start` the REST calls begin; then the socket, so that every
WS_LEAD = 5.0  # snapshot is in before the first update at `start`
SUBSCRIBE_SPACING = 0.5  # the live source paces 2 subscribe requests per second
WS_CONN = 1


def write_session(writer: RecordingWriter, config: LiveConfig, session: MessageIds, start: float, *,
                  upstream: str, rest_body: Callable[[RestCall], bytes],
                  snapshot: Callable[[Subscription], dict[str, Any]], updates: Iterable[Update],
                  reply: Callable[[Frame], Iterable[Update]] = lambda _frame: ()) -> None:
    """What a live source with `config` gets: its REST calls answered with `rest_body` (200), then one
    WebSocket connection - `connected`, the planned subscribes, each subscription's `snapshot` in plan
    order, the time-ordered `updates` from `start` on (batched like the indexer, except where the plan
    asks for unbatched), and the client's close a second after the last message.

    `reply` sees every frame the client will receive, in order, and returns updates to send straight
    after it (at or after its time): a venue answering what those frames made the client do."""
    unbatched = {sub.key for sub in config.subscriptions() if not sub.batched}
    last = start

    def send(t: float, data: bytes) -> None:
        nonlocal last
        writer.ws_message(WS_CONN, t, False, data)
        last = t
        answer(Frame(t, "ws", data, WS_CONN))

    def answer(frame: Frame) -> None:
        for update in reply(frame):
            send(update.t, message(update.channel, update.id, [update.contents]))

    def message(channel: str, ident: str | None, contents: list[dict[str, Any]]) -> bytes:
        if (channel, ident) in unbatched:
            return session.data(channel, ident, contents[0])  # `batched` gives those one at a time
        return session.batch(channel, ident, contents)

    t = start - REST_LEAD
    for call in config.rest_calls():
        t += 0.2
        body = rest_body(call)
        writer.add_rest(upstream + call.target, 200, body, t - 0.1, t)
        answer(Frame(t, "rest", body, path=call.target, status=200))

    t = start - WS_LEAD
    writer.ws_open(WS_CONN, t, "/v4/ws")
    send(t + 0.05, session.connected())
    subscriptions = config.subscriptions()
    for i, sub in enumerate(subscriptions):
        writer.ws_message(WS_CONN, t + 0.1 + SUBSCRIBE_SPACING * i, True, Request("subscribe", sub).payload.encode())
    t += 0.2 + SUBSCRIBE_SPACING * len(subscriptions)
    for sub in subscriptions:
        t += 0.05
        send(t, session.subscribed(sub.channel, sub.id, snapshot(sub)))
    for t, channel, ident, contents in batched(updates, unbatched):
        send(t, message(channel, ident, contents))
    writer.ws_close(WS_CONN, max(last, start) + 1.0, 1000, True)
