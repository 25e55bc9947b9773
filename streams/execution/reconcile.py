"""v4_subaccounts -> the broker's view of orders, fills and positions, reconciled with what it sent.

The indexer is the truth in live mode. Its orders are matched to what this broker sent by client id
(plus market and order flags, which complete the chain's order id); an order it shows that the broker did
not send is reported as such, and a sent order it never shows is reported once the chain can no longer
hold it (a short-term order past its good-til-block) or after `confirm_within_blocks` blocks (long-term).
Fills of the liquidation engine and of deleveraging become `Fill(kind="LIQUIDATION"/"DELEVERAGING")`, and
the position they hit is reported with that reason. Each move of a position's `netFunding` is a
`FundingPayment`, booked once (`streams.execution.live_funding`).

After a connection is lost, the fresh snapshot gives positions and open orders but not what happened in
between: an order that filled or was cancelled meanwhile is simply absent, and its fills are never sent.
Layer 2 then asks REST for the account's latest orders and fills (`/v4/orders`, `/v4/fills`): orders the
broker knows take their final status from them, and fills made after the last block height seen before
the new snapshot are reported once (fill ids already reported are never reported again, from either
side). Pure: no I/O, no clock (heights come from the data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from dydx_v4_client import OrderFlags
from msgspec import Struct, structs

from streams.execution.live_funding import LiveFunding
from streams.execution.order_builder import ChainOrder
from streams.execution.paper_broker import FundingPayment
from streams.kernel.orders import Fill, FillKind, OrderStatus, OrderUpdate
from streams.market import events as ev
from streams.market.parse import in_channel

FORGET_AFTER_BLOCKS = 1000  # a finished order's late updates still match it for this long (~20 min)

_FORCED: dict[str, FillKind] = {"LIQUIDATED": "LIQUIDATION", "DELEVERAGED": "DELEVERAGING"}
_CLOSED_BY = {"LIQUIDATION": "LIQUIDATED", "DELEVERAGING": "DELEVERAGED"}
_FINISHED = {"FILLED", "CANCELED", "EXPIRED"}
_NOT_OURS = "not sent by this broker"


class VenuePosition(Struct, frozen=True):
    """The account's position in one market, as the indexer reports it (fills applied in between).

    `size` is signed (negative = short) and 0 once closed; `status` is OPEN, CLOSED, LIQUIDATED or
    DELEVERAGED; `reason` says "liquidation" or "deleveraging" when such a fill moved the position.
    """

    t: float
    market: str
    size: Decimal
    status: str
    entry_price: Decimal | None = None
    reason: str = ""


@dataclass
class _Expected:
    order: ChainOrder
    placed: bool = False  # the node took it (or may have): from then on the indexer should show it
    since: int | None = None  # indexer height when placed (None until one is known)
    report: bool = True  # False when its send was already reported as failed


@dataclass
class _Tracked:
    order: ChainOrder
    ours: bool
    size: Decimal | None = None
    status: OrderStatus | None = None
    filled: Decimal = Decimal(0)
    finished_at: int | None = None
    reported: tuple[OrderStatus, Decimal] | None = None


Reconciled = OrderUpdate | Fill | FundingPayment | VenuePosition

_CATCH_UP = re.compile(r"/v4/(orders|fills)(/parentSubaccountNumber)?(\?|$)")


def is_account_message(event: Any) -> bool:
    """What the reconciler reads of the typed event stream: the v4_subaccounts (or v4_parent_subaccounts)
    messages, the REST answers with the account's latest orders and fills, and v4_block_height (each block
    ends the wait for a sent order the indexer never showed, past its good-til-block)."""
    if isinstance(event, ev.RestResponse):
        return _CATCH_UP.match(event.path) is not None
    return any(in_channel(event, name) for name in ("v4_subaccounts", "v4_parent_subaccounts", "v4_block_height"))


class Reconciler:
    """Turns the account's indexer messages into `OrderUpdate`s, `Fill`s and `VenuePosition`s, knowing
    which orders the broker has in flight (`expect`), sent (`placed`) or failed to send (`withdraw`)."""

    def __init__(self, confirm_within_blocks: int = 20) -> None:
        self.confirm_within_blocks = confirm_within_blocks
        self.height: int | None = None
        self._expected: dict[int, _Expected] = {}
        self._orders: dict[str, _Tracked] = {}  # by indexer order id
        self._positions: dict[str, VenuePosition] = {}
        self._fills: dict[str, int] = {}  # ids of the fills reported, with their heights
        self._snapshotted = False
        self._missed_after: int | None = None  # since the latest re-snapshot: fills above this were missed
        self._funding = LiveFunding()
        self._subaccount = 0  # the number the latest snapshot said (a parent's, on v4_parent_subaccounts)
        self.holders: dict[str, int] = {}
        """The subaccount holding each market's position (a child's, for an isolated one)."""
        self.usdc: dict[int, Decimal] = {}
        """Each subaccount's USDC balance, as last reported."""

    def expect(self, order: ChainOrder) -> None:
        """`order` is being sent: its client id is taken and the indexer may show it any moment."""
        self._expected[order.client_id] = _Expected(order)

    def placed(self, order: ChainOrder, *, report: bool = True) -> bool:
        """The node took `order` (now with its good-til-block). `report=False`: its send failed in a way
        that may still have reached the chain, so it is attributed if it shows up, and not reported
        again if it does not. False when the indexer already showed it."""
        expected = self._expected.get(order.client_id)
        if expected is None:
            return False
        expected.order, expected.placed, expected.since, expected.report = order, True, self.height, report
        return True

    def withdraw(self, client_id: int) -> None:
        """The order never reached the chain."""
        self._expected.pop(client_id, None)

    def find(self, client_id: int) -> tuple[ChainOrder, OrderStatus] | None:
        """The open (or expected) order with this client id, and its last reported status."""
        if client_id in self._expected:
            return self._expected[client_id].order, "PLACED"
        return next(((o.order, o.status or "PLACED") for o in self._orders.values()
                     if o.order.client_id == client_id and o.status not in _FINISHED), None)

    def open_orders(self, market: str | None = None) -> list[ChainOrder]:
        orders = [e.order for e in self._expected.values()]
        orders += [o.order for o in self._orders.values() if o.status not in _FINISHED]
        return [o for o in orders if market is None or o.market == market]

    def on_message(self, message: Any) -> list[Reconciled]:
        """Everything a v4_subaccounts (or v4_block_height) message, or the REST answer of the account's
        orders or fills, changes; other messages give []."""
        if isinstance(message, ev.RestResponse):
            return self._on_rest(message)
        contents = getattr(message, "contents", None)
        out: list[Reconciled] = []
        for update in contents if isinstance(contents, list) else [contents]:
            match update:
                case ev.SubaccountSnapshot() | ev.ParentSubaccountSnapshot():
                    baseline = not self._snapshotted
                    self._missed_after = None if baseline else self.height
                    self._snapshotted = True
                    self._note_height(update.blockHeight)
                    accounts = _subaccounts_of(update)
                    self._subaccount = accounts[0].subaccountNumber if isinstance(
                        update, ev.SubaccountSnapshot) else update.subaccount.parentSubaccountNumber
                    out += self._on_snapshot(update.orders, accounts, message.t)
                    for account in accounts:
                        out += self._funding.on_snapshot(account.subaccountNumber, account.openPerpetualPositions,
                                                         message.t, baseline=baseline)
                case ev.SubaccountUpdate():
                    self._note_height(update.blockHeight)
                    out += self._on_update(update, message.t)
                    number = getattr(message, "subaccountNumber", None)
                    number = self._subaccount if number is None else number
                    self._note_subaccounts(update, number)
                    out += self._funding.on_positions(number, update.perpetualPositions, message.t)
                case ev.BlockHeightSnapshot(height=height) | ev.BlockHeightUpdate(blockHeight=height):
                    self._note_height(height)
                case _:
                    continue
            out += self._expire(message.t)
        return out

    # ---------------------------------------------------------------------------------------------

    def _note_height(self, height: str | None) -> None:
        if height is not None:
            self.height = max(int(height), self.height or 0)

    def _on_snapshot(self, orders: list[ev.Order], accounts: list[ev.Subaccount], t: float) -> list[Reconciled]:
        out: list[Reconciled] = [u for o in orders if (u := self._on_order(o, t))]
        held = {market: p for account in accounts for market, p in account.openPerpetualPositions.items()}
        self.holders = {market: account.subaccountNumber for account in accounts
                        for market in account.openPerpetualPositions}
        self.usdc = {account.subaccountNumber: _usdc(account.assetPositions.get("USDC")) for account in accounts}
        for market in sorted(self._positions.keys() - held.keys()):  # closed while we were not listening
            out.append(self._set_position(t, market, Decimal(0), "CLOSED"))
        for market, position in sorted(held.items()):
            out.append(self._set_position(t, market, _signed(position), "OPEN", position.entryPrice))
        return out

    def _on_update(self, update: ev.SubaccountUpdate, t: float) -> list[Reconciled]:
        # orders first: they teach the indexer order id -> client id that the fills refer to
        out: list[Reconciled] = [u for o in update.orders if (u := self._on_order(o, t))]
        moved: dict[str, Decimal] = {}
        forced: dict[str, FillKind] = {}
        for raw in update.fills:
            fill = self._fill(raw, t)
            if self._first_report(raw):  # else REST caught it up already: it moves the position all the same
                out.append(fill)
            moved[fill.market] = moved.get(fill.market, Decimal(0)) + (fill.size if fill.side == "BUY" else -fill.size)
            if fill.kind != "TRADE":
                forced[fill.market] = fill.kind
        reported = {p.market: p for p in update.perpetualPositions}
        for market in sorted(moved.keys() | reported.keys()):
            if (p := reported.get(market)) is not None:  # the indexer's word wins over our sum of fills
                size, status, entry = (_signed(p) if p.status == "OPEN" else Decimal(0)), p.status, p.entryPrice
            else:
                held = self._positions.get(market)
                size = (held.size if held else Decimal(0)) + moved[market]
                status, entry = "OPEN", held.entry_price if held else None
            kind = forced.get(market)
            if kind and not size:
                status = _CLOSED_BY[kind]
            out.append(self._set_position(t, market, size, status, entry, kind.lower() if kind else ""))
        return out

    def _note_subaccounts(self, update: ev.SubaccountUpdate, number: int) -> None:
        """Which subaccount holds what: positions and balances name theirs on v4_parent_subaccounts."""
        for p in update.perpetualPositions:
            held = p.subaccountNumber if p.subaccountNumber is not None else number
            if p.status == "OPEN" and p.size:
                self.holders[p.market] = held
            elif self.holders.get(p.market) == held:
                del self.holders[p.market]
        for asset in update.assetPositions:
            if asset.symbol == "USDC":
                self.usdc[asset.subaccountNumber if asset.subaccountNumber is not None else number] = _usdc(asset)

    def position_size(self, market: str) -> Decimal:
        """The position held in `market` (signed, 0 when none), as last reported."""
        held = self._positions.get(market)
        return held.size if held is not None else Decimal(0)

    def busy(self) -> set[int]:
        """Subaccounts with a position or an open order: a child is unused when it is not one of them."""
        return set(self.holders.values()) | {o.subaccount for o in self.open_orders() if o.subaccount is not None}

    def _on_order(self, order: ev.Order, t: float) -> OrderUpdate | None:
        tracked = self._orders.get(order.id)
        if order.clientId is not None:
            client_id = int(order.clientId)
        elif tracked is not None:
            client_id = tracked.order.client_id
        else:  # a partial update of an order never listed: nothing to attribute it to
            return None
        expected = self._expected.get(client_id)
        if expected is not None and _same_order(expected.order, order):
            del self._expected[client_id]
            tracked = self._orders[order.id] = _Tracked(expected.order, ours=True)
        elif tracked is None:
            tracked = self._orders[order.id] = _Tracked(_chain_order(client_id, order), ours=False)
        if order.goodTilBlock and order.goodTilBlock.isdigit() and tracked.order.short_term:  # the chain's word
            tracked.order = structs.replace(tracked.order, good_til_block=int(order.goodTilBlock))
        tracked.size = order.size if order.size is not None else tracked.size
        tracked.filled = order.totalFilled if order.totalFilled is not None else tracked.filled
        status = _status(order, tracked)
        if (status, tracked.filled) == tracked.reported:
            return None
        tracked.status, tracked.reported = status, (status, tracked.filled)
        if status in _FINISHED:
            tracked.finished_at = self.height
        reason = (order.removalReason or "").removeprefix("ORDER_REMOVAL_REASON_")
        if order.status.startswith("BEST_EFFORT") and status in ("OPEN", "CANCELED"):
            reason = " ".join(filter(None, ["best effort", reason]))
        if not tracked.ours:
            reason = "; ".join(filter(None, [_NOT_OURS, reason]))
        return OrderUpdate(t, client_id, tracked.order.market, status, tracked.filled, reason,
                           tracked.order.good_til_block)

    def _on_rest(self, answer: ev.RestResponse) -> list[Reconciled]:
        """The account's latest orders or fills, fetched after a re-snapshot (see the module's doc)."""
        body, t = answer.body, answer.t
        if isinstance(body, list):  # /v4/orders: only the orders this broker knows, none of the history
            known = [o for o in body if o.id in self._orders
                     or (o.clientId is not None and o.clientId.isdigit() and int(o.clientId) in self._expected)]
            return [u for o in known if (u := self._on_order(o, t))]
        if not isinstance(body, ev.FillsResponse) or self._missed_after is None:
            return []  # before any re-snapshot, the fills listed are history: the snapshot holds their effect
        missed = sorted((f for f in body.fills if self._height_of(f) > self._missed_after),
                        key=lambda f: (self._height_of(f), f.createdAt))  # the indexer lists newest first
        out: list[Reconciled] = []
        for raw in missed:
            if not self._first_report(raw):
                continue
            fill = self._fill(raw, t)
            out.append(fill)
            if fill.kind != "TRADE" and fill.market not in self._positions:  # the snapshot said CLOSED
                out.append(self._set_position(t, fill.market, Decimal(0), _CLOSED_BY[fill.kind],
                                              reason=fill.kind.lower()))
        return out

    def _height_of(self, fill: ev.IndexerFill) -> int:
        return int(fill.createdAtHeight) if fill.createdAtHeight else self.height or 0

    def _first_report(self, fill: ev.IndexerFill) -> bool:
        """True the first time a fill id is seen (from the socket or from REST), remembering it."""
        if fill.id in self._fills:
            return False
        self._fills[fill.id] = self._height_of(fill)
        return True

    def _fill(self, fill: ev.IndexerFill, t: float) -> Fill:
        tracked = self._orders.get(fill.orderId) if fill.orderId else None
        return Fill(
            t=t, market=fill.ticker or fill.market or (tracked.order.market if tracked else ""),
            side="BUY" if fill.side == "BUY" else "SELL", size=fill.size, price=fill.price,
            fee=fill.fee or Decimal(0), liquidity="MAKER" if fill.liquidity == "MAKER" else "TAKER",
            client_id=tracked.order.client_id if tracked else None, kind=_FORCED.get(fill.type, "TRADE"),
        )

    def _set_position(self, t: float, market: str, size: Decimal, status: str, entry: Decimal | None = None,
                      reason: str = "") -> VenuePosition:
        if status == "OPEN" and not size:
            status = "CLOSED"
        position = VenuePosition(t, market, size, status, entry, reason)
        if size:
            self._positions[market] = position
        else:
            self._positions.pop(market, None)
        return position

    def _expire(self, t: float) -> list[Reconciled]:
        """Report sent orders the chain can no longer hold unseen; forget long-finished orders."""
        if self.height is None:
            return []
        out: list[Reconciled] = []
        for client_id, expected in list(self._expected.items()):
            order = expected.order
            if not expected.placed:
                continue
            if expected.since is None:
                expected.since = self.height
            if order.short_term and order.good_til_block is not None and self.height > order.good_til_block:
                status: OrderStatus = "EXPIRED"
                reason = f"the indexer never showed it before its good-til-block {order.good_til_block}"
            elif not order.short_term and self.height > expected.since + self.confirm_within_blocks:
                status = "REJECTED"
                reason = f"the indexer did not confirm it within {self.confirm_within_blocks} blocks"
            else:
                continue
            del self._expected[client_id]
            if expected.report:
                out.append(OrderUpdate(t, client_id, order.market, status, reason=reason))
        horizon = self.height - FORGET_AFTER_BLOCKS
        for key in [k for k, o in self._orders.items() if o.finished_at is not None and o.finished_at < horizon]:
            del self._orders[key]
        for key in [k for k, height in self._fills.items() if height < horizon]:
            del self._fills[key]
        return out


def _subaccounts_of(snapshot: ev.SubaccountSnapshot | ev.ParentSubaccountSnapshot) -> list[ev.Subaccount]:
    if isinstance(snapshot, ev.SubaccountSnapshot):
        return [snapshot.subaccount]
    return sorted(snapshot.subaccount.childSubaccounts, key=lambda child: child.subaccountNumber)


def _usdc(asset: ev.AssetPosition | None) -> Decimal:
    """A USDC balance, signed (the Indexer sends the size unsigned, SHORT for a negative balance)."""
    if asset is None:
        return Decimal(0)
    return -abs(asset.size) if asset.side == "SHORT" else abs(asset.size)


def _signed(position: ev.PerpetualPosition) -> Decimal:
    """REST sends shorts negative, some WS versions unsigned with side SHORT: accept both."""
    return abs(position.size) * (-1 if position.side == "SHORT" else 1)


def _same_order(sent: ChainOrder, order: ev.Order) -> bool:
    return ((order.clobPairId is None or int(order.clobPairId) == sent.clob_pair_id)
            and (order.orderFlags is None or int(order.orderFlags) == sent.order_flags)
            and (sent.subaccount is None or order.subaccountNumber is None
                 or order.subaccountNumber == sent.subaccount))


def _chain_order(client_id: int, order: ev.Order) -> ChainOrder:
    """What a cancel needs of an order the indexer shows (placed elsewhere or in an earlier session)."""
    expiry = order.goodTilBlockTime and int(datetime.fromisoformat(order.goodTilBlockTime).timestamp())
    return ChainOrder(
        client_id, order.ticker or "", int(order.clobPairId or 0),
        int(order.orderFlags) if order.orderFlags is not None else OrderFlags.SHORT_TERM,
        int(order.goodTilBlock) if order.goodTilBlock else None, expiry or None, order.subaccountNumber,
    )


def _status(order: ev.Order, tracked: _Tracked) -> OrderStatus:
    """The indexer's status in the broker's words. A removed order that filled completely is FILLED
    (the indexer lists fully filled IOC orders as BEST_EFFORT_CANCELED)."""
    if order.status == "FILLED" or (tracked.size is not None and tracked.filled >= tracked.size > 0):
        return "FILLED"
    if order.removalReason == "ORDER_REMOVAL_REASON_EXPIRED":
        return "EXPIRED"
    if order.status in ("CANCELED", "BEST_EFFORT_CANCELED"):
        return "CANCELED"
    return "PARTIALLY_FILLED" if tracked.filled else "OPEN"  # OPEN, BEST_EFFORT_OPENED, UNTRIGGERED
