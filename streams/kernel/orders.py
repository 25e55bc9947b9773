"""What flows into and out of a broker, paper or live: the same shapes either way, so the strategy, the
risk engine and the UI never know which broker they talk to."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct

Side = Literal["BUY", "SELL"]


class WhatIf(Struct, frozen=True):
    """The margin engine's view of the account after this order fills completely."""

    margin_usage: Decimal
    free_collateral: Decimal
    liquidation_price: Decimal | None


class OrderIntent(Struct, frozen=True):
    """An order the strategy or the risk engine wants placed.

    `price` is the limit price; for `kind="MARKET"` it may be None and the broker turns the order into an IOC
    limit at the book price moved by `max_slippage` (a fraction). Short-term orders live for
    `good_til_blocks` blocks; long-term orders until `good_til_seconds` from placement.
    """

    t: float
    market: str
    side: Side
    size: Decimal
    kind: Literal["LIMIT", "MARKET"] = "LIMIT"
    price: Decimal | None = None
    time_in_force: Literal["GTT", "IOC", "FOK"] = "GTT"
    post_only: bool = False
    reduce_only: bool = False
    short_term: bool = True
    good_til_blocks: int = 20
    good_til_seconds: int = 3600
    max_slippage: Decimal = Decimal("0.01")
    client_id: int = 0
    reason: str = ""
    what_if: WhatIf | None = None


class StopIntent(Struct, frozen=True):
    """A protective stop: a conditional stop-market order, reduce-only and long-term, that closes `size` of
    `market` once the oracle price reaches `trigger_price`, filling at most `max_slippage` (a fraction)
    past it. It rests on the chain, so it protects the position while the bot is not running."""

    t: float
    market: str
    side: Side
    size: Decimal
    trigger_price: Decimal
    client_id: int
    good_til_seconds: int = 28 * 24 * 3600
    max_slippage: Decimal = Decimal("0.05")
    reason: str = ""


class CancelIntent(Struct, frozen=True):
    """Cancel one order (`client_id`) or, with `client_id` None, every open order (of `market` if given)."""

    t: float
    market: str | None = None
    client_id: int | None = None
    reason: str = ""


OrderStatus = Literal["PLACED", "REJECTED", "OPEN", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"]


class OrderUpdate(Struct, frozen=True):
    """What became of an order. `good_til_block` is a short-term order's absolute good-til-block (the
    Indexer's `goodTilBlock`, the node's height at placement plus its window), when one is known: the
    paper broker knows it only while it replays real block heights."""

    t: float
    client_id: int
    market: str
    status: OrderStatus
    filled: Decimal = Decimal(0)
    reason: str = ""
    good_til_block: int | None = None


FillKind = Literal["TRADE", "LIQUIDATION", "DELEVERAGING"]


class Fill(Struct, frozen=True):
    """A fill of one of our orders (or a forced close: liquidation / deleveraging)."""

    t: float
    market: str
    side: Side
    size: Decimal
    price: Decimal
    fee: Decimal
    liquidity: Literal["MAKER", "TAKER"]
    client_id: int | None = None
    kind: FillKind = "TRADE"
