"""`margin_states` in virtual time: oracle prices, parameter changes, Indexer updates and paper fills in,
one `AccountState` out per change that matters, stamped with the time of the event that caused it."""

from __future__ import annotations

from decimal import Decimal as D

from reactivex.testing import ReactiveTest, TestScheduler

from streams.market import events as ev
from streams.risk.account import Account, AccountSnapshot, Position
from streams.risk.margin import MarketAtr, margin_states
from tests.support.builders import market_info

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed

# the reference account (dydx-reference.md §6) as a v4_subaccounts snapshot
SNAPSHOT = ev.SubaccountSnapshot(subaccount=ev.Subaccount(
    address="dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art", subaccountNumber=0, equity=D("304.384048054"),
    freeCollateral=D("0.1986661447"),
    openPerpetualPositions={
        "BTC-USD": ev.PerpetualPosition(market="BTC-USD", status="OPEN", side="LONG", size=D("0.1036"),
                                        entryPrice=D("58308.13962472406181015453")),
        "ETH-USD": ev.PerpetualPosition(market="ETH-USD", status="OPEN", side="SHORT", size=D("-0.002"),
                                        entryPrice=D("2618.8")),
    },
    assetPositions={"USDC": ev.AssetPosition(symbol="USDC", side="SHORT", size=D("5768.816478"))}))
BTC_LIQ = D("57459.58")  # the reference's liquidation price, rounded to the cent


def info(t, market, price, imf="0.05", mmf="0.03", open_interest=None):
    """BTC-USD's parameters (the market of the reference account) with the fractions given."""
    return market_info(market, t, oracle_price=price, initial_margin_fraction=imf, maintenance_margin_fraction=mmf,
                       open_interest=open_interest, tick_size=1, step_size="0.0001", atomic_resolution=-10,
                       clob_pair_id="0")


def subscribed(t):
    return ev.Subscribed(connection_id="c", message_id=1, channel="v4_subaccounts", contents=SNAPSHOT,
                         id="dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art/0", t=t)


def channel_data(t, update):
    return ev.ChannelData(connection_id="c", message_id=2, channel="v4_subaccounts", contents=update, t=t)


def run(markets, account_events, atr=(), **options):
    scheduler = TestScheduler()
    market_stream = scheduler.create_hot_observable(*markets)
    account_stream = scheduler.create_hot_observable(*account_events)
    atr_stream = scheduler.create_hot_observable(*atr) if atr else None
    results = scheduler.start(lambda: margin_states(market_stream, account_stream, atr=atr_stream, **options))
    return [(message.time, message.value.value) for message in results.messages if message.value.kind == "N"]


def test_oracle_moves_drive_the_state_and_the_liquidation_flag_flips():
    states = run(
        markets=[on_next(210, info(1.0, "BTC-USD", "58672.3367")),
                 on_next(220, info(2.0, "SOL-USD", "140")),  # not held: nothing to recompute
                 on_next(230, info(3.0, "ETH-USD", "2626.778033")),  # every held market priced: first state
                 on_next(240, info(4.0, "BTC-USD", "58672.3367")),  # unchanged: no new state
                 on_next(250, info(5.0, "BTC-USD", "57500")),
                 on_next(260, info(6.0, "BTC-USD", "57459")),  # just below the liquidation price
                 on_next(270, info(7.0, "BTC-USD", "60000"))],
        account_events=[on_next(205, subscribed(0.5))])
    assert [time for time, _ in states] == [230, 250, 260, 270]
    first, near, below, recovered = (state for _, state in states)
    assert first.t == 3.0 and first.equity == D("304.384048054") and first.free_collateral == D("0.1986661447")
    assert first.positions[0].liquidation_price.quantize(D("0.01")) == BTC_LIQ
    assert (near.liquidatable, below.liquidatable, recovered.liquidatable) == (False, True, False)
    assert below.equity < below.maintenance_margin and near.equity > near.maintenance_margin
    assert near.t == 5.0 and near.equity == first.equity + D("0.1036") * (D(57500) - D("58672.3367"))


def test_parameter_changes_of_a_held_market_recompute():
    states = run(
        markets=[on_next(210, info(1.0, "BTC-USD", "60000")),
                 on_next(220, info(2.0, "ETH-USD", "2600")),
                 on_next(230, info(3.0, "BTC-USD", "60000", imf="0.02", mmf="0.012"))],
        account_events=[on_next(205, subscribed(0.5))])
    assert [state.positions[0].imf for _, state in states] == [D("0.05"), D("0.02")]
    assert states[1][1].positions[0].maintenance_margin == D("0.1036") * D(60000) * D("0.012")


def test_no_state_until_every_held_market_has_a_price():
    states = run(markets=[on_next(210, info(1.0, "BTC-USD", "60000")), on_next(220, info(2.0, "ETH-USD", None))],
                 account_events=[on_next(205, subscribed(0.5))])
    assert states == []


def test_indexer_updates_and_paper_accounts():
    grown = ev.SubaccountUpdate(perpetualPositions=[ev.PerpetualPosition(
        market="BTC-USD", status="OPEN", side="LONG", size=D("0.2"), entryPrice=D(59_000))])
    paid = ev.SubaccountUpdate(assetPositions=[ev.AssetPosition(symbol="USDC", side="SHORT", size=D(11_500))])
    orders_only = ev.SubaccountUpdate(orders=[ev.Order(id="o", status="OPEN")])
    batch = ev.ChannelBatchData(connection_id="c", message_id=9, channel="v4_subaccounts", t=5.0, contents=[
        ev.SubaccountUpdate(perpetualPositions=[ev.PerpetualPosition(market="ETH-USD", status="CLOSED",
                                                                     side="SHORT", size=D(0))]),
        ev.SubaccountUpdate(assetPositions=[ev.AssetPosition(symbol="USDC", side="SHORT", size=D(11_505))])])
    states = run(
        markets=[on_next(201, info(0.1, "BTC-USD", "60000")), on_next(202, info(0.2, "ETH-USD", "2600"))],
        account_events=[on_next(203, channel_data(0.25, grown)),  # before the snapshot: nothing to update
                        on_next(205, subscribed(0.3)),
                        on_next(210, channel_data(1.0, grown)),
                        on_next(220, channel_data(2.0, paid)),
                        on_next(230, channel_data(3.0, orders_only)),  # no margin change: no state
                        # other channels' messages are no account events
                        on_next(240, ev.Unsubscribed(connection_id="c", message_id=3, channel="v4_markets", t=4.0)),
                        on_next(245, ev.ChannelData(connection_id="c", message_id=4, channel="v4_markets", t=4.5,
                                                    contents=ev.MarketsUpdate())),
                        on_next(250, batch),
                        # the paper broker's account after selling 0.1 at 60,000 with a fee of 3
                        on_next(260, AccountSnapshot(t=6.0, account=Account(usdc=D(-11_505 + 6_000 - 3), positions={
                            "BTC-USD": Position(market="BTC-USD", size=D("0.1"), entry_price=D(59_000))})))])
    assert [(time, state.t) for time, state in states] == [(205, 0.3), (210, 1.0), (220, 2.0), (250, 5.0),
                                                          (260, 6.0)]
    snapshot, bigger, funded, flat_eth, sold = (state for _, state in states)
    assert bigger.positions[0].size == D("0.2") and bigger.equity == snapshot.equity + D("0.0964") * D(60_000)
    assert funded.equity == D(-11_500) + D("0.2") * D(60_000) - D("0.002") * D(2600)
    assert [p.market for p in flat_eth.positions] == ["BTC-USD"] and flat_eth.equity == D(-11_505) + D(12_000)
    assert sold.positions[0].size == D("0.1") and sold.equity == flat_eth.equity - D(3)


def test_atr_and_leverage():
    states = run(
        markets=[on_next(210, info(1.0, "BTC-USD", "58672.3367")),
                 on_next(220, info(2.0, "ETH-USD", "2626.778033"))],
        account_events=[on_next(205, subscribed(0.5))],
        atr=[on_next(230, MarketAtr(3.0, "BTC-USD", D(500))), on_next(240, MarketAtr(4.0, "BTC-USD", D(500))),
             on_next(250, MarketAtr(5.0, "SOL-USD", D(2)))],  # unchanged, then not held
        leverage={"BTC-USD": D(10)})
    assert [time for time, _ in states] == [220, 230]
    before, with_atr = states[0][1], states[1][1]
    assert before.positions[0].distance_to_liquidation_atr is None
    btc = with_atr.positions[0]
    assert with_atr.t == 3.0  # the ATR's own time
    assert btc.distance_to_liquidation_atr == (btc.oracle_price - btc.liquidation_price) / D(500)
    assert btc.imf == D("0.1") and with_atr.free_collateral < with_atr.free_collateral_indexer


def test_each_subscription_tracks_its_own_account():
    scheduler = TestScheduler()
    markets = scheduler.create_cold_observable(on_next(10, info(1.0, "BTC-USD", "60000")),
                                               on_next(20, info(2.0, "ETH-USD", "2600")), on_completed(30))
    accounts = scheduler.create_cold_observable(on_next(5, subscribed(0.5)), on_completed(30))
    stream = margin_states(markets, accounts)
    first, second = [], []
    stream.subscribe(first.append, scheduler=scheduler)
    scheduler.advance_by(100)
    stream.subscribe(second.append, scheduler=scheduler)
    scheduler.advance_by(100)
    assert len(first) == len(second) == 1 and first == second
