"""The risk engine on the streams: the orders each rung sends, the kill switch, the inputs that hold new
risk, and the gate strategy orders pass - with real margin states from the margin engine."""

from __future__ import annotations

from decimal import Decimal as D

import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from streams.kernel.frames import Frame
from streams.kernel.orders import CancelIntent, OrderIntent, OrderUpdate
from streams.kernel.status import SourceStatus, status_frame
from streams.market.state import MarketInfo, StreamHealth
from streams.risk.account import Account, Market, Position
from streams.risk.config import RiskConfig, Rung
from streams.risk.derisk import RISK_CLIENT_IDS, IntentBlocked, RiskEngine, risk_engine
from streams.risk.kill_switch import KillCommand, KillSwitch, ResetCommand
from streams.risk.ladder import RiskState
from streams.risk.margin import AccountState, account_state
from tests.support.builders import market_info

ETH, BTC = "ETH-USD", "BTC-USD"
PRICES = {ETH: D(3000), BTC: D(60_000)}
MARKETS = {name: Market(ticker=name, imf=D("0.05"), mmf=D("0.03")) for name in PRICES}


def rung(enter_usage: str, exit_usage: str, enter_distance: str, exit_distance: str) -> Rung:
    return Rung(enter_usage=D(enter_usage), exit_usage=D(exit_usage), enter_distance=D(enter_distance),
                exit_distance=D(exit_distance))


# rungs by margin usage alone (distances no position gets near), so each test picks its rung by usage
USAGE_ONLY = RiskConfig(no_new_risk=rung("0.5", "0.4", "0.003", "0.004"), reduce=rung("0.7", "0.6", "0.002", "0.003"),
                        flatten=rung("0.85", "0.75", "0.001", "0.002"), max_position_notional=D(40_000),
                        max_leverage=D(20), daily_loss_limit=D(10**9))


def info(market: str, step: str = "0.001", oracle: str | None = None) -> MarketInfo:
    return market_info(market, oracle_price=oracle, step_size=step)


def margin(t: float, usage: str | None = None, usdc: str | None = None, **sizes: str) -> AccountState:
    """The margin engine's state of an account holding `sizes` (ETH=..., BTC=...), with the USDC balance
    that puts margin usage at `usage` (or the balance given)."""
    names = {"ETH": ETH, "BTC": BTC}
    positions = {names[k]: Position(market=names[k], size=D(v), entry_price=PRICES[names[k]]) for k, v in sizes.items()}
    if usdc is None:
        initial = sum(abs(p.size) * PRICES[p.market] * D("0.05") for p in positions.values())
        usdc = initial / D(usage) - sum(p.size * PRICES[p.market] for p in positions.values())
    return account_state(Account(usdc=D(usdc), positions=positions), PRICES, MARKETS, t=t)


def health(t: float, state: str) -> StreamHealth:
    return StreamHealth(t=t, stream="v4_orderbook:ETH-USD", rate=1.0, last_age=0.0, messages=1, gaps=0, resyncs=0,
                        crossed=0, errors=0, state=state)


def buy(t: float, size: str, market: str = ETH, side: str = "BUY", client_id: int = 1) -> OrderIntent:
    return OrderIntent(t=t, market=market, side=side, size=D(size), price=D(3000), client_id=client_id)


def engine(*events, config: RiskConfig = USAGE_ONLY) -> RiskEngine:
    risk = RiskEngine(config)
    for event in (info(ETH, oracle="3000"), info(BTC, step="0.0001", oracle="60000"), *events):
        risk.on_event(event)
    return risk


def kinds(out: list) -> list[str]:
    return [type(o).__name__ for o in out]


# -- what each rung does -----------------------------------------------------------------------------


def test_reduce_cancels_everything_then_cuts_the_largest_maintenance_margin_position_once_a_round():
    risk = engine()
    out = risk.on_event(margin(1.0, "0.72", ETH="10", BTC="-0.05"))  # MMR: ETH 900, BTC 90
    assert kinds(out) == ["RiskState", "CancelIntent", "OrderIntent"]
    assert out[0].state == "REDUCE" and out[1] == CancelIntent(1.0, reason=f"REDUCE: {out[0].reason}")
    assert out[2] == OrderIntent(t=1.0, market=ETH, side="SELL", size=D("2.5"), kind="MARKET", time_in_force="IOC",
                                 reduce_only=True, max_slippage=D("0.02"), client_id=RISK_CLIENT_IDS,
                                 reason=f"REDUCE: {out[0].reason}")
    assert risk.on_event(margin(5.0, "0.71", ETH="7.5", BTC="-0.05")) == []  # within the round
    (again,) = risk.on_event(margin(11.0, "0.68", ETH="7.5", BTC="-0.05"))
    assert (again.side, again.size, again.client_id) == ("SELL", D("1.875"), RISK_CLIENT_IDS + 1)


def test_a_reduce_share_is_whole_steps_at_least_one_and_the_whole_position_without_a_step():
    risk = engine()
    (_, _, order) = risk.on_event(margin(1.0, "0.72", ETH="0.002"))
    assert order.size == D("0.001")  # 0.25 · 0.002 floors to 0: one step
    bare = RiskEngine(USAGE_ONLY)
    (_, _, order) = bare.on_event(margin(1.0, "0.72", ETH="0.002"))
    assert order.size == D("0.002")  # no market info: no step to cut by


def test_flatten_closes_every_position_each_round_until_flat():
    risk = engine()
    out = risk.on_event(margin(1.0, "0.9", ETH="10", BTC="-0.05"))
    assert kinds(out) == ["RiskState", "CancelIntent", "OrderIntent", "OrderIntent"]
    assert [(o.market, o.side, o.size, o.reduce_only) for o in out[2:]] == [(ETH, "SELL", D(10), True),
                                                                           (BTC, "BUY", D("0.05"), True)]
    assert risk.on_event(margin(12.0, "0.9", ETH="10")) != []
    (calm,) = risk.on_event(margin(30.0, usdc="500"))  # flat: nothing left to close
    assert calm.state == "NORMAL"


def test_stepping_down_the_ladder_cancels_nothing_and_sends_nothing():
    risk = engine(margin(1.0, "0.72", ETH="10"))
    out = risk.on_event(margin(2.0, "0.45", ETH="10"))
    assert kinds(out) == ["RiskState"] and out[0].state == "NO_NEW_RISK"


# -- what holds new risk -----------------------------------------------------------------------------


def test_unhealthy_data_a_lost_connection_and_a_rejected_order_each_hold_new_risk():
    risk = engine(margin(0.5, "0.1", ETH="1"))
    out = risk.on_event(health(1.0, "stale"))
    assert kinds(out) == ["RiskState", "CancelIntent"] and out[0].state == "NO_NEW_RISK"
    assert risk.on_event(health(2.0, "ok"))[0].state == "NORMAL"

    down = status_frame(3.0, SourceStatus(event="reconnecting", conn=1, reason="closed 1006"))
    assert risk.on_event(down)[0].reason == "disconnected: conn 1 (closed 1006)"
    assert risk.on_event(status_frame(3.5, SourceStatus(event="subscribed", conn=1))) == []
    assert risk.on_event(Frame(t=3.6, kind="ws", data=b"{}")) == []
    assert risk.on_event(status_frame(4.0, SourceStatus(event="connected", conn=1)))[0].state == "NORMAL"

    assert risk.on_event(OrderUpdate(5.0, 7, ETH, "FILLED", D(1))) == []
    (state, _) = risk.on_event(OrderUpdate(6.0, 7, ETH, "REJECTED", reason="post-only order would cross"))
    assert state.reason == "order failed: ETH-USD #7 rejected: post-only order would cross"
    assert risk.on_event(health(66.0, "ok"))[0].state == "NORMAL"  # the pause ran out


# -- the kill switch ---------------------------------------------------------------------------------


def test_the_kill_switch_cancels_flattens_and_halts_until_reset_in_virtual_time():
    scheduler = TestScheduler()
    accounts = scheduler.create_hot_observable(
        ReactiveTest.on_next(210, margin(10.0, "0.2", ETH="1", BTC="0.01")),
        ReactiveTest.on_next(500, margin(50.0, "0.2", ETH="1", BTC="0.01")))
    switch = KillSwitch()
    scheduler.schedule_absolute(300, lambda *_: switch.kill(flatten=True, source="signal"))
    scheduler.schedule_absolute(400, lambda *_: switch.reset(source="ui", t=40.0))
    results = scheduler.start(lambda: reactivex.merge(accounts, switch.commands).pipe(risk_engine(USAGE_ONLY)))
    out = [(m.time, m.value.value) for m in results.messages]
    assert [(time, type(v).__name__) for time, v in out] == [
        (300, "RiskState"), (300, "CancelIntent"), (300, "OrderIntent"), (300, "OrderIntent"), (400, "RiskState")]
    halted = out[0][1]
    assert (halted.t, halted.state, halted.flatten, halted.reason) == (10.0, "HALTED", True,
                                                                        "kill switch (signal, flatten)")
    assert out[1][1] == CancelIntent(10.0, reason="HALTED: kill switch (signal, flatten)")
    assert [(o.market, o.side, o.size) for _, o in out[2:4]] == [(ETH, "SELL", D(1)), (BTC, "SELL", D("0.01"))]
    reset = out[4][1]
    assert (reset.t, reset.state) == (40.0, "NORMAL") and reset.reason.startswith("reset (ui); margin usage 20.0 %")


def test_kill_without_flatten_only_cancels_and_the_daily_loss_limit_pulls_the_switch_itself():
    risk = engine(margin(1.0, "0.2", ETH="1"))
    out = risk.on_event(KillCommand(source="ui"))
    assert kinds(out) == ["RiskState", "CancelIntent"] and out[0].t == 1.0
    assert risk.on_event(ResetCommand(t=2.0))[0].state == "NORMAL"

    limited = engine(margin(1.0, usdc="10000", ETH="1"), config=RiskConfig(daily_loss_limit=D(500)))
    out = limited.on_event(margin(2.0, usdc="9400", ETH="1"))
    assert kinds(out) == ["RiskState", "CancelIntent", "OrderIntent"]
    assert out[0].reason == "daily loss 600.00 USDC >= limit 500 USDC" and out[0].flatten


# -- the gate ----------------------------------------------------------------------------------------


def test_in_normal_the_gate_passes_risk_within_the_limits_and_names_the_limit_it_would_break():
    risk = engine(margin(1.0, usdc="10000", ETH="1"))
    ok = buy(2.0, "2")
    assert risk.on_event(ok) == [ok]
    (blocked,) = risk.on_event(buy(2.0, "13", client_id=2))  # 14 ETH = 42 000 USDC
    assert blocked == IntentBlocked(2.0, ETH, 2, "ETH-USD position 42000 USDC > max 40000 USDC")
    tight = engine(margin(1.0, usdc="-2000", ETH="1"), config=RiskConfig(max_leverage=D(3)))  # equity 1 000
    (blocked,) = tight.on_event(buy(2.0, "0.02", market=BTC))  # (3 000 + 1 200) / 1 000
    assert blocked.reason == "leverage 4.20x > max 3x"


def test_outside_normal_only_what_shrinks_a_position_gets_through():
    risk = engine(margin(1.0, usdc="10000", ETH="2"), health(2.0, "stale"))
    (blocked,) = risk.on_event(buy(3.0, "1"))
    assert blocked.reason == "NO_NEW_RISK: data unhealthy: v4_orderbook:ETH-USD (stale)"
    shrink = buy(3.0, "2", side="SELL")
    assert risk.on_event(shrink) == [shrink]
    (flip,) = risk.on_event(buy(3.0, "5", side="SELL"))
    assert isinstance(flip, IntentBlocked)
    risk.on_event(KillCommand(t=4.0))
    (halted,) = risk.on_event(shrink)
    assert halted.reason == "HALTED: kill switch (ui)"


def test_without_an_account_or_a_price_nothing_new_gets_through():
    risk = RiskEngine(USAGE_ONLY)
    (blocked,) = risk.on_event(buy(1.0, "1"))
    assert blocked.reason == "no account state or ETH-USD oracle price yet"
    risk.on_event(info(BTC, oracle="60000"))
    risk.on_event(margin(2.0, usdc="0"))
    (broke,) = risk.on_event(buy(3.0, "0.01", market=BTC))
    assert broke.reason == "FLATTEN: no equity left"
    assert isinstance(risk.state, RiskState) and risk.state.state == "FLATTEN"


def test_the_kill_switch_stamps_a_command_with_the_latest_frame_the_graph_took():
    from streams.kernel.frames import Frame
    from streams.risk.kill_switch import KillCommand, KillSwitch, ResetCommand

    switch = KillSwitch()
    pulled: list = []
    switch.commands.subscribe(pulled.append)
    switch.kill(source="test")  # before any frame: the risk engine stamps it with what it saw last
    for t in (5.0, 7.5, 6.0):  # a late frame does not move the clock back
        switch.on_frame(Frame(t=t, kind="ws", conn=1, data=b"{}"))
    switch.kill(flatten=True, source="test")
    switch.reset(source="test")
    switch.kill(source="test", t=9.0)
    assert pulled == [KillCommand(False, "test", None), KillCommand(True, "test", 7.5), ResetCommand("test", 7.5),
                      KillCommand(False, "test", 9.0)]
