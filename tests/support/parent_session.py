"""A live session of a parent subaccount for the loopback indexer (`--parent-subaccount`): what
`LIVE` (two ISOLATED markets, their books, no trades or candles) with the wallet's address asks for,
recorded as the Indexer answers it (dydx-reference.md §4-5).

Parent 0 holds 1 000 USDC and no position; its child 128 holds an isolated TRY-USD short on its own
50 USDC; child 256 is unused and empty. The first WebSocket session drops (no close frame); the second,
after the reconnect, gives the same snapshot, and the catch-up over REST (`/v4/orders|fills/
parentSubaccountNumber`) answers with the fill child 128 made while nobody listened. TRY-USD is the real
ISOLATED market of nautilus-2024/ws/v4_markets_channel_data_v8.json; PLN-USD is another like it.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from streams.sources.live import LiveConfig
from streams.sources.recording_writer import RecordingWriter
from streams.sources.subscriptions import Request, Staleness
from tools.synthetic import MessageIds, iso

UPSTREAM = "https://indexer.v4testnet.dydx.exchange"
HEIGHT = 30_000_000  # the node stand-in's block height
START = 1_765_000_800.0
TRY_USD: dict[str, Any] = {
    "ticker": "TRY-USD", "clobPairId": "143", "status": "ACTIVE", "quantumConversionExponent": -9,
    "atomicResolution": -4, "subticksPerTick": 1000000, "stepBaseQuantums": 1000000, "marketType": "ISOLATED",
    "initialMarginFraction": "0.01", "maintenanceMarginFraction": "0.005", "openInterestLowerCap": "500000",
    "openInterestUpperCap": "1000000", "tickSize": "0.00001", "stepSize": "100", "nextFundingRate": "0",
    "openInterest": "1257800", "oraclePrice": "0.02930", "baseOpenInterest": "0", "priceChange24H": "0",
    "volume24H": "0", "trades24H": 0}
PLN_USD: dict[str, Any] = {**TRY_USD, "ticker": "PLN-USD", "clobPairId": "144", "oraclePrice": "0.25000"}
MARKETS = (TRY_USD["ticker"], PLN_USD["ticker"])
LIVE = LiveConfig(markets=MARKETS, trades=False, candles=(), candle_history=0,
                  staleness=Staleness(markets=None, orderbook=None))
"""What the app is started with. The session has no updates after its snapshots: nothing is renewed for
silence, which would send a subscribe the recording does not hold (on a loaded machine, half a minute
can pass before the test is done)."""
CHILD, UNUSED = 128, 256
CHILD_USDC = Decimal(50)
SHORT, SHORT_ENTRY = Decimal(-1000), Decimal("0.02950")
MISSED_FILL = "fill-while-away"
AFTER_SHORT, AFTER_USDC = Decimal(-900), Decimal("47.067534")  # child 128 after it: 50 − 2.931 − 0.001466
BOOKS = {"TRY-USD": ("0.02929", "0.02931"), "PLN-USD": ("0.24999", "0.25001")}  # best bid, best ask


def plan(address: str) -> LiveConfig:
    """What the app asks the indexer for once the live broker trades `address`'s parent subaccount 0."""
    return LiveConfig(markets=MARKETS, trades=False, candles=(), candle_history=0, address=address,
                      subaccount_number=0, parent_subaccount=True)


def _usdc(number: int, size: Decimal) -> dict[str, Any]:
    return {"size": str(size), "symbol": "USDC", "side": "LONG", "assetId": "0", "subaccountNumber": number}


def _subaccount(address: str, number: int, usdc: Decimal, *held: dict[str, Any]) -> dict[str, Any]:
    return {"address": address, "subaccountNumber": number, "equity": str(usdc), "freeCollateral": str(usdc),
            "openPerpetualPositions": {p["market"]: p for p in held}, "assetPositions": {"USDC": _usdc(number, usdc)},
            "marginEnabled": True, "updatedAtHeight": str(HEIGHT - 10), "latestProcessedBlockHeight": str(HEIGHT)}


def parent_account(address: str, short_size: Decimal = SHORT, child_usdc: Decimal = CHILD_USDC) -> dict[str, Any]:
    """The parent's REST body and snapshot: parent 0 (1 000 USDC), child 128 (the TRY-USD short), child 256."""
    short = {"market": "TRY-USD", "status": "OPEN", "side": "SHORT", "size": str(short_size), "maxSize": str(SHORT),
             "entryPrice": str(SHORT_ENTRY), "exitPrice": None, "realizedPnl": "0", "unrealizedPnl": "0",
             "createdAt": iso(START - 3600), "createdAtHeight": str(HEIGHT - 2700), "closedAt": None,
             "sumOpen": str(-SHORT), "sumClose": "0", "netFunding": "0", "subaccountNumber": CHILD}
    children = [_subaccount(address, 0, Decimal(1000)), _subaccount(address, CHILD, child_usdc, short),
                _subaccount(address, UNUSED, Decimal(0))]
    return {"address": address, "parentSubaccountNumber": 0, "equity": "1020.7", "freeCollateral": "1000",
            "childSubaccounts": children}


def missed_fill(address: str) -> dict[str, Any]:
    """A fill child 128 made while the bot was away (another front end bought 100 TRY-USD back)."""
    return {"id": MISSED_FILL, "subaccountId": f"{address}/{CHILD}", "side": "BUY", "liquidity": "TAKER",
            "type": "LIMIT", "clobPairId": "143", "ticker": "TRY-USD", "size": "100", "price": "0.02931",
            "quoteAmount": "2.931", "fee": "0.001466", "createdAt": iso(START + 5), "createdAtHeight": str(HEIGHT + 3),
            "orderId": "order-away", "clientMetadata": "0", "subaccountNumber": CHILD}


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def write_parent_session(path: Path, address: str) -> None:
    config, ids = plan(address), MessageIds(random.Random(13))
    markets = {m["ticker"]: m for m in (TRY_USD, PLN_USD)}
    account = parent_account(address)
    writer = RecordingWriter(path)
    t = START - 8.0
    for call in config.rest_calls():
        t += 0.2
        body = {"markets": markets} if call.path == "/v4/perpetualMarkets" else {"subaccount": account}
        writer.add_rest(UPSTREAM + call.target, 200, _json(body), t - 0.1, t)

    def snapshot(channel: str, ident: str | None) -> dict[str, Any]:
        if channel == "v4_markets":
            return {"markets": markets}
        if channel == "v4_orderbook":
            bid, ask = BOOKS[ident or ""]
            return {"bids": [{"price": bid, "size": "100000"}], "asks": [{"price": ask, "size": "100000"}]}
        if channel == "v4_block_height":
            return {"height": str(HEIGHT), "time": iso(START)}
        return {"subaccount": account, "orders": [], "blockHeight": str(HEIGHT)}

    def reconnected(channel: str, ident: str | None) -> dict[str, Any]:
        if channel == "v4_parent_subaccounts":  # with the fill made while away
            return {"subaccount": parent_account(address, AFTER_SHORT, AFTER_USDC), "orders": [],
                    "blockHeight": str(HEIGHT + 4)}
        return snapshot(channel, ident)

    def session(conn: int, t: float, snapshot: Any) -> float:
        session_ids = MessageIds(random.Random(conn)) if conn > 1 else ids
        writer.ws_open(conn, t, "/v4/ws")
        writer.ws_message(conn, t + 0.05, False, session_ids.connected())
        subscriptions = config.subscriptions()
        for i, sub in enumerate(subscriptions):
            writer.ws_message(conn, t + 0.1 + 0.5 * i, True, Request("subscribe", sub).payload.encode())
        t += 0.2 + 0.5 * len(subscriptions)
        for sub in subscriptions:
            t += 0.05
            contents = snapshot(sub.channel, sub.id)
            writer.ws_message(conn, t, False, session_ids.subscribed(sub.channel, sub.id, contents))
        return t

    t = session(1, START - 5.0, snapshot)
    writer.ws_close(1, t + 1.0, None, False)  # a drop: the bot reconnects and catches up
    t = session(2, t + 3.0, reconnected)
    orders, fills = config.catch_up_calls()
    writer.add_rest(UPSTREAM + orders.target, 200, _json([]), t + 0.1, t + 0.2)
    writer.add_rest(UPSTREAM + fills.target, 200, _json({"fills": [missed_fill(address)]}), t + 0.1, t + 0.2)
    writer.ws_close(2, t + 1.0, 1000, True)
    writer.close(network="testnet", upstream=UPSTREAM, markets=MARKETS, provenance={
        "built_by": "tests/support/parent_session.py",
        "synthetic": "a parent subaccount with an isolated TRY-USD short in child 128, built from the Indexer's "
                     "field lists; two sessions (the first drops) and the catch-up of a fill made while away",
    })
