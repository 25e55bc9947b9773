"""A small, fully SYNTHETIC recording for the dashboard tests: what the live source would have recorded
for `LIVE` (REST markets and candle history, one WebSocket session with every subscription), from
`tools.synthetic` traffic around seeded random-walk candles. Every checkout can build it (no
../shared samples); the bundled `recordings/default` has the same shape, so a test switches to it by
returning `DEFAULT_RECORDING` from its fixture instead.
"""

from __future__ import annotations

import heapq
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from streams.sources.live import LiveConfig
from streams.sources.recording_writer import RecordingWriter
from streams.sources.subscriptions import Request, Subscription
from tools.synthetic import (
    PROVENANCE_RECONSTRUCTED,
    BookShape,
    MarketTape,
    MessageIds,
    Update,
    batched,
    initial_book,
    iso,
    merge_markets,
    synthetic_candles,
    text,
)

BLOCK_SECONDS = 1.1
T0 = 1_735_812_000.0  # 2025-01-02 10:00:00 UTC: live traffic starts here
REST_URL = "https://indexer.dydx.trade"
LIVE = LiveConfig(markets=("BTC-USD", "ETH-USD"), candle_history=100)
"""What the recording answers: a live source with this config, pointed at a replay server of it, plays it."""

# market -> (price, tick, step, IMF, MMF, hourly funding, base volume per minute)
SPECS = {
    "BTC-USD": (Decimal(97_000), Decimal(1), Decimal("0.0001"), Decimal("0.02"), Decimal("0.012"),
                Decimal("0.0000125"), Decimal(3)),
    "ETH-USD": (Decimal(3_400), Decimal("0.1"), Decimal("0.001"), Decimal("0.02"), Decimal("0.012"),
                Decimal("-0.0000031"), Decimal(40)),
}


def _market(ticker: str, clob: int, price: Decimal) -> dict[str, Any]:
    _, tick, step, imf, mmf, funding, _ = SPECS[ticker]
    return {"ticker": ticker, "clobPairId": str(clob), "status": "ACTIVE", "oraclePrice": text(price),
            "priceChange24H": text(price * Decimal("0.012")), "volume24H": "512345678.9", "trades24H": 81234,
            "nextFundingRate": text(funding), "initialMarginFraction": text(imf),
            "maintenanceMarginFraction": text(mmf), "openInterest": "1234.5678", "atomicResolution": -10,
            "quantumConversionExponent": -9, "tickSize": text(tick), "stepSize": text(step),
            "stepBaseQuantums": 1_000_000, "subticksPerTick": 100_000, "marketType": "CROSS",
            "openInterestLowerCap": "0", "openInterestUpperCap": "0", "baseOpenInterest": "1234.5678",
            "defaultFundingRate1H": "0"}


def _tapes(history: int, minutes: int, seed: int) -> list[MarketTape]:
    tapes = []
    for index, (ticker, (price, tick, step, _, _, funding, volume)) in enumerate(SPECS.items()):
        rng = random.Random(seed + index)
        candles = synthetic_candles(ticker, T0 - 60 * history, history + minutes, price, tick, step, rng,
                                    trades_per_minute=60.0, base_volume=volume)
        book = BookShape(bids=[(level, volume / 4) for level in range(20)],
                         asks=[(level, volume / 4) for level in range(20)], spread_ticks=1)
        tapes.append(MarketTape(ticker, candles, tick, step, book, funding,
                                rng=random.Random(seed + 10 + index)))
    return tapes


def build_recording(out: Path, *, minutes: int = 8, history: int = 60, seed: int = 5,
                    corrupt_book_at: float | None = None, block_height: int | None = None) -> Path:
    """`history` minutes of candles served as REST history and channel snapshots, then `minutes` of live
    traffic from `T0`. With `corrupt_book_at`, the first ETH-USD book update from then on carries a price
    that is not a number (as a faulty indexer or proxy might send). With `block_height`, the session also
    follows v4_block_height from that height, a block every 1.1 s (as a trading session does). Same
    arguments, same bytes."""
    tapes = _tapes(history, minutes, seed)
    rng = random.Random(seed)
    markets = {tape.ticker: _market(tape.ticker, i, Decimal(tape.candles[history]["open"]))
               for i, tape in enumerate(tapes)}
    past = {tape.ticker: tape.candles[:history][::-1] for tape in tapes}  # newest first, as the indexer sends
    writer = RecordingWriter(out)
    t = T0 - 5.0
    for call in LIVE.rest_calls():
        t += 0.2
        if call.path == "/v4/perpetualMarkets":
            body: dict[str, Any] = {"markets": markets}
        else:
            body = {"candles": past[call.path.rsplit("/", 1)[1]][: dict(call.params)["limit"]]}
        writer.add_rest(REST_URL + call.target, 200, json.dumps(body, separators=(",", ":")).encode(), t - 0.1, t)

    session = MessageIds(rng)
    t = T0 - 3.0
    writer.ws_open(1, t, "/v4/ws")
    writer.ws_message(1, t + 0.05, False, session.connected())
    subscriptions = LIVE.subscriptions() + ([Subscription("v4_block_height")] if block_height is not None else [])
    for sub in subscriptions:  # sent on `connected`, before the first answer: a journal never goes back in time
        writer.ws_message(1, t + 0.05, True, Request("subscribe", sub).payload.encode())
    by_market = {tape.ticker: tape for tape in tapes}
    for sub in subscriptions:
        t += 0.05
        tape = by_market.get((sub.id or "").split("/")[0])
        if sub.channel == "v4_markets":
            contents: dict[str, Any] = {"markets": markets}
        elif sub.channel == "v4_orderbook":
            contents = initial_book(tape, Decimal(tape.candles[history]["open"]))
        elif sub.channel == "v4_trades":
            contents = {"trades": []}
        elif sub.channel == "v4_block_height":
            contents = {"height": str(block_height), "time": iso(t)}
        else:
            contents = {"candles": past[tape.ticker]}
        writer.ws_message(1, t, False, session.subscribed(sub.channel, sub.id, contents))
    end = T0
    blocks = [] if block_height is None else [
        Update(T0 + BLOCK_SECONDS * n, "v4_block_height", None,
               {"blockHeight": str(block_height + n), "time": iso(T0 + BLOCK_SECONDS * n)})
        for n in range(1, int(60 * minutes / BLOCK_SECONDS))]
    updates = heapq.merge(merge_markets(tapes, history), blocks, key=lambda update: update.t)
    for t, channel, ident, contents in batched(updates):
        if corrupt_book_at is not None and t >= corrupt_book_at and (channel, ident) == ("v4_orderbook", "ETH-USD"):
            contents = [{**contents[0], "bids": [["not-a-price", "1"]]}, *contents[1:]]
            corrupt_book_at = None
        writer.ws_message(1, t, False, session.batch(channel, ident, contents))
        end = t
    writer.ws_close(1, end + 1.0, 1000, True)
    writer.close(network="mainnet", upstream=REST_URL, markets=SPECS, provenance={
        "built_by": __name__, "synthetic": "SYNTHETIC: every figure (seeded random-walk candles, made-up markets)",
        "reconstructed": PROVENANCE_RECONSTRUCTED})
    return out
