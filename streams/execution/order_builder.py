"""An `OrderIntent` and its market's parameters -> the chain's `Order` proto, exactly.

The library's `Market.order` converts size and price through binary floats (0.0003 BTC becomes
2999999.99... base quantums and floors a whole step away), always rounds the price down, and silently
bumps a too-small size up to one step. Here the conversion is done in `Decimal`:
- quantums = size * 10^-atomicResolution, rounded down to a multiple of stepBaseQuantums; less than one
  step is rejected, never rounded up;
- subticks = price * 10^(atomicResolution - quantumConversionExponent + 6), rounded to a multiple of
  subticksPerTick in the direction that never worsens the limit: down for a buy, up for a sell;
and the proto is then built with the library's own message builders. The chain's static checks
(msg_place_order.go ValidateBasic) are applied up front so that a bad order is refused with a reason
before anything is signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec
from dydx_v4_client import MAX_CLIENT_ID, OrderFlags
from dydx_v4_client.node.message import order as order_message
from dydx_v4_client.node.message import order_id as order_id_message
from msgspec import Struct
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId

from streams.execution.venue_rules import SHORT_BLOCK_WINDOW
from streams.kernel.orders import OrderIntent, Side, StopIntent
from streams.market.events import PerpetualMarket
from streams.market.state import MarketInfo

STATEFUL_ORDER_WINDOW = 95 * 24 * 3600  # the chain's StatefulOrderTimeWindow, seconds
_UINT64 = 2**64
_QUOTE_ATOMIC_RESOLUTION = -6  # USDC quantums

_TIME_IN_FORCE = {
    "GTT": Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
    "IOC": Order.TimeInForce.TIME_IN_FORCE_IOC,
}
_SIDE = {"BUY": Order.Side.SIDE_BUY, "SELL": Order.Side.SIDE_SELL}
_NOT_TRADING = {"PAUSED", "CANCEL_ONLY", "FINAL_SETTLEMENT", "INITIALIZING"}


class InvalidOrderError(ValueError):
    """The intent cannot become a valid order; the message is the reason reported to the caller."""


class ClobParams(Struct, frozen=True):
    """The parameters of one market that order construction needs."""

    market: str
    clob_pair_id: int
    atomic_resolution: int
    quantum_conversion_exponent: int
    step_base_quantums: int
    subticks_per_tick: int
    status: str = "ACTIVE"

    @classmethod
    def of(cls, market: MarketInfo | PerpetualMarket | Mapping[str, Any]) -> ClobParams:
        """From the market state, a typed `/v4/perpetualMarkets` entry or that entry's raw JSON."""
        if isinstance(market, MarketInfo):
            return cls(market.market, int(market.clob_pair_id), market.atomic_resolution,
                       market.quantum_conversion_exponent, market.step_base_quantums,
                       market.subticks_per_tick, market.status)
        if not isinstance(market, PerpetualMarket):
            market = msgspec.convert(market, PerpetualMarket, strict=False)
        return cls(market.ticker, int(market.clobPairId), market.atomicResolution,
                   market.quantumConversionExponent, market.stepBaseQuantums, market.subticksPerTick,
                   market.status)

    @property
    def step_size(self) -> Decimal:
        return self.size_of(self.step_base_quantums)

    @property
    def _subticks_exponent(self) -> int:
        return self.atomic_resolution - self.quantum_conversion_exponent - _QUOTE_ATOMIC_RESOLUTION

    @property
    def tick_size(self) -> Decimal:
        return self.price_of(self.subticks_per_tick)

    def quantums(self, size: Decimal) -> int:
        """Base quantums of `size`, rounded down to whole steps; below one step is refused."""
        steps = _whole(size, -self.atomic_resolution) // self.step_base_quantums
        if steps < 1:
            raise InvalidOrderError(f"size {size} is below the minimum order size {self.step_size:f} of {self.market}")
        return steps * self.step_base_quantums

    def subticks(self, price: Decimal, side: Side) -> int:
        """Subticks of `price` on the tick grid, rounded so that the limit never gets worse."""
        if side == "BUY":
            ticks = _whole(price, self._subticks_exponent) // self.subticks_per_tick
        else:
            ticks = -(-_whole(price, self._subticks_exponent, up=True) // self.subticks_per_tick)
        if ticks < 1:
            raise InvalidOrderError(f"price {price} is below one tick ({self.tick_size:f}) of {self.market}")
        return ticks * self.subticks_per_tick

    def size_of(self, quantums: int) -> Decimal:
        return Decimal(quantums).scaleb(self.atomic_resolution).normalize()

    def price_of(self, subticks: int) -> Decimal:
        return Decimal(subticks).scaleb(-self._subticks_exponent).normalize()


class ChainOrder(Struct, frozen=True):
    """An order as the chain identifies it, with what a cancel of it needs.

    Short-term orders carry `good_til_block` once placed (None while the height is not read yet);
    long-term orders carry `good_til_block_time` (unix seconds).
    """

    client_id: int
    market: str
    clob_pair_id: int
    order_flags: int
    good_til_block: int | None = None
    good_til_block_time: int | None = None
    subaccount: int | None = None
    """The subaccount it rests in, when it is not the broker's own: an isolated market's child."""

    @property
    def short_term(self) -> bool:
        return self.order_flags == OrderFlags.SHORT_TERM

    def order_id(self, address: str, subaccount: int) -> OrderId:
        return order_id_message(address, subaccount, self.client_id, self.clob_pair_id, self.order_flags)

    def cancel_until(self, height: int) -> dict[str, int]:
        """`good_til_block(_time)` of a cancel sent at `height`: a short-term cancel as long as allowed
        (it then covers any live short-term order), a long-term one until the order's own expiry."""
        if self.short_term:
            return {"good_til_block": height + SHORT_BLOCK_WINDOW}
        if self.good_til_block_time is None:
            raise InvalidOrderError(f"long-term order {self.client_id} has no known good-til-block-time to cancel with")
        return {"good_til_block_time": self.good_til_block_time}


class OrderPlan(Struct, frozen=True):
    """Everything about an order except the block height, which is read from the node at send time."""

    ref: ChainOrder
    side: Side
    quantums: int
    subticks: int
    time_in_force: int
    reduce_only: bool
    good_til_blocks: int | None = None  # short-term: blocks after the current height
    trigger_subticks: int = 0  # conditional (stop) orders: the oracle price that places them

    def placed_at(self, height: int) -> ChainOrder:
        """The order's identity once sent at chain height `height`."""
        if self.good_til_blocks is None:  # long-term: it has its time already
            return self.ref
        return msgspec.structs.replace(self.ref, good_til_block=height + self.good_til_blocks)

    def order(self, address: str, subaccount: int, height: int) -> Order:
        """The proto; `height` is the chain's current block height (used by short-term orders only)."""
        ref = self.placed_at(height)
        return order_message(
            ref.order_id(address, subaccount), _SIDE[self.side], self.quantums, self.subticks,
            self.time_in_force, self.reduce_only,
            good_til_block=ref.good_til_block, good_til_block_time=ref.good_til_block_time,
            **({"condition_type": Order.ConditionType.CONDITION_TYPE_STOP_LOSS,
                "conditional_order_trigger_subticks": self.trigger_subticks} if self.trigger_subticks else {}),
        )


def limit_price(intent: OrderIntent, reference: Decimal | None) -> Decimal:
    """The limit of a LIMIT order, or the slippage bound of a MARKET order around `reference`
    (the best ask for a buy, the best bid for a sell; an explicit `intent.price` takes its place)."""
    if intent.kind == "LIMIT":
        if intent.price is None:
            raise InvalidOrderError("a limit order needs a price")
        return intent.price
    reference = intent.price if intent.price is not None else reference
    if reference is None:
        raise InvalidOrderError(f"no book price for {intent.market} to bound a market order")
    if not 0 <= intent.max_slippage < 1:
        raise InvalidOrderError(f"max_slippage {intent.max_slippage} is not a fraction in [0, 1)")
    return reference * (1 + intent.max_slippage if intent.side == "BUY" else 1 - intent.max_slippage)


def plan_order(intent: OrderIntent, params: ClobParams, reference: Decimal | None = None) -> OrderPlan:
    """Validate `intent` against the chain's rules and convert it; raises `InvalidOrderError` with the reason."""
    if params.status in _NOT_TRADING:
        raise InvalidOrderError(f"{params.market} is {params.status}")
    if params.status == "POST_ONLY" and not intent.post_only:
        raise InvalidOrderError(f"{params.market} accepts only post-only orders")
    if not 0 <= intent.client_id <= MAX_CLIENT_ID:
        raise InvalidOrderError(f"client id {intent.client_id} is outside 0..{MAX_CLIENT_ID}")
    if intent.size <= 0:
        raise InvalidOrderError(f"size {intent.size} is not positive")
    price = limit_price(intent, reference)
    if price <= 0:
        raise InvalidOrderError(f"price {price} is not positive")
    time_in_force = _time_in_force(intent)
    immediate = time_in_force == Order.TimeInForce.TIME_IN_FORCE_IOC
    if intent.reduce_only and not immediate:
        raise InvalidOrderError("reduce-only orders must be short-term IOC (or market) orders on dYdX")
    if intent.short_term:
        if not 1 <= intent.good_til_blocks <= SHORT_BLOCK_WINDOW:
            raise InvalidOrderError(f"good_til_blocks {intent.good_til_blocks} is outside 1..{SHORT_BLOCK_WINDOW}")
        flags, til, blocks = OrderFlags.SHORT_TERM, None, intent.good_til_blocks
    else:
        if immediate:
            raise InvalidOrderError("IOC and market orders must be short-term: the chain refuses them long-term")
        if not 1 <= intent.good_til_seconds <= STATEFUL_ORDER_WINDOW:
            raise InvalidOrderError(f"good_til_seconds {intent.good_til_seconds} is outside 1..{STATEFUL_ORDER_WINDOW}")
        flags, til, blocks = OrderFlags.LONG_TERM, int(intent.t) + intent.good_til_seconds, None
    quantums, subticks = params.quantums(intent.size), params.subticks(price, intent.side)
    if quantums >= _UINT64 or subticks >= _UINT64:
        raise InvalidOrderError(f"size {intent.size} or price {price} does not fit the chain's 64-bit fields")
    ref = ChainOrder(intent.client_id, params.market, params.clob_pair_id, flags, good_til_block_time=til)
    return OrderPlan(ref, intent.side, quantums, subticks, time_in_force, intent.reduce_only, blocks)


def plan_stop(stop: StopIntent, params: ClobParams) -> OrderPlan:
    """A protective stop as the chain's conditional order: stop-loss on the oracle price, reduce-only,
    IOC once triggered, limited `max_slippage` past the trigger, resting until `good_til_seconds` from
    now. Both prices are rounded so that the stop triggers no later and fills no worse than asked."""
    if params.status in _NOT_TRADING:
        raise InvalidOrderError(f"{params.market} is {params.status}")
    if not 0 <= stop.client_id <= MAX_CLIENT_ID:
        raise InvalidOrderError(f"client id {stop.client_id} is outside 0..{MAX_CLIENT_ID}")
    if stop.trigger_price <= 0 or not 0 < stop.max_slippage < 1:
        raise InvalidOrderError(f"stop trigger {stop.trigger_price} or slippage {stop.max_slippage} is out of range")
    if not 1 <= stop.good_til_seconds <= STATEFUL_ORDER_WINDOW:
        raise InvalidOrderError(f"good_til_seconds {stop.good_til_seconds} is outside 1..{STATEFUL_ORDER_WINDOW}")
    bound = 1 - stop.max_slippage if stop.side == "SELL" else 1 + stop.max_slippage
    quantums = params.quantums(stop.size)
    trigger = params.subticks(stop.trigger_price, stop.side)
    limit = params.subticks(stop.trigger_price * bound, stop.side)
    ref = ChainOrder(stop.client_id, params.market, params.clob_pair_id, OrderFlags.CONDITIONAL,
                     good_til_block_time=int(stop.t) + stop.good_til_seconds)
    return OrderPlan(ref, stop.side, quantums, limit, Order.TimeInForce.TIME_IN_FORCE_IOC, True,
                     trigger_subticks=trigger)


def _whole(value: Decimal, exponent: int, *, up: bool = False) -> int:
    """`value * 10**exponent` rounded down (or up) to an integer, exactly: `Decimal` arithmetic would
    first round to 28 digits, and the indexer sends longer numbers. Whole steps and ticks then follow
    by integer division, since floor(floor(x) / n) == floor(x / n) (and likewise for ceilings)."""
    numerator, denominator = value.as_integer_ratio()
    if exponent >= 0:
        numerator *= 10**exponent
    else:
        denominator *= 10**-exponent
    return -(-numerator // denominator) if up else numerator // denominator


def _time_in_force(intent: OrderIntent) -> int:
    if intent.time_in_force == "FOK":
        raise InvalidOrderError("fill-or-kill is deprecated on dYdX v4: use IOC")
    if intent.kind == "MARKET":
        if intent.post_only:
            raise InvalidOrderError("a market order cannot be post-only")
        return Order.TimeInForce.TIME_IN_FORCE_IOC
    if intent.post_only:
        if intent.time_in_force != "GTT":
            raise InvalidOrderError(f"a post-only order cannot be {intent.time_in_force}")
        return Order.TimeInForce.TIME_IN_FORCE_POST_ONLY
    return _TIME_IN_FORCE[intent.time_in_force]
