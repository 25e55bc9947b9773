"""What the live broker learns after a lost connection: the fresh v4_subaccounts snapshot gives positions
and open orders, and layer 2's REST catch-up (`/v4/orders`, `/v4/fills`) the orders that ended and the
fills made while nobody listened. Each fill is reported exactly once, whichever side brings it first, and
nothing from before the bot's session is reported as new.

The messages are built here in the shape of the real captures (nautilus-2024/ws/v4_accounts_*, the
indexer's REST fills and orders) and go through the real parser.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dydx_v4_client import OrderFlags

from streams.execution.order_builder import ChainOrder
from streams.execution.reconcile import Reconciler, VenuePosition, is_account_message
from streams.kernel import rx
from streams.kernel.orders import Fill, OrderUpdate
from streams.market.parse import parse_frame
from tests.support.builders import rest_frame, run_frames, ws_frame

D = Decimal
ADDRESS = "dydx1catchup0000000000000000000000000000000"
ACCOUNT = f"{ADDRESS}/0"
ETH = "ETH-USD"
T = 1_723_471_561.0
ORDERS = f"/v4/orders?address={ADDRESS}&subaccountNumber=0&limit=100&returnLatestOrders=true"
FILLS = f"/v4/fills?address={ADDRESS}&subaccountNumber=0&limit=100"


def order(client_id: int, status: str, filled: str, size: str = "1", height: int = 101) -> dict[str, Any]:
    return {"id": f"order-{client_id}", "subaccountId": "sub-0", "clientId": str(client_id), "clobPairId": "1",
            "side": "BUY", "size": size, "totalFilled": filled, "price": "3300", "type": "LIMIT",
            "status": status, "timeInForce": "IOC", "postOnly": False, "reduceOnly": False, "orderFlags": "0",
            "goodTilBlock": "120", "ticker": ETH, "createdAtHeight": str(height), "updatedAtHeight": str(height)}


def fill(name: str, client_id: int, height: int, size: str = "0.5", kind: str = "LIMIT") -> dict[str, Any]:
    return {"id": name, "subaccountId": "sub-0", "side": "BUY", "liquidity": "TAKER", "type": kind,
            "clobPairId": "1", "ticker": ETH, "size": size, "price": "3290", "quoteAmount": "1645",
            "fee": "0.82", "createdAt": f"2024-08-12T14:06:{height - 100:02d}.000Z",
            "createdAtHeight": str(height), "orderId": f"order-{client_id}"}


def position(size: str) -> dict[str, Any]:
    return {"market": ETH, "status": "OPEN", "side": "LONG", "size": size, "maxSize": size, "entryPrice": "3290",
            "realizedPnl": "0", "unrealizedPnl": "0", "createdAt": "2024-08-12T14:06:02.000Z",
            "createdAtHeight": "102", "sumOpen": size, "sumClose": "0", "netFunding": "0", "subaccountNumber": 0}


def snapshot(height: int, held: str | None, message_id: int = 2) -> Any:
    subaccount = {"address": ADDRESS, "subaccountNumber": 0, "equity": "10000", "freeCollateral": "9000",
                  "openPerpetualPositions": {ETH: position(held)} if held else {},
                  "assetPositions": {}, "marginEnabled": True}
    return parse_frame(ws_frame({"type": "subscribed", "connection_id": "c", "message_id": message_id,
                                 "channel": "v4_subaccounts", "id": ACCOUNT,
                                 "contents": {"subaccount": subaccount, "orders": [], "blockHeight": str(height)}},
                                T + height))


def update(height: int, **contents: Any) -> Any:
    return parse_frame(ws_frame({"type": "channel_data", "connection_id": "c", "message_id": height,
                                 "channel": "v4_subaccounts", "id": ACCOUNT, "version": "3.0.0",
                                 "contents": {**contents, "blockHeight": str(height)}}, T + height))


def rest(body: Any, path: str, t: float) -> Any:
    return parse_frame(rest_frame(body, path, t))


def sent(reconciler: Reconciler, client_id: int) -> None:
    chain_order = ChainOrder(client_id, ETH, 1, OrderFlags.SHORT_TERM, good_til_block=120)
    reconciler.expect(chain_order)
    assert reconciler.placed(chain_order)


def ours(client_id: int, t: float, size: str = "0.5") -> Fill:
    return Fill(t, ETH, "BUY", D(size), D(3290), D("0.82"), "TAKER", client_id=client_id)


def test_orders_that_ended_and_fills_made_while_away_are_reported_once_after_the_fresh_snapshot():
    reconciler = Reconciler()
    on = reconciler.on_message
    assert on(snapshot(100, held=None, message_id=1)) == []
    sent(reconciler, 11)
    sent(reconciler, 12)
    assert on(update(101, orders=[order(11, "OPEN", "0")])) == [
        OrderUpdate(T + 101, 11, ETH, "OPEN", good_til_block=120)]
    assert on(update(102, orders=[order(11, "OPEN", "0.5")], fills=[fill("f1", 11, 102)],
                     perpetualPositions=[position("0.5")])) == [
        OrderUpdate(T + 102, 11, ETH, "PARTIALLY_FILLED", D("0.5"), good_til_block=120), ours(11, T + 102),
        VenuePosition(T + 102, ETH, D("0.5"), "OPEN", D(3290))]

    # the connection drops; order 11 fills at 105, order 12 (never shown) at 106; the bot comes back at 110
    assert on(snapshot(110, held="1.5")) == [VenuePosition(T + 110, ETH, D("1.5"), "OPEN", D(3290))]
    assert reconciler.find(11) == (ChainOrder(11, ETH, 1, OrderFlags.SHORT_TERM, 120), "PARTIALLY_FILLED")
    sent(reconciler, 13)  # placed after the reconnect, shown at 111
    assert on(update(111, orders=[order(13, "OPEN", "0", size="0.5", height=111)])) == [
        OrderUpdate(T + 111, 13, ETH, "OPEN", good_til_block=120)]

    latest_orders = [order(13, "OPEN", "0", size="0.5", height=111),
                     order(12, "FILLED", "0.5", size="0.5", height=106), order(11, "FILLED", "1"),
                     order(99, "FILLED", "2", height=40)]  # another session's order: history
    assert on(rest(latest_orders, ORDERS, T + 112)) == [
        OrderUpdate(T + 112, 12, ETH, "FILLED", D("0.5"), good_til_block=120),
        OrderUpdate(T + 112, 11, ETH, "FILLED", D(1), good_til_block=120)]
    assert reconciler.open_orders() == [ChainOrder(13, ETH, 1, OrderFlags.SHORT_TERM, 120)]

    # newest first, as the indexer lists them: 13's fill (after the snapshot, its update not here yet),
    # the two made while away, one already reported, one from long before
    latest_fills = {"fills": [fill("f4", 13, 112), fill("f3", 12, 106), fill("f2", 11, 105), fill("f1", 11, 102),
                              fill("f0", 99, 40, size="2")]}
    assert on(rest(latest_fills, FILLS, T + 112.5)) == [
        ours(11, T + 112.5), ours(12, T + 112.5), ours(13, T + 112.5)]

    # the socket then brings 13's fill: not reported twice, but it moves the position all the same
    assert on(update(112, orders=[order(13, "FILLED", "0.5", size="0.5", height=112)],
                     fills=[fill("f4", 13, 112)])) == [
        OrderUpdate(T + 112, 13, ETH, "FILLED", D("0.5"), good_til_block=120),
        VenuePosition(T + 112, ETH, D(2), "OPEN", D(3290))]
    assert on(rest(latest_fills, FILLS, T + 113)) == []  # asked again: nothing new


def test_before_any_reconnect_the_fills_and_orders_listed_are_history():
    reconciler = Reconciler()
    reconciler.on_message(snapshot(100, held="2"))
    assert reconciler.on_message(rest({"fills": [fill("f0", 99, 90, size="2")]}, FILLS, T + 101)) == []
    assert reconciler.on_message(rest([order(99, "FILLED", "2", height=90)], ORDERS, T + 101)) == []
    assert reconciler.open_orders() == []


def test_a_liquidation_while_away_is_reported_as_one_with_the_position_it_closed():
    reconciler = Reconciler()
    reconciler.on_message(snapshot(100, held="2", message_id=1))
    assert reconciler.on_message(snapshot(130, held=None)) == [VenuePosition(T + 130, ETH, D(0), "CLOSED")]
    liquidated = {"fills": [{**fill("fl", 0, 120, size="2", kind="LIQUIDATED"), "orderId": None}]}
    assert reconciler.on_message(rest(liquidated, FILLS, T + 131)) == [
        Fill(T + 131, ETH, "BUY", D(2), D(3290), D("0.82"), "TAKER", kind="LIQUIDATION"),
        VenuePosition(T + 131, ETH, D(0), "LIQUIDATED", reason="liquidation")]


def test_the_broker_reads_the_subaccount_channel_and_the_catch_up_answers_only():
    frames = [
        ws_frame({"type": "subscribed", "connection_id": "c", "message_id": 1, "channel": "v4_markets",
                  "contents": {"markets": {}}}, T),
        rest_frame({"fills": []}, FILLS, T),
        rest_frame([], ORDERS, T),
        rest_frame({"subaccount": {"address": ADDRESS, "subaccountNumber": 0, "equity": "1",
                                   "freeCollateral": "1"}}, f"/v4/addresses/{ADDRESS}/subaccountNumber/0", T),
        rest_frame([], "/v4/orders/order-11", T),
    ]
    account = run_frames(frames, rx.filter(is_account_message))
    assert [event.path for event in account] == [FILLS, ORDERS]
    assert run_frames([ws_frame({"type": "subscribed", "connection_id": "c", "message_id": 2,
                                 "channel": "v4_subaccounts", "id": ACCOUNT, "contents": {
                                     "subaccount": {"address": ADDRESS, "subaccountNumber": 0, "equity": "1",
                                                    "freeCollateral": "1"}}}, T)],
                      rx.filter(is_account_message))[0].channel == "v4_subaccounts"


def test_the_block_height_reaches_the_reconciler_and_ends_the_wait_for_an_order_never_shown():
    blocks = [ws_frame({"type": "subscribed", "connection_id": "c", "message_id": 3, "channel": "v4_block_height",
                        "id": "v4_block_height", "contents": {"height": "119", "time": "2024-08-12T14:06:19.000Z"}}, T),
              ws_frame({"type": "channel_data", "connection_id": "c", "message_id": 4, "channel": "v4_block_height",
                        "id": "v4_block_height", "version": "1.0.0",
                        "contents": {"blockHeight": "121", "time": "2024-08-12T14:06:21.000Z"}}, T + 2)]
    heard = run_frames(blocks, rx.filter(is_account_message))
    assert len(heard) == 2
    reconciler = Reconciler()
    sent(reconciler, 11)  # good til block 120
    assert reconciler.on_message(heard[0]) == []
    assert reconciler.on_message(heard[1]) == [OrderUpdate(
        T + 2, 11, ETH, "EXPIRED", reason="the indexer never showed it before its good-til-block 120")]
