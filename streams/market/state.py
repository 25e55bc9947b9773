"""The market-state values layer 3-4 emits and every layer above consumes (one module, so producers and
consumers agree on one shape). Each carries `t`, the event time of the message that produced it."""

from __future__ import annotations

from decimal import Decimal

from msgspec import Struct

from streams.market.events import Candle


class CandleUpdate(Struct, frozen=True, omit_defaults=True):
    """A candle of `market` at `resolution`: `closed` False while it is still open (intra-candle).
    `history`: from a REST history answer, which warms the indicators silently (no snapshot, score or
    strategy turn of its own) and which the chart keeps; encoded only when True (omit_defaults), so a
    live candle's line is what it always was."""

    t: float
    market: str
    resolution: str
    candle: Candle
    closed: bool
    history: bool = False


class BookTop(Struct, frozen=True):
    """The top of one order book after an update: levels best first, as (price, size)."""

    t: float
    market: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    mid: Decimal | None
    spread: Decimal | None
    imbalance: float | None  # (bid size - ask size) / (bid size + ask size) over the top levels, in [-1, 1]
    message_id: int = 0


class MarketInfo(Struct, frozen=True):
    """Everything kept per market from v4_markets: parameters, oracle price, funding, open interest."""

    t: float
    market: str
    status: str
    market_type: str
    oracle_price: Decimal | None
    next_funding_rate: Decimal | None  # hourly
    initial_margin_fraction: Decimal
    maintenance_margin_fraction: Decimal
    open_interest: Decimal | None  # base units
    open_interest_lower_cap: Decimal | None  # USDC
    open_interest_upper_cap: Decimal | None  # USDC
    tick_size: Decimal
    step_size: Decimal
    atomic_resolution: int
    quantum_conversion_exponent: int
    step_base_quantums: int
    subticks_per_tick: int
    clob_pair_id: str
    price_change_24h: Decimal | None = None
    volume_24h: Decimal | None = None
    oracle_t: float | None = None  # when the oracle price last changed


class StreamHealth(Struct, frozen=True):
    """Data health of one stream (a channel + id): itself a stream, surfaced in the UI and headless."""

    t: float
    stream: str  # e.g. "v4_orderbook:BTC-USD"
    rate: float  # messages per second over the last window
    last_age: float  # seconds since the last message, at `t`
    messages: int
    gaps: int
    resyncs: int
    crossed: int
    errors: int
    state: str  # "ok" | "stale" | "resyncing" | "error"


class BlockHeight(Struct, frozen=True):
    """The chain's height as the Indexer last said it (v4_block_height, or an account message's
    `blockHeight`), and `block_seconds`, the mean time between blocks since the first height heard (None
    until the height has moved): what a short-term order's countdown to its good-til-block reads."""

    t: float
    height: int
    block_seconds: float | None = None
