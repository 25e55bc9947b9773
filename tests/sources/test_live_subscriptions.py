"""Subscription planning, sharding under the Indexer's per-connection caps, and the per-connection
tracker that decides renewals (answer timeouts, silent channels, explicit resyncs) on virtual time."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from dydx_v4_client.indexer.candles_resolution import CandlesResolution
from dydx_v4_client.indexer.socket.websocket import Candles, Markets, OrderBook, Subaccounts, Trades
from hypothesis import given
from hypothesis import strategies as st

from streams.sources.subscriptions import (
    RESOLUTIONS,
    SUBSCRIPTION_LIMIT,
    Request,
    Staleness,
    State,
    Subscription,
    SubscriptionTracker,
    plan_subscriptions,
    shard,
)

ADDRESS = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"


def test_plan_has_markets_then_each_market_then_the_subaccount_and_the_block_height():
    plan = plan_subscriptions(["BTC-USD", "ETH-USD", "BTC-USD"], candles=["1MIN", "1HOUR", "1MIN"],
                              address=ADDRESS, subaccount_number=0)
    assert [str(sub) for sub in plan] == [
        "v4_markets",
        "v4_orderbook:BTC-USD", "v4_trades:BTC-USD", "v4_candles:BTC-USD/1MIN", "v4_candles:BTC-USD/1HOUR",
        "v4_orderbook:ETH-USD", "v4_trades:ETH-USD", "v4_candles:ETH-USD/1MIN", "v4_candles:ETH-USD/1HOUR",
        f"v4_subaccounts:{ADDRESS}/0", "v4_block_height",
    ]
    assert [sub.batched for sub in plan] == [True] * 9 + [False, True]


def test_plan_leaves_out_what_is_not_asked_for():
    plan = plan_subscriptions(["SOL-USD"], orderbook=False, trades=False, candles=[])
    assert plan == [Subscription("v4_markets")]


def test_plan_refuses_an_unknown_resolution():
    with pytest.raises(ValueError, match="unknown candle resolution '2MIN' .choose from 1MIN 5MINS"):
        plan_subscriptions(["BTC-USD"], candles=["2MIN"])


def test_resolutions_are_the_libraries():
    assert RESOLUTIONS == tuple(r.value for r in CandlesResolution) == (
        "1MIN", "5MINS", "15MINS", "30MINS", "1HOUR", "4HOURS", "1DAY")


class _Capture:
    def __init__(self):
        self.sent: list[str] = []

    def send(self, text):
        self.sent.append(text)


def test_requests_are_byte_for_byte_what_the_library_helpers_send():
    app = _Capture()
    Markets(app).subscribe()
    OrderBook(app).subscribe("BTC-USD")
    Trades(app).unsubscribe("ETH-USD")
    Candles(app).subscribe("ETH-USD", CandlesResolution.ONE_MINUTE)
    Subaccounts(app).subscribe(ADDRESS, 0)
    Markets(app).unsubscribe()
    ours = [
        Request("subscribe", Subscription("v4_markets")),
        Request("subscribe", Subscription("v4_orderbook", "BTC-USD")),
        Request("unsubscribe", Subscription("v4_trades", "ETH-USD")),
        Request("subscribe", Subscription("v4_candles", "ETH-USD/1MIN")),
        Request("subscribe", Subscription("v4_subaccounts", f"{ADDRESS}/0", batched=False)),
        Request("unsubscribe", Subscription("v4_markets")),
    ]
    assert [request.payload for request in ours] == app.sent


def test_forty_markets_need_a_second_connection():
    plan = plan_subscriptions([f"M{i}-USD" for i in range(40)], address=ADDRESS)
    first, second = shard(plan)
    assert Counter(sub.channel for sub in first) == {
        "v4_markets": 1, "v4_orderbook": 32, "v4_trades": 32, "v4_candles": 32, "v4_subaccounts": 1,
        "v4_block_height": 1}
    assert Counter(sub.channel for sub in second) == {"v4_orderbook": 8, "v4_trades": 8, "v4_candles": 8}
    assert second[0] == Subscription("v4_orderbook", "M32-USD")


def test_subaccounts_have_a_cap_of_256():
    plan = [Subscription("v4_subaccounts", f"{ADDRESS}/{n}", batched=False) for n in range(300)]
    assert [len(members) for members in shard(plan)] == [256, 44]


@given(markets=st.integers(0, 100), resolutions=st.lists(st.sampled_from(RESOLUTIONS), unique=True),
       orderbook=st.booleans(), trades=st.booleans())
def test_sharding_keeps_every_subscription_once_under_the_caps_on_as_few_connections_as_possible(
        markets, resolutions, orderbook, trades):
    plan = plan_subscriptions([f"M{i}-USD" for i in range(markets)], candles=resolutions,
                              orderbook=orderbook, trades=trades)
    connections = shard(plan)
    assert sorted(map(str, (sub for members in connections for sub in members))) == sorted(map(str, plan))
    assert all(count <= SUBSCRIPTION_LIMIT for members in connections
               for count in Counter(sub.channel for sub in members).values())
    fewest = max(math.ceil(n / SUBSCRIPTION_LIMIT) for n in Counter(sub.channel for sub in plan).values())
    assert len(connections) == fewest


@pytest.mark.parametrize("sub, limit", [
    (Subscription("v4_markets"), 30.0),
    (Subscription("v4_orderbook", "BTC-USD"), 30.0),
    (Subscription("v4_trades", "BTC-USD"), None),
    (Subscription("v4_candles", "BTC-USD/1MIN"), 90.0),
    (Subscription("v4_candles", "BTC-USD/4HOURS"), 14430.0),
    (Subscription("v4_subaccounts", f"{ADDRESS}/0"), None),
    (Subscription("v4_block_height"), None),
])
def test_default_silence_limits(sub, limit):
    assert Staleness().limit(sub) == limit


def test_silence_limits_are_configurable():
    staleness = Staleness(orderbook=5.0, trades=120.0, candles_grace=None, subaccounts=600.0)
    assert staleness.limit(Subscription("v4_orderbook", "X")) == 5.0
    assert staleness.limit(Subscription("v4_trades", "X")) == 120.0
    assert staleness.limit(Subscription("v4_candles", "X/1MIN")) is None
    assert staleness.limit(Subscription("v4_parent_subaccounts", "a/0")) == 600.0


BOOK = Subscription("v4_orderbook", "BTC-USD")
TRADES = Subscription("v4_trades", "BTC-USD")
MARKETS = Subscription("v4_markets")


def started(now: float = 0.0) -> SubscriptionTracker:
    tracker = SubscriptionTracker([MARKETS, BOOK, TRADES], Staleness())
    for request in tracker.restart():
        tracker.sent(request, now)
    return tracker


def test_restart_subscribes_everything_in_plan_order():
    tracker = SubscriptionTracker([MARKETS, BOOK, TRADES], Staleness())
    assert tracker.restart() == [Request("subscribe", MARKETS), Request("subscribe", BOOK),
                                 Request("subscribe", TRADES)]
    assert {tracker.state(sub.key) for sub in tracker.subscriptions} == {State.QUEUED}
    assert tracker.due(now=1e6) == []  # nothing was sent yet: nothing can be late
    assert BOOK.key in tracker and ("v4_orderbook", "ETH-USD") not in tracker


def test_an_unanswered_subscribe_is_sent_again_whatever_the_channel():
    tracker = started(now=0.0)
    tracker.seen("subscribed", MARKETS.key, 1.0)
    tracker.seen("subscribed", BOOK.key, 1.0)
    assert tracker.due(30.0) == []
    assert tracker.due(30.5) == [(TRADES, "no answer to subscribe within 30 s")]
    assert tracker.renew(TRADES.key) == [Request("subscribe", TRADES)]  # nothing to unsubscribe
    assert tracker.state(TRADES.key) is State.QUEUED


def test_a_silent_channel_is_renewed_with_unsubscribe_then_subscribe():
    tracker = started(now=0.0)
    for sub in (MARKETS, BOOK, TRADES):
        tracker.seen("subscribed", sub.key, 1.0)
    tracker.seen("channel_batch_data", MARKETS.key, 20.0)
    assert tracker.due(31.5) == [(BOOK, "silent for 30 s (limit 30 s)")]  # trades are never silent
    assert tracker.renew(BOOK.key) == [Request("unsubscribe", BOOK), Request("subscribe", BOOK)]
    assert tracker.renew(BOOK.key) == []  # already on its way: an explicit resync adds nothing
    assert tracker.due(1000.0) == [(MARKETS, "silent for 980 s (limit 30 s)")]


def test_frames_of_a_subscription_being_renewed_do_not_revive_it():
    tracker = started(now=0.0)
    tracker.seen("subscribed", BOOK.key, 1.0)
    unsubscribe, subscribe = tracker.renew(BOOK.key)
    tracker.seen("channel_batch_data", BOOK.key, 2.0)  # old updates still in flight
    assert tracker.state(BOOK.key) is State.QUEUED
    tracker.sent(unsubscribe, 2.5)
    assert tracker.state(BOOK.key) is State.QUEUED
    tracker.sent(subscribe, 3.0)
    tracker.seen("unsubscribed", BOOK.key, 3.1)
    tracker.seen("channel_batch_data", BOOK.key, 3.2)
    assert tracker.state(BOOK.key) is State.PENDING  # waiting for the fresh snapshot
    tracker.seen("subscribed", BOOK.key, 3.5)
    assert tracker.state(BOOK.key) is State.ACTIVE


def test_frames_of_other_subscriptions_are_ignored():
    tracker = started()
    tracker.seen("subscribed", ("v4_orderbook", "ETH-USD"), 1.0)
    tracker.sent(Request("subscribe", Subscription("v4_orderbook", "ETH-USD")), 1.0)
    assert ("v4_orderbook", "ETH-USD") not in tracker

