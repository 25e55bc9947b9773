"""Reconciliation of the live broker with v4_subaccounts: real indexer frames (nautilus-2024/ws/v4_accounts_*)
become order updates, fills and positions, matched by client id to what the broker sent."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest
from dydx_v4_client import OrderFlags

from streams.execution.order_builder import ChainOrder
from streams.execution.reconcile import FORGET_AFTER_BLOCKS, Reconciler, VenuePosition
from streams.kernel.orders import Fill, OrderUpdate
from streams.market import events as ev
from streams.market.parse import parse_frame
from tests.support.builders import load_sample, ws_frame

D = Decimal
WS = "nautilus-2024/ws/"
T = 1_723_471_561.2


def frame(samples_dir, name: str, t: float = T, **changes):
    """The parsed sample frame `name`, with `changes` applied to the first order of its contents."""
    message = load_sample(samples_dir, WS + name)
    if changes:
        message = json.loads(json.dumps(message))
        message["contents"]["orders"][0].update(changes)
    return parse_frame(ws_frame(message, t))


def sent(reconciler: Reconciler, order: ChainOrder, report: bool = True) -> None:
    reconciler.expect(order)
    assert reconciler.placed(order, report=report)


def height(value: int, t: float = T) -> ev.ChannelData:
    return ev.ChannelData(connection_id="c", message_id=9, channel="v4_block_height",
                          contents=ev.BlockHeightUpdate(blockHeight=str(value), time="2024-08-12T14:06:01.172Z"), t=t)


def update(t: float = T, **contents) -> ev.ChannelData:
    return ev.ChannelData(connection_id="c", message_id=9, channel="v4_subaccounts", id="a/0",
                          contents=ev.SubaccountUpdate(**contents), t=t)


# A short-term ETH IOC buy of 0.002 that filled in two fills (v4_accounts_fills.json).
ETH_IOC = ChainOrder(1497046405, "ETH-USD", 1, OrderFlags.SHORT_TERM, good_til_block=18794564)


def test_a_sent_order_filled_in_two_fills(samples_dir):
    reconciler = Reconciler()
    sent(reconciler, ETH_IOC)
    events = reconciler.on_message(frame(samples_dir, "v4_accounts_fills.json"))
    t = events[0].t
    assert events == [
        OrderUpdate(t, 1497046405, "ETH-USD", "FILLED", D("0.002"), good_til_block=18794564),
        Fill(t, "ETH-USD", "BUY", D("0.001"), D("2620.1"), D("0.001311"), "TAKER", 1497046405),
        Fill(t, "ETH-USD", "BUY", D("0.001"), D("2624.7"), D("0.001313"), "TAKER", 1497046405),
        VenuePosition(t, "ETH-USD", D("0.005"), "OPEN", D("2955.62")),
    ]
    assert reconciler.find(1497046405) is None and reconciler.height == 18794557


def test_an_order_the_broker_did_not_send_is_reported_as_such(samples_dir):
    events = Reconciler().on_message(frame(samples_dir, "v4_accounts_fills.json"))
    assert events[0].status == "FILLED" and events[0].reason == "not sent by this broker"
    assert [e.client_id for e in events if isinstance(e, Fill)] == [1497046405, 1497046405]  # still our account's


def test_an_order_of_another_market_or_kind_with_the_same_client_id_is_not_ours(samples_dir):
    reconciler = Reconciler()
    sent(reconciler, ChainOrder(1497046405, "BTC-USD", 0, OrderFlags.SHORT_TERM, good_til_block=18794564))
    assert reconciler.on_message(frame(samples_dir, "v4_accounts_fills.json"))[0].reason == "not sent by this broker"
    assert reconciler.find(1497046405)[1] == "PLACED"  # ours is still expected


def test_a_long_term_order_opened_then_canceled_by_the_user(samples_dir):
    reconciler = Reconciler()
    sent(reconciler, ChainOrder(1053905556, "ETH-USD", 1, OrderFlags.LONG_TERM, good_til_block_time=1725880762))
    opened = reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order.json", t=T))
    assert opened == [OrderUpdate(T, 1053905556, "ETH-USD", "OPEN")]
    assert reconciler.find(1053905556) == (
        ChainOrder(1053905556, "ETH-USD", 1, OrderFlags.LONG_TERM, good_til_block_time=1725880762), "OPEN")
    canceled = reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order_canceled.json", t=T + 1))
    assert canceled == [OrderUpdate(T + 1, 1053905556, "ETH-USD", "CANCELED", D("0"), "USER_CANCELED")]
    assert reconciler.find(1053905556) is None and reconciler.open_orders() == []


def test_what_a_cancel_needs_is_read_off_an_order_placed_elsewhere(samples_dir):
    reconciler = Reconciler()
    reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order.json"))
    reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order_opened.json"))
    assert reconciler.open_orders() == [
        # good til 2024-09-09T11:19:22.000Z
        ChainOrder(1053905556, "ETH-USD", 1, OrderFlags.LONG_TERM, good_til_block_time=1725880762),
        ChainOrder(1885399800, "ETH-USD", 1, OrderFlags.SHORT_TERM, good_til_block=18846077),
    ]
    assert reconciler.open_orders("BTC-USD") == []


@pytest.mark.parametrize(("name", "status", "reason"), [
    ("v4_accounts_channel_data_order_opened.json", "OPEN", "best effort"),
    ("v4_accounts_channel_data_order_best_effort_canceled.json", "CANCELED", "best effort REDUCE_ONLY_RESIZE"),
    ("v4_accounts_channel_data_order_expired.json", "EXPIRED", "EXPIRED"),
])
def test_indexer_statuses_in_the_brokers_words(samples_dir, name, status, reason):
    message = frame(samples_dir, name)
    order = message.contents.orders[0]
    reconciler = Reconciler()
    sent(reconciler, ChainOrder(int(order.clientId), "ETH-USD", 1, OrderFlags.SHORT_TERM, good_til_block=10**9))
    [event] = reconciler.on_message(message)
    assert (event.client_id, event.market, event.status, event.reason) == (int(order.clientId), "ETH-USD", status,
                                                                           reason)


def test_a_repeated_update_is_reported_once_and_a_partial_fill_each_time(samples_dir):
    reconciler = Reconciler()
    sent(reconciler, ChainOrder(1885399800, "ETH-USD", 1, OrderFlags.SHORT_TERM, good_til_block=18846077))
    assert len(reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order_opened.json"))) == 1
    assert reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order_opened.json")) == []
    partly = reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order_opened.json",
                                         status="OPEN", totalFilled="0.001"))
    assert [(e.status, e.filled) for e in partly] == [("PARTIALLY_FILLED", D("0.001"))]
    done = reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order_opened.json",
                                       status="BEST_EFFORT_CANCELED", totalFilled="0.002"))
    assert [(e.status, e.filled, e.reason) for e in done] == [("FILLED", D("0.002"), "")]


def test_a_partial_update_without_client_id_is_matched_by_the_indexer_order_id(samples_dir):
    reconciler = Reconciler()
    reconciler.on_message(frame(samples_dir, "v4_accounts_channel_data_order_opened.json"))
    expired = ev.Order(id="09a4bd71-66b5-5eb6-886f-8c91b0e6d7bf", status="CANCELED",
                       removalReason="ORDER_REMOVAL_REASON_EXPIRED")
    assert [(e.client_id, e.status) for e in reconciler.on_message(update(orders=[expired]))] == [
        (1885399800, "EXPIRED")]


def test_a_partial_update_of_an_order_never_listed_is_ignored():
    order = ev.Order(id="unknown", status="CANCELED", removalReason="ORDER_REMOVAL_REASON_EXPIRED")
    assert Reconciler().on_message(update(orders=[order])) == []


def test_a_subscription_snapshot_lists_positions_and_foreign_orders(samples_dir):
    reconciler = Reconciler()
    events = reconciler.on_message(frame(samples_dir, "v4_accounts_subscribed_negative_initial_margin.json"))
    orders = [e for e in events if isinstance(e, OrderUpdate)]
    positions = [e for e in events if isinstance(e, VenuePosition)]
    assert [(o.client_id, o.status) for o in orders] == [
        (123, "FILLED"), (0, "CANCELED"), (2050958613, "FILLED"), (1780278110, "FILLED"), (147339483, "CANCELED")]
    assert {o.reason for o in orders} == {"not sent by this broker", "not sent by this broker; best effort"}
    assert [(p.market, p.size, p.status, p.entry_price) for p in positions] == [
        ("BTC-USD", D("0.1036"), "OPEN", D("58308.13962472406181015453")),
        ("ETH-USD", D("-0.002"), "OPEN", D("2618.8")),
    ]
    assert reconciler.height == 19083216

    # after a reconnect the new snapshot has no BTC position: it was closed while we were away
    again = load_sample(samples_dir, WS + "v4_accounts_subscribed_negative_initial_margin.json")
    del again["contents"]["subaccount"]["openPerpetualPositions"]["BTC-USD"]
    events = reconciler.on_message(parse_frame(ws_frame(again, T + 60)))
    assert [e for e in events if isinstance(e, OrderUpdate)] == []  # nothing new about the orders
    assert [(e.market, e.size, e.status) for e in events if isinstance(e, VenuePosition)] == [
        ("BTC-USD", D("0"), "CLOSED"), ("ETH-USD", D("-0.002"), "OPEN")]


def liquidated(samples_dir, kind: str = "LIQUIDATED", size: str = "0.1036") -> ev.IndexerFill:
    """The real fill of v4_accounts_fills.json as the liquidation engine's SELL that closes a BTC long."""
    fill = load_sample(samples_dir, WS + "v4_accounts_fills.json")["contents"]["fills"][0]
    fill.update(type=kind, side="SELL", size=size, price="57459", ticker="BTC-USD", clobPairId="0", orderId=None)
    return msgspec.convert(fill, ev.IndexerFill, strict=False)


@pytest.fixture
def near_liquidation(samples_dir) -> Reconciler:
    reconciler = Reconciler()
    reconciler.on_message(frame(samples_dir, "v4_accounts_subscribed_negative_initial_margin.json"))
    return reconciler


def test_a_liquidation_fill_closes_the_position_with_that_reason(samples_dir, near_liquidation):
    events = near_liquidation.on_message(update(T + 5, fills=[liquidated(samples_dir)], blockHeight="19083300"))
    assert events == [
        Fill(T + 5, "BTC-USD", "SELL", D("0.1036"), D("57459"), D("0.001311"), "TAKER", None, "LIQUIDATION"),
        VenuePosition(T + 5, "BTC-USD", D("0"), "LIQUIDATED", D("58308.13962472406181015453"), "liquidation"),
    ]


def test_a_partial_liquidation_leaves_the_rest_open_and_says_why_it_moved(samples_dir, near_liquidation):
    events = near_liquidation.on_message(update(T + 5, fills=[liquidated(samples_dir, size="0.05")]))
    assert events[1] == VenuePosition(T + 5, "BTC-USD", D("0.0536"), "OPEN", D("58308.13962472406181015453"),
                                      "liquidation")


def test_deleveraging_with_the_indexers_position_closes_it_as_deleveraged(samples_dir, near_liquidation):
    closed = ev.PerpetualPosition(market="BTC-USD", status="CLOSED", side="LONG", size=D("0"),
                                  entryPrice=D("58308.1"))
    events = near_liquidation.on_message(update(T + 5, fills=[liquidated(samples_dir, "DELEVERAGED")],
                                                perpetualPositions=[closed]))
    assert [e.kind for e in events if isinstance(e, Fill)] == ["DELEVERAGING"]
    assert events[-1] == VenuePosition(T + 5, "BTC-USD", D("0"), "DELEVERAGED", D("58308.1"), "deleveraging")


def test_a_short_reported_unsigned_with_its_side_is_negative(near_liquidation):
    short = ev.PerpetualPosition(market="ETH-USD", status="OPEN", side="SHORT", size=D("0.004"), entryPrice=D("2600"))
    assert near_liquidation.on_message(update(perpetualPositions=[short])) == [
        VenuePosition(T, "ETH-USD", D("-0.004"), "OPEN", D("2600"))]


def test_a_trade_fill_without_a_position_report_moves_the_local_position(samples_dir, near_liquidation):
    buy = ev.IndexerFill(id="f", side="BUY", size=D("0.002"), price=D("2600"), liquidity="MAKER", type="LIMIT",
                  createdAt="2024-08-12T14:06:01.172Z", market="ETH-USD", fee=D("-0.0001"))
    events = near_liquidation.on_message(update(fills=[buy]))
    assert events == [Fill(T, "ETH-USD", "BUY", D("0.002"), D("2600"), D("-0.0001"), "MAKER"),
                      VenuePosition(T, "ETH-USD", D("0"), "CLOSED", D("2618.8"))]


def test_a_short_term_order_the_indexer_never_shows_expires_after_its_good_til_block():
    reconciler = Reconciler()
    reconciler.on_message(height(1000))
    sent(reconciler, ChainOrder(5, "BTC-USD", 0, OrderFlags.SHORT_TERM, good_til_block=1020))
    assert reconciler.on_message(height(1020)) == []
    assert reconciler.on_message(height(1021, t=T + 21)) == [OrderUpdate(
        T + 21, 5, "BTC-USD", "EXPIRED", reason="the indexer never showed it before its good-til-block 1020")]
    assert reconciler.find(5) is None


def test_a_long_term_order_the_indexer_never_confirms_is_rejected():
    reconciler = Reconciler(confirm_within_blocks=5)
    sent(reconciler, ChainOrder(6, "BTC-USD", 0, OrderFlags.LONG_TERM, good_til_block_time=1_800_000_000))
    assert reconciler.on_message(height(2000)) == []  # the first height known starts its clock
    assert reconciler.on_message(height(2005)) == []
    assert reconciler.on_message(height(2006)) == [
        OrderUpdate(T, 6, "BTC-USD", "REJECTED", reason="the indexer did not confirm it within 5 blocks")]


def test_orders_still_in_flight_have_no_deadline_and_failed_ones_are_not_reported_twice():
    reconciler = Reconciler()
    reconciler.expect(ChainOrder(7, "BTC-USD", 0, OrderFlags.SHORT_TERM))
    sent(reconciler, ChainOrder(8, "BTC-USD", 0, OrderFlags.SHORT_TERM, good_til_block=10), report=False)
    assert reconciler.on_message(height(100)) == []
    assert reconciler.find(7) == (ChainOrder(7, "BTC-USD", 0, OrderFlags.SHORT_TERM), "PLACED")
    assert reconciler.find(8) is None
    reconciler.withdraw(7)
    assert reconciler.find(7) is None and not reconciler.placed(ChainOrder(7, "BTC-USD", 0, OrderFlags.SHORT_TERM))


def test_finished_orders_are_forgotten_after_a_while(samples_dir):
    reconciler = Reconciler()
    reconciler.on_message(frame(samples_dir, "v4_accounts_fills.json"))  # FILLED at 18794557
    again = reconciler.on_message(frame(samples_dir, "v4_accounts_fills.json"))
    assert [e for e in again if isinstance(e, OrderUpdate)] == []  # remembered
    reconciler.on_message(height(18794557 + FORGET_AFTER_BLOCKS + 1))
    assert reconciler.on_message(frame(samples_dir, "v4_accounts_fills.json"))[0].status == "FILLED"  # forgotten


def test_other_messages_change_nothing_and_batches_are_read_in_order(samples_dir):
    reconciler = Reconciler()
    connected = parse_frame(ws_frame(load_sample(samples_dir, WS + "connected.json"), T))
    trades = parse_frame(ws_frame(load_sample(samples_dir, WS + "v4_trades.json"), T))
    assert reconciler.on_message(connected) == [] and reconciler.on_message(trades) == []
    single = frame(samples_dir, "v4_accounts_fills.json")
    batch = ev.ChannelBatchData(connection_id="c", message_id=9, channel="v4_subaccounts", id="a/0",
                                contents=[ev.SubaccountUpdate(blockHeight="18794550"), single.contents], t=T)
    assert [type(e).__name__ for e in reconciler.on_message(batch)] == ["OrderUpdate", "Fill", "Fill", "VenuePosition"]
