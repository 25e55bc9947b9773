"""The live broker: order intents -> signed dYdX v4 transactions through `dydx-v4-client`; the account's
v4_subaccounts messages -> the order updates, fills and positions that come back.

The library's `NodeClient` methods are `async` but call synchronous gRPC stubs inside, so awaiting them
would freeze the app's loop for every round trip. They run one at a time on a single node thread instead
(one at a time also keeps the account sequence in order), and their outcomes come back to the loop,
where every event is emitted. Nothing raises into the stream: a refused or failed order is an
`OrderUpdate(status="REJECTED", reason=...)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import namedtuple
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

import grpc
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.network import Network
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.wallet import Wallet
from msgspec import structs
from reactivex import Observable
from reactivex.abc import DisposableBase
from reactivex.disposable import CompositeDisposable
from reactivex.subject import Subject
from v4_proto.dydxprotocol.clob import query_pb2 as clob_query
from v4_proto.dydxprotocol.clob import query_pb2_grpc as clob_grpc
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from streams.execution.isolated import ChildRefusedError, check_holder_margin, child_for
from streams.execution.networks import MAINNET_CHAIN_ID
from streams.execution.order_builder import ChainOrder, ClobParams, InvalidOrderError, OrderPlan, plan_order, plan_stop
from streams.execution.paper_broker import FundingPayment
from streams.execution.reconcile import Reconciler, VenuePosition
from streams.execution.secrets import Secret
from streams.execution.venue_rules import MAINNET_LIMITS, BlockRateLimiter, BlockRateLimits
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderUpdate, StopIntent
from streams.market.events import PerpetualMarket
from streams.market.state import BookTop, MarketInfo
from streams.risk.account import Market
from streams.risk.margin import effective_imf, imr

log = logging.getLogger(__name__)

DEFAULT_DEADLINE = 10.0  # seconds: the library sets none, and a hung node would stall every order
WRONG_SEQUENCE = 32  # cosmos-sdk ErrWrongSequence

T = TypeVar("T")


class BrokerSetupError(Exception):
    """The broker cannot start (bad mnemonic, unknown account, node unreachable); says what to do."""


class _Sent(NamedTuple):
    """What the node made of one transaction."""

    order: ChainOrder | None  # as sent (a short-term order with its good-til-block); None if nothing was
    error: str = ""  # why the node did not take it; "" when it did
    maybe_sent: bool = False  # the error leaves open whether the transaction reached the chain


class LiveBroker:
    """A `Broker` on a dYdX v4 chain. Build it with `await LiveBroker.connect(...)` on the app's loop,
    feed it markets, book tops and the account's v4_subaccounts messages (`bind`), and call `submit` and
    `cancel` from that loop."""

    def __init__(self, node: NodeClient, wallet: Wallet, subaccount: int, chain_id: str,
                 node_thread: ThreadPoolExecutor, *, confirm_within_blocks: int = 20,
                 rate_limits: BlockRateLimits = MAINNET_LIMITS, parent: bool = False) -> None:
        self.address = wallet.address
        self.subaccount = subaccount
        self.parent = parent  # orders for ISOLATED markets go to the subaccount's children (streams.execution.isolated)
        self._margin: dict[str, tuple[Market, Decimal | None]] = {}  # what an order's initial margin needs
        self.chain_id = chain_id
        self._node, self._wallet, self._node_thread = node, wallet, node_thread
        self._sequence_stale = False
        self._rate_limiter = BlockRateLimiter(rate_limits)  # used on the node thread only
        self._loop = asyncio.get_running_loop()
        self._markets: dict[str, ClobParams] = {}
        self._books: dict[str, BookTop] = {}
        self._reconciler = Reconciler(confirm_within_blocks)
        self._tasks: set[asyncio.Task[None]] = set()
        self._events: Subject[OrderUpdate | Fill | FundingPayment] = Subject()
        self._positions: Subject[VenuePosition] = Subject()
        self.events: Observable[OrderUpdate | Fill | FundingPayment] = self._events
        self.positions: Observable[VenuePosition] = self._positions

    @classmethod
    async def connect(cls, network: Network, mnemonic: Secret, *, subaccount: int = 0, parent: bool = False,
                      deadline: float = DEFAULT_DEADLINE, confirm_within_blocks: int = 20) -> LiveBroker:
        """Derive the wallet, read its account number and sequence from the node, and start.

        `network` comes from `networks.select_network` (testnet unless mainnet was confirmed) or
        `networks.local_network`. With `parent`, the subaccount is a parent whose children `128·k + n`
        hold its isolated positions (the account comes from v4_parent_subaccounts then)."""
        try:
            key = KeyPair.from_mnemonic(mnemonic.reveal())
        except Exception:  # noqa: BLE001 - whatever bip_utils says may quote the words
            key = None
        if key is None:  # raised outside the handler so that no chained exception carries the words
            raise BrokerSetupError("the wallet mnemonic is not a valid BIP39 phrase")
        channel = grpc.intercept_channel(network.node.channel, _Deadline(deadline))
        node = await NodeClient.connect(replace(network.node, channel=channel))
        node.sequence_manager = None  # the broker keeps the sequence itself (see `_broadcast`)
        node_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dydx-node")
        wallet = Wallet(key, 0, 0)
        try:  # what `Wallet.from_mnemonic` does, without deriving the key a second time
            account = await _on(node_thread, node.get_account, wallet.address)
        except grpc.RpcError as exc:
            node_thread.shutdown(wait=False)
            unknown = exc.code() == grpc.StatusCode.NOT_FOUND
            hint = " (fund it first: an account exists once it received tokens)" if unknown else ""
            raise BrokerSetupError(
                f"cannot read account {wallet.address} on {network.node.chain_id}: {_rpc_reason(exc)}{hint}"
            ) from None
        wallet.account_number, wallet.sequence = account.account_number, account.sequence
        rate_limits = await _on(node_thread, _rate_limits, node)
        log.info("live broker for %s/%d on %s", wallet.address, subaccount, network.node.chain_id)
        if network.node.chain_id == MAINNET_CHAIN_ID:
            log.warning("the live broker trades real money on %s", MAINNET_CHAIN_ID)
        return cls(node, wallet, subaccount, network.node.chain_id, node_thread,
                   confirm_within_blocks=confirm_within_blocks, rate_limits=rate_limits, parent=parent)

    # --- inputs ------------------------------------------------------------------------------------

    def bind(self, *, markets: Observable[MarketInfo], books: Observable[BookTop],
             account: Observable[Any]) -> DisposableBase:
        """Follow market parameters, book tops and the account's v4_subaccounts (and, for confirmation
        deadlines, v4_block_height) messages; dispose to stop."""
        return CompositeDisposable(markets.subscribe(self.on_market), books.subscribe(self.on_book),
                                   account.subscribe(self.on_account))

    def on_market(self, market: MarketInfo | PerpetualMarket) -> None:
        params = ClobParams.of(market)
        self._markets[params.market] = params
        if isinstance(market, MarketInfo):
            self._margin[params.market] = (Market.from_info(market), market.oracle_price)
        else:
            self._margin[params.market] = (Market.from_perpetual_market(market), market.oraclePrice)

    def on_book(self, top: BookTop) -> None:
        self._books[top.market] = top

    def on_account(self, message: Any) -> None:
        for event in self._reconciler.on_message(message):
            if isinstance(event, VenuePosition):
                self._positions.on_next(event)
            else:
                self._events.on_next(event)

    # --- the Broker protocol -------------------------------------------------------------------------

    def submit(self, intent: OrderIntent | StopIntent) -> None:
        """An order, or a protective stop (a conditional order resting on the chain)."""
        try:
            params = self._markets.get(intent.market)
            if params is None:
                raise InvalidOrderError(f"no market parameters for {intent.market} yet")
            if (found := self._reconciler.find(intent.client_id)) and isinstance(intent, StopIntent):
                # a stop's client id is the stop itself (streams.risk.protection): this one rests already
                self._events.on_next(OrderUpdate(intent.t, intent.client_id, intent.market, found[1],
                                                 reason="protective stop already on the venue"))
                return
            if found:
                raise InvalidOrderError(f"client id {intent.client_id} belongs to an order still open or in flight")
            if isinstance(intent, StopIntent):
                plan = plan_stop(intent, params)
            else:
                plan = plan_order(intent, params, self._reference_price(intent))
            if (child := self._child_for(intent)) is not None:
                plan = structs.replace(plan, ref=structs.replace(plan.ref, subaccount=child))
        except (InvalidOrderError, ChildRefusedError) as exc:
            self._reject(intent.t, intent.client_id, intent.market, str(exc))
            return
        self._reconciler.expect(plan.ref)
        self._spawn(self._place(intent.t, plan, params))

    def cancel(self, intent: CancelIntent) -> None:
        if intent.client_id is None:
            for order in self._reconciler.open_orders(intent.market):
                self._spawn(self._cancel(intent.t, order))
            return
        found = self._reconciler.find(intent.client_id)
        if found is None:
            self._reject(intent.t, intent.client_id, intent.market or "",
                         f"cancel: no open order with client id {intent.client_id}")
            return
        self._spawn(self._cancel(intent.t, found[0]))

    async def settled(self) -> None:
        """Wait until every submit and cancel so far has the node's answer."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self) -> None:
        """Let the sends in flight finish, then stop the node thread (the network's channel is the caller's)."""
        await self.settled()
        self._node_thread.shutdown(wait=True)
        self._events.on_completed()
        self._positions.on_completed()

    # --- on the loop -----------------------------------------------------------------------------------

    async def _place(self, t: float, plan: OrderPlan, params: ClobParams) -> None:
        sent = await self._outcome(self._send_order, plan)
        client_id, market, order = plan.ref.client_id, plan.ref.market, sent.order
        if sent.error or order is None:
            if sent.maybe_sent and order is not None:
                self._reconciler.placed(order, report=False)
            else:
                self._reconciler.withdraw(client_id)
            self._reject(t, client_id, market, sent.error)
        elif self._reconciler.placed(order):
            described = _describe(plan, order, params)
            self._events.on_next(OrderUpdate(t, client_id, market, "PLACED", reason=described,
                                             good_til_block=order.good_til_block))

    async def _cancel(self, t: float, order: ChainOrder) -> None:
        sent = await self._outcome(self._send_cancel, order)
        found = self._reconciler.find(order.client_id)
        if sent.error and found is not None:  # otherwise the order ended meanwhile: nothing left to say
            self._events.on_next(OrderUpdate(t, order.client_id, order.market, found[1],
                                             reason=f"cancel failed: {sent.error}"))

    async def _outcome(self, send: Callable[[T], Coroutine[Any, Any, _Sent]], what: T) -> _Sent:
        """`send` on the node thread; an error before the broadcast (height query, a cancel that cannot
        be expressed) means nothing was sent."""
        try:
            return await _on(self._node_thread, send, what)
        except grpc.RpcError as exc:
            return _Sent(None, _rpc_reason(exc))
        except Exception as exc:  # noqa: BLE001 - errors are values in the stream
            return _Sent(None, f"{type(exc).__name__}: {exc}")

    def _reject(self, t: float, client_id: int, market: str, reason: str) -> None:
        log.warning("order %d on %s rejected: %s", client_id, market, reason)
        self._events.on_next(OrderUpdate(t, client_id, market, "REJECTED", reason=reason))

    def _child_for(self, intent: OrderIntent | StopIntent) -> int | None:
        """The child subaccount an order for an ISOLATED market goes to, when the subaccount is a parent
        (None: the subaccount's own). Its initial margin is at the limit price, else the book's, else the
        oracle's (ChildRefusedError when the child lacks it)."""
        market, oracle = self._margin.get(intent.market, (None, None))
        if not self.parent or market is None or not market.isolated:
            return None
        reduce_only = isinstance(intent, StopIntent) or intent.reduce_only
        r = self._reconciler
        if not isinstance(intent, OrderIntent) or reduce_only:  # a reduce-only order needs no margin
            return child_for(intent.market, self.subaccount, reduce_only=True, margin_needed=Decimal(0),
                             holders=r.holders, busy=r.busy(), usdc=r.usdc)
        price = intent.price or self._reference_price(intent) or oracle
        if price is None:
            raise ChildRefusedError(f"no price for {intent.market} yet to size its child subaccount's margin")
        imf = effective_imf(market, price)
        child = child_for(intent.market, self.subaccount, reduce_only=False, margin_needed=imr(intent.size, price, imf),
                          holders=r.holders, busy=r.busy(), usdc=r.usdc)
        if r.holders.get(intent.market) == child:
            check_holder_margin(intent.market, child, self.subaccount, usdc=r.usdc.get(child, Decimal(0)),
                                size=r.position_size(intent.market),
                                delta=intent.size if intent.side == "BUY" else -intent.size, price=price, imf=imf)
        return child

    def _subaccount_of(self, order: ChainOrder) -> int:
        return self.subaccount if order.subaccount is None else order.subaccount

    def _reference_price(self, intent: OrderIntent) -> Decimal | None:
        """The price a market order is bounded around: the best ask for a buy, the best bid for a sell."""
        top = self._books.get(intent.market)
        levels = (top.asks if intent.side == "BUY" else top.bids) if top else ()
        return levels[0][0] if levels else None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- on the node thread ------------------------------------------------------------------------

    async def _send_order(self, plan: OrderPlan) -> _Sent:
        height = await self._node.latest_block_height()
        if refusal := self._rate_limiter.admit(height, stateful=not plan.ref.short_term):
            return _Sent(None, refusal)
        order = plan.placed_at(height)
        proto = plan.order(self.address, self._subaccount_of(order), height)
        return await self._broadcast(order, lambda: self._node.place_order(self._wallet, proto))

    async def _send_cancel(self, order: ChainOrder) -> _Sent:
        """A stateful cancel is not rate limited on chain (the order must exist in state); a short-term
        one counts with the short-term placements."""
        height = await self._node.latest_block_height() if order.short_term else 0
        if order.short_term and (refusal := self._rate_limiter.admit(height, stateful=False)):
            return _Sent(None, refusal)
        until = order.cancel_until(height)
        order_id = order.order_id(self.address, self._subaccount_of(order))
        return await self._broadcast(order, lambda: self._node.cancel_order(self._wallet, order_id, **until))

    async def _broadcast(self, order: ChainOrder, send: Callable[[], Awaitable[Any]]) -> _Sent:
        """Sign and broadcast with the broker's own account sequence. Short-term order messages are
        exempt from sequence checks on dYdX (good-til-block protects them from replay); a long-term one
        uses the sequence and moves it on, and a failed one makes the broker re-read it before the next."""
        stateful = not order.short_term
        try:
            if stateful and self._sequence_stale:
                self._wallet.sequence = (await self._node.get_account(self.address)).sequence
                self._sequence_stale = False
            response = (await send()).tx_response
        except grpc.RpcError as exc:
            self._sequence_stale |= stateful
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return _Sent(order, f"{_rpc_reason(exc)} (it may still reach the chain)", maybe_sent=True)
            return _Sent(order, _rpc_reason(exc))
        if response.code:
            self._sequence_stale |= stateful and response.code == WRONG_SEQUENCE
            return _Sent(order, f"{response.codespace} error {response.code}: {response.raw_log}")
        if stateful:
            self._wallet.sequence += 1
        return _Sent(order)


def _on(node_thread: ThreadPoolExecutor, call: Callable[[T], Coroutine[Any, Any, Any]], arg: T) -> Awaitable[Any]:
    """Run one of the library's (blocking) coroutines to completion on the node thread."""
    return asyncio.get_running_loop().run_in_executor(node_thread, lambda: asyncio.run(call(arg)))


async def _rate_limits(node: NodeClient) -> BlockRateLimits:
    """The chain's block rate limits, or the documented mainnet ones when the node does not say."""
    try:
        response = clob_grpc.QueryStub(node.channel).BlockRateLimitConfiguration(
            clob_query.QueryBlockRateLimitConfigurationRequest())
    except grpc.RpcError as exc:
        log.warning("block rate limits not read from the node (%s): keeping to mainnet's", _rpc_reason(exc))
        return MAINNET_LIMITS
    return BlockRateLimits.of(response.block_rate_limit_config)


def _describe(plan: OrderPlan, order: ChainOrder, params: ClobParams) -> str:
    """What was sent, after rounding: e.g. "BUY 0.0003 @ 89919 IOC reduce-only, good til block 123"."""
    tif = Order.TimeInForce.Name(plan.time_in_force).removeprefix("TIME_IN_FORCE_")
    tif = "GTT" if tif == "UNSPECIFIED" else tif  # unspecified = good til its block or time
    until = f"block {order.good_til_block}" if order.short_term else f"time {order.good_til_block_time}"
    stop = f" stop at {params.price_of(plan.trigger_subticks):f}" if plan.trigger_subticks else ""
    return (f"{plan.side} {params.size_of(plan.quantums):f} @ {params.price_of(plan.subticks):f} {tif}"
            f"{' reduce-only' if plan.reduce_only else ''}{stop}, good til {until}")


def _rpc_reason(exc: grpc.RpcError) -> str:
    return f"node gRPC {exc.code().name}: {exc.details()}"


class _CallDetails(
    namedtuple("_CallDetails", "method timeout metadata credentials wait_for_ready compression"),
    grpc.ClientCallDetails,
):
    pass


class _Deadline(grpc.UnaryUnaryClientInterceptor):
    """Give every call on the channel a deadline: the library's stubs are called without one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if details.timeout is None:
            details = _CallDetails(details.method, self.seconds, details.metadata, details.credentials,
                                   details.wait_for_ready, details.compression)
        return continuation(details, request)
