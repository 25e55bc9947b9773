"""A live account's funding payments: v4_subaccounts messages in (built in the shape of the real captures,
nautilus-2024/ws/v4_accounts_*: a position's `netFunding` is what it settled so far, -0.043512 on the
real BTC-USD long there), through the real parser and the reconciler, `FundingPayment`s out: each move
of `netFunding` once, across a message heard twice and a lost connection, nothing from before the session."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streams.execution.paper_broker import FundingPayment
from streams.execution.reconcile import Reconciler
from streams.market.parse import parse_frame
from tests.support.builders import ws_frame

D = Decimal
ADDRESS = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"
T = 1_724_000_000.0


def position(market: str, size: str, net_funding: str, opened: str = "2024-08-05T12:12:10.337Z",
             status: str = "OPEN") -> dict[str, Any]:
    return {"market": market, "status": status, "side": "SHORT" if size.startswith("-") else "LONG", "size": size,
            "maxSize": size, "entryPrice": "58308.1", "realizedPnl": net_funding, "unrealizedPnl": "0",
            "createdAt": opened, "createdAtHeight": "18260718", "sumOpen": size.lstrip("-"), "sumClose": "0",
            "netFunding": net_funding, "subaccountNumber": 0}


def snapshot(t: float, message_id: int, *held: dict[str, Any]) -> Any:
    subaccount = {"address": ADDRESS, "subaccountNumber": 0, "equity": "326.2", "freeCollateral": "20.9",
                  "openPerpetualPositions": {p["market"]: p for p in held}, "assetPositions": {}, "marginEnabled": True}
    return parse_frame(ws_frame({"type": "subscribed", "connection_id": "c", "message_id": message_id,
                                 "channel": "v4_subaccounts", "id": f"{ADDRESS}/0",
                                 "contents": {"subaccount": subaccount, "orders": [], "blockHeight": "19300873"}}, t))


def update(t: float, message_id: int, *positions: dict[str, Any]) -> Any:
    moved = [{k: v for k, v in p.items() if k not in ("createdAt", "createdAtHeight")} | {"address": ADDRESS}
             for p in positions]  # the socket's positions say no createdAt
    return parse_frame(ws_frame({"type": "channel_data", "connection_id": "c", "message_id": message_id,
                                 "channel": "v4_subaccounts", "id": f"{ADDRESS}/0", "version": "3.0.0",
                                 "subaccountNumber": 0,
                                 "contents": {"perpetualPositions": moved, "blockHeight": "19300880"}}, t))


def funding(reconciler: Reconciler, message: Any) -> list[FundingPayment]:
    return [e for e in reconciler.on_message(message) if isinstance(e, FundingPayment)]


def test_each_move_of_a_position_s_net_funding_is_booked_once_across_a_reconnect():
    reconciler = Reconciler()
    # the session's first snapshot: settled before the session, not the session's
    assert funding(reconciler, snapshot(T, 1, position("BTC-USD", "0.1036", "-0.043512"))) == []
    paid = update(T + 3600, 2, position("BTC-USD", "0.1036", "-0.050511"))
    assert funding(reconciler, paid) == [FundingPayment(T + 3600, "BTC-USD", D("0.1036"), None, None,
                                                        D("-0.006999"))]
    assert funding(reconciler, paid) == []  # heard twice: nothing moved
    # an ETH-USD short opens in the session (first heard of in an update: all its funding is new)
    assert funding(reconciler, update(T + 3700, 3, position("ETH-USD", "-0.007", "0"))) == []
    assert funding(reconciler, update(T + 7200, 4, position("ETH-USD", "-0.007", "0.000104"))) == [
        FundingPayment(T + 7200, "ETH-USD", D("-0.007"), None, None, D("0.000104"))]

    # the connection drops; BTC-USD settles twice more, ETH-USD closes and a new ETH-USD long opens and
    # settles; the fresh snapshot books what happened meanwhile, from what was last heard
    again = snapshot(T + 11000, 5, position("BTC-USD", "0.1036", "-0.064509"),
                     position("ETH-USD", "0.02", "-0.000310", opened="2024-08-18T19:30:00.000Z"))
    assert funding(reconciler, again) == [
        FundingPayment(T + 11000, "BTC-USD", D("0.1036"), None, None, D("-0.013998")),
        FundingPayment(T + 11000, "ETH-USD", D("0.02"), None, None, D("-0.000310"))]
    assert funding(reconciler, again) == []


def test_a_closing_fill_books_what_the_position_settled_last_and_the_next_one_starts_from_nothing():
    reconciler = Reconciler()
    funding(reconciler, snapshot(T, 1, position("BTC-USD", "0.1036", "-0.043512")))
    closed = position("BTC-USD", "0", "-0.047012", status="CLOSED")
    flipped = [closed, position("BTC-USD", "-0.05", "0")]  # a flip: the old position closes, a new one opens
    assert funding(reconciler, update(T + 60, 2, *flipped)) == [
        FundingPayment(T + 60, "BTC-USD", D(0), None, None, D("-0.0035"))]
    assert funding(reconciler, update(T + 3660, 3, position("BTC-USD", "-0.05", "0.002"))) == [
        FundingPayment(T + 3660, "BTC-USD", D("-0.05"), None, None, D("0.002"))]
