"""A live trading session for the loopback indexer, and the venue's answers in it.

`write_trading_session` writes a recording of exactly what `LiveConfig(markets=("ETH-USD",), address=...)`
asks the indexer for: the REST calls (markets, ~100 candles of SYNTHETIC 1MIN history, the subaccount with
10 000 USDC and no position), one WebSocket session with the planned subscribes and their snapshots, then
minutes of SYNTHETIC traffic with a clear trend. Into it go the v4_subaccounts messages the chain and the
indexer would send for the orders the bot places: to know which orders, the bot's own graph runs over the
session while it is written, with a `Venue` in place of the live broker. The venue fills every order at
once at the best opposite price, and the indexer's answer (the order opened, then filled with its fill,
the new position and USDC balance) goes out straight after the frame that made the bot send it, which is
where a live run at full speed sees it too. Each fill settles the position's funding since its last fill
(at the market's hourly rate and the oracle price then), as the chain settles funding on every update of a
subaccount, and the position the indexer reports says what it settled so far (`netFunding`).

The graph reads event time in a few places; live, that is the receive time. So the session is meant for a
config in which time does not decide trades (`TRADING_CONFIG`: a rebalance at every score, book imbalance
as the latest reading), and then a live run must send exactly the orders the venue answered.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from msgspec import structs
from reactivex import Observable
from reactivex.disposable import CompositeDisposable
from reactivex.subject import Subject

from streams.config import Config, load_config
from streams.execution.venue_rules import SHORT_BLOCK_WINDOW
from streams.graph import build_graph
from streams.kernel.frames import Frame
from streams.kernel.orders import CancelIntent, OrderIntent
from streams.market.state import BookTop, MarketInfo
from streams.risk.account import Account, apply_trade
from streams.sources.live import LiveConfig, RestCall
from streams.sources.recording_writer import RecordingWriter
from streams.sources.subscriptions import Subscription
from tools.synthetic import (
    BookShape,
    MarketTape,
    MessageIds,
    Update,
    initial_book,
    iso,
    market_updates,
    synthetic_candles,
    text,
    write_session,
)

UPSTREAM = "https://indexer.v4testnet.dydx.exchange"
MARKET = "ETH-USD"
HEIGHT = 30_000_000  # the node stand-in's block height
START = 1_765_000_800.0  # the first live minute (2025-12-06 06:00 UTC)
HISTORY_MINUTES = 100
USDC = Decimal(10_000)
TAKER_FEE = Decimal("0.0005")

# a real ETH-USD entry of /v4/perpetualMarkets (mainnet, July 2024), the oracle price set where the tape starts
ETH_USD: dict[str, Any] = {
    "atomicResolution": -9, "baseOpenInterest": "17208.407", "clobPairId": "1", "initialMarginFraction": "0.05",
    "maintenanceMarginFraction": "0.03", "marketType": "CROSS", "nextFundingRate": "0.00001147560975609756",
    "openInterest": "17208.407", "openInterestLowerCap": "0", "openInterestUpperCap": "0",
    "oraclePrice": "3000", "priceChange24H": "20.704572", "quantumConversionExponent": -9, "status": "ACTIVE",
    "stepBaseQuantums": 1_000_000, "stepSize": "0.001", "subticksPerTick": 100_000, "tickSize": "0.1",
    "ticker": MARKET, "trades24H": 60867, "volume24H": "155111368.0593",
}
TICK, STEP, CLOB_PAIR = Decimal(ETH_USD["tickSize"]), Decimal(ETH_USD["stepSize"]), ETH_USD["clobPairId"]
FUNDING_RATE = Decimal(ETH_USD["nextFundingRate"])  # hourly

# (distance from the best price in ticks, size) per side: the shape of a liquid ETH-USD book
BOOK = BookShape(bids=[(d, Decimal(s)) for d, s in enumerate(("4.9", "7.8", "30.9", "3.0", "12.5", "8.1", "20.0",
                                                               "5.5", "9.9", "40.2", "6.6", "15.0"))],
                 asks=[(d, Decimal(s)) for d, s in enumerate(("5.1", "6.9", "28.4", "2.7", "11.0", "9.3", "18.8",
                                                               "4.4", "10.5", "35.0", "7.7", "14.1"))],
                 spread_ticks=1)

TRADING_CONFIG = """\
[signals.indicators]
imbalance_half_life = 0.0    # the latest book reading: no decay over (receive) time

[strategy]
rebalance_interval = 0.0     # at every score: live, event time is the receive time, and a full-speed
                             # replay passes its minutes in a fraction of a second
min_trade_notional = 250     # fewer and larger orders than the defaults make of this tape
rebalance_threshold = 0.5

[paper]
starting_usdc = 1            # were the paper account used, nothing could be traded

[risk.protection]
live = false                 # the session pins the strategy's orders; protective stops are tested apart
"""


def trading_config(directory: Path) -> tuple[Path, Config]:
    path = directory / "trading.toml"
    path.write_text(TRADING_CONFIG)
    return path, load_config(path)


def market_tape(minutes: int, seed: int = 7) -> MarketTape:
    """SYNTHETIC candles: `HISTORY_MINUTES` of a calm walk from 3000, then a rally, then a sell-off."""
    rng = random.Random(seed)
    start = START - 60 * HISTORY_MINUTES
    rally = minutes // 2
    returns = [0.0] * HISTORY_MINUTES + [0.004] * rally + [-0.006] * (minutes - rally)
    candles = synthetic_candles(MARKET, start, HISTORY_MINUTES + minutes, Decimal(3000), TICK, STEP, rng,
                                volatility=0.0006, trades_per_minute=40, returns=returns)
    return MarketTape(MARKET, candles, TICK, STEP, BOOK, rng=random.Random(seed + 1))


@dataclass
class Placed:
    """An order the venue filled: the intent, the book top it met, and what the indexer reported."""

    intent: OrderIntent
    top: BookTop  # the book as the frame that made the bot send the order left it
    limit: Decimal  # the IOC's limit: max_slippage past the best opposite price, on the tick grid
    price: Decimal  # filled at: the best opposite price
    oracle: Decimal  # the oracle price then
    fee: Decimal
    before: Account  # the subaccount before the fill
    after: Account
    funding: Decimal = Decimal(0)  # settled into the balance with this fill (received +, paid -)


@dataclass
class Venue:
    """In place of the live broker while the session is written: takes the graph's risk-gated intents
    and, once the frame behind them has gone through the graph, fills them and answers each with the
    indexer's v4_subaccounts messages (see the module docstring)."""

    address: str
    subaccount: int = 0
    account: Account = field(default_factory=lambda: Account(usdc=USDC))
    placed: list[Placed] = field(default_factory=list)
    cancels: list[CancelIntent] = field(default_factory=list)
    events: Subject[Any] = field(default_factory=Subject)  # a live broker's come from the indexer's messages
    _books: dict[str, BookTop] = field(default_factory=dict)
    _oracles: dict[str, Decimal] = field(default_factory=dict)
    _intents: list[OrderIntent] = field(default_factory=list)
    _net_funding: dict[str, Decimal] = field(default_factory=dict)  # settled by each open position so far
    _accrued_since: dict[str, float] = field(default_factory=dict)

    @property
    def channel_id(self) -> str:
        return f"{self.address}/{self.subaccount}"

    def bind(self, *, markets: Observable[MarketInfo], books: Observable[BookTop], account: Any
             ) -> CompositeDisposable:
        return CompositeDisposable(markets.subscribe(self._on_market), books.subscribe(self._on_book))

    def _on_market(self, info: MarketInfo) -> None:
        self._oracles[info.market] = info.oracle_price

    def _on_book(self, top: BookTop) -> None:
        self._books[top.market] = top

    def submit(self, intent: OrderIntent) -> None:
        self._intents.append(intent)

    def cancel(self, intent: CancelIntent) -> None:
        self.cancels.append(intent)

    def reply(self, frame: Frame) -> list[Update]:
        """The indexer's messages for the orders `frame` made the bot send, once it went through the graph."""
        intents, self._intents = self._intents, []
        return [Update(frame.t, "v4_subaccounts", self.channel_id, contents)
                for intent in intents for contents in self._indexer_messages(self._fill(intent, frame.t), frame.t)]

    def _fill(self, intent: OrderIntent, t: float) -> Placed:
        top = self._books[intent.market]
        buy = intent.side == "BUY"
        best = top.asks[0][0] if buy else top.bids[0][0]
        bound = best * (1 + intent.max_slippage if buy else 1 - intent.max_slippage)
        limit = (bound / TICK).to_integral_value(ROUND_FLOOR if buy else ROUND_CEILING) * TICK
        fee = (intent.size * best * TAKER_FEE).quantize(Decimal("0.000001"))
        before, funding = self._accrue(intent.market, t)
        self.account = apply_trade(before, intent.market, intent.size if buy else -intent.size, best, fee)
        self.placed.append(Placed(intent, top, limit, best, self._oracles[intent.market], fee, before, self.account,
                                  funding))
        return self.placed[-1]

    def _accrue(self, market: str, t: float) -> tuple[Account, Decimal]:
        """The subaccount with the position's funding since its last fill accrued (at the market's hourly
        rate and the oracle price now, in whole USDC quantums), which the fill then settles, as the chain
        settles funding on every update of a subaccount."""
        held, since = self.account.positions.get(market), self._accrued_since.get(market, t)
        self._accrued_since[market] = t
        if held is None:
            return self.account, Decimal(0)
        hours = Decimal(repr(t - since)) / 3600
        funding = (-held.size * self._oracles[market] * FUNDING_RATE * hours).quantize(Decimal("0.000001"))
        self._net_funding[market] = self._net_funding.get(market, Decimal(0)) + funding
        accrued = structs.replace(held, funding_accrued=funding)
        return structs.replace(self.account, positions={**self.account.positions, market: accrued}), funding

    def _indexer_messages(self, placed: Placed, t: float) -> list[dict[str, Any]]:
        """The IOC order opened, then filled (the order, its fill, the position and balance after it), in
        the two blocks after the node stand-in's height, where the broker's orders are good until."""
        intent, account = placed.intent, placed.after
        opened_at, filled_at = str(HEIGHT + 1), str(HEIGHT + 2)
        order_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{self.channel_id}/{intent.client_id}"))
        opened = {
            "id": order_id, "subaccountId": self.channel_id, "clientId": str(intent.client_id), "clobPairId": CLOB_PAIR,
            "side": intent.side, "size": text(intent.size), "totalFilled": "0", "price": text(placed.limit),
            "type": "LIMIT", "status": "BEST_EFFORT_OPENED", "timeInForce": "IOC", "postOnly": False,
            "reduceOnly": intent.reduce_only, "orderFlags": "0", "goodTilBlock": str(HEIGHT + SHORT_BLOCK_WINDOW),
            "ticker": intent.market, "clientMetadata": "0", "createdAtHeight": opened_at,
            "updatedAt": iso(t), "updatedAtHeight": opened_at,
        }
        filled = {**opened, "status": "FILLED", "totalFilled": text(intent.size), "updatedAtHeight": filled_at}
        fill = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_OID, order_id)), "subaccountId": self.channel_id, "side": intent.side,
            "liquidity": "TAKER", "type": "LIMIT", "clobPairId": CLOB_PAIR, "ticker": intent.market,
            "size": text(intent.size), "price": text(placed.price), "quoteAmount": text(intent.size * placed.price),
            "fee": text(placed.fee), "createdAt": iso(t), "createdAtHeight": filled_at,
            "orderId": order_id, "clientMetadata": "0",
        }
        held, was = account.positions.get(intent.market), placed.before.positions.get(intent.market)
        settled = text(self._net_funding.get(intent.market, Decimal(0)))
        position = {
            "address": self.address, "subaccountNumber": self.subaccount, "market": intent.market,
            "status": "OPEN" if held else "CLOSED", "side": "SHORT" if held and held.size < 0 else "LONG",
            "size": text(held.size) if held else "0",
            "entryPrice": text(held.entry_price if held else placed.price), "netFunding": settled,
        }
        positions = [position]
        if held is None or (was is not None and (was.size > 0) != (held.size > 0)):  # closed, or flipped
            self._net_funding.pop(intent.market, None)  # the market's next position settles from nothing
            if held is not None:  # a flip closes the old position, with what it settled, and opens a new one
                positions = [{**position, "status": "CLOSED", "side": "LONG" if held.size < 0 else "SHORT",
                              "size": "0", "entryPrice": text(was.entry_price or placed.price)},
                             {**position, "netFunding": "0"}]
        usdc = {"address": self.address, "subaccountNumber": self.subaccount, "assetId": "0", "symbol": "USDC",
                "side": "LONG" if account.usdc >= 0 else "SHORT", "size": text(abs(account.usdc))}
        return [
            {"orders": [opened], "blockHeight": opened_at},
            {"orders": [filled], "fills": [fill], "perpetualPositions": positions, "assetPositions": [usdc],
             "blockHeight": filled_at},
        ]


def write_trading_session(path: Path, address: str, config: Config, minutes: int = 10) -> Venue:
    """The recording (see the module docstring); returns the venue, which holds what it filled."""
    tape = market_tape(minutes)
    live = LiveConfig(markets=(MARKET,), address=address, subaccount_number=0)
    history = tape.candles[:HISTORY_MINUTES][::-1]  # newest first
    markets = {MARKET: {**ETH_USD, "oraclePrice": tape.candles[HISTORY_MINUTES]["open"]}}
    subaccount = {
        "address": address, "subaccountNumber": 0, "equity": text(USDC), "freeCollateral": text(USDC),
        "openPerpetualPositions": {}, "assetPositions": {"USDC": {
            "size": text(USDC), "symbol": "USDC", "side": "LONG", "assetId": "0", "subaccountNumber": 0}},
        "marginEnabled": True, "updatedAtHeight": str(HEIGHT - 500), "latestProcessedBlockHeight": str(HEIGHT),
    }

    def rest_body(call: RestCall) -> bytes:
        if call.path == "/v4/perpetualMarkets":
            return _json({"markets": markets})
        if call.path.startswith("/v4/candles/"):
            return _json({"candles": history[: dict(call.params)["limit"]]})
        return _json({"subaccount": subaccount})

    def snapshot(sub: Subscription) -> dict[str, Any]:
        if sub.channel == "v4_markets":
            return {"markets": markets}
        if sub.channel == "v4_orderbook":
            return initial_book(tape, Decimal(tape.candles[HISTORY_MINUTES]["open"]))
        if sub.channel == "v4_trades":
            return {"trades": []}
        if sub.channel == "v4_candles":
            return {"candles": history}
        if sub.channel == "v4_block_height":
            return {"height": str(HEIGHT), "time": iso(START)}
        return {"subaccount": subaccount, "orders": [], "blockHeight": str(HEIGHT)}

    venue = Venue(address)
    frames: Subject[Frame] = Subject()
    graph = build_graph(frames, config, broker=venue)  # type: ignore[arg-type] - the venue is its stand-in
    connection = graph.connect()

    def reply(frame: Frame) -> list[Update]:
        frames.on_next(frame)
        return venue.reply(frame)

    writer = RecordingWriter(path)
    write_session(writer, live, MessageIds(random.Random(11)), START, upstream=UPSTREAM, rest_body=rest_body,
                  snapshot=snapshot, updates=market_updates(tape, HISTORY_MINUTES), reply=reply)
    connection.dispose()
    writer.close(network="testnet", upstream=UPSTREAM, markets=(MARKET,), provenance={
        "built_by": "tests/support/trading_session.py",
        "synthetic": "SYNTHETIC ETH-USD candles and the traffic reconstructed around them; the v4_subaccounts "
                     "messages answer the orders the bot's graph sent while the session was written",
    })
    return venue


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
