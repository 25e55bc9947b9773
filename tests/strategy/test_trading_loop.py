"""Layers 5-7 wired as the app wires them, in virtual time: scores -> strategy -> risk gate -> paper broker
-> margin engine -> back to the strategy and the risk engine. The oracle falls until the ladder reduces,
then the kill switch flattens: every decision shows up as an event, and two runs give the same events."""

from __future__ import annotations

from decimal import Decimal as D

import reactivex
from reactivex import operators as ops
from reactivex.scheduler import CurrentThreadScheduler
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler

from streams.execution.paper_broker import PaperBroker, PaperConfig
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderUpdate
from streams.market.state import BookTop, MarketInfo
from streams.risk.config import RiskConfig
from streams.risk.derisk import IntentBlocked, risk_engine
from streams.risk.kill_switch import KillSwitch
from streams.risk.ladder import RiskState
from streams.risk.margin import AccountState, margin_states
from streams.signals.indicators.market import IndicatorSnapshot
from streams.signals.scoring import SignalScore
from streams.strategy.config import StrategyConfig
from streams.strategy.targets import Target, targets
from tests.support.builders import market_info

ETH = "ETH-USD"
on_next = ReactiveTest.on_next


def info(t: float, oracle: str) -> MarketInfo:
    return market_info(ETH, t, oracle_price=oracle)


def book(t: float, mid: str) -> BookTop:
    price = D(mid)
    return BookTop(t=t, market=ETH, bids=((price - D("0.1"), D(5)), (price - D("0.2"), D(5))),
                   asks=((price + D("0.1"), D(5)), (price + D("0.2"), D(5))), mid=price, spread=D("0.2"),
                   imbalance=0.0)


def market_at(t: float, price: str) -> list:
    return [book(t, price), info(t, price)]


def run() -> list:
    scheduler = TestScheduler()
    timeline = [
        *market_at(1.0, "3000"),
        IndicatorSnapshot(t=2.0, market=ETH, closed=True, values={"atr": 120.0, "close": 3000.0}),
        SignalScore(t=10.0, market=ETH, closed=True, score=0.6, contributors=()),
        *market_at(20.0, "2900"),  # nearest liquidation 14.7 % away: NO_NEW_RISK
        *market_at(30.0, "2690"),  # 8.0 % away: REDUCE, a quarter of the position goes
        *market_at(45.0, "2690"),
    ]
    # each event reaches every subscriber before an order it causes is acted on (see PaperBroker)
    market = scheduler.create_hot_observable(*[on_next(200 + i, event) for i, event in enumerate(timeline)]).pipe(
        ops.observe_on(CurrentThreadScheduler.singleton()), ops.share())
    switch = KillSwitch()
    scheduler.schedule_absolute(400, lambda *_: switch.kill(flatten=True, source="ui"))

    broker = PaperBroker(market.pipe(ops.filter(lambda e: isinstance(e, (BookTop, MarketInfo)))),
                         PaperConfig(starting_usdc=D(250)))
    margin = margin_states(market.pipe(ops.filter(lambda e: isinstance(e, MarketInfo))), broker.accounts).pipe(
        ops.share())
    risk_states: Subject[RiskState] = Subject()
    decisions = reactivex.merge(market, margin, risk_states).pipe(
        targets(StrategyConfig(horizon=60.0, risk_per_market=D(1)), RiskConfig(), bar_seconds=60.0), ops.share())
    risk = reactivex.merge(
        margin, broker.events, switch.commands, market.pipe(ops.filter(lambda e: isinstance(e, MarketInfo))),
        decisions.pipe(ops.filter(lambda e: isinstance(e, OrderIntent)))).pipe(risk_engine(RiskConfig()), ops.share())

    seen: list = []
    for stream in (decisions.pipe(ops.filter(lambda e: isinstance(e, Target))), risk, broker.events, margin):
        stream.subscribe(seen.append)
    risk.pipe(ops.filter(lambda e: isinstance(e, RiskState))).subscribe(risk_states)
    risk.pipe(ops.filter(lambda e: isinstance(e, OrderIntent))).subscribe(broker.submit)
    risk.pipe(ops.filter(lambda e: isinstance(e, CancelIntent))).subscribe(broker.cancel)
    scheduler.start()
    return seen


def test_the_loop_buys_on_the_score_reduces_on_the_ladder_and_flattens_on_the_kill_switch():
    seen = run()
    states = [(s.t, s.state) for s in seen if isinstance(s, RiskState)]
    # reducing a quarter takes the nearest liquidation from 8.0 % to 11.7 % away: past REDUCE's exit
    assert states == [(20.0, "NO_NEW_RISK"), (30.0, "REDUCE"), (30.0, "NO_NEW_RISK"), (45.0, "HALTED")]

    (target,) = [e for e in seen if isinstance(e, Target)]
    assert (target.size, target.capped_by) == (D("0.416"), "max leverage")  # 5x of 250 USDC

    fills = [(f.t, f.side, f.size, f.price) for f in seen if isinstance(f, Fill)]  # the best price, each time
    assert fills == [(10.0, "BUY", D("0.416"), D("3000.1")),
                     (30.0, "SELL", D("0.104"), D("2689.9")),  # REDUCE: a quarter
                     (45.0, "SELL", D("0.312"), D("2689.9"))]  # the kill switch: the rest
    assert [u.status for u in seen if isinstance(u, OrderUpdate)] == ["FILLED", "FILLED", "FILLED"]
    assert not any(isinstance(e, IntentBlocked) for e in seen)

    accounts = [a for a in seen if isinstance(a, AccountState)]
    # in event order for every subscriber: the account after a fill never comes before the price that caused it
    assert [sum((p.size for p in a.positions), D(0)) for a in accounts] == [
        0, D("0.416"), D("0.416"), D("0.416"), D("0.312"), 0]
    assert accounts[-1].positions == () and accounts[-1].margin_usage == 0
    # what the broker's account lost is fees and the price move, nothing else
    paid = sum(f.size * f.price * (1 if f.side == "BUY" else -1) + f.fee for f in seen if isinstance(f, Fill))
    assert accounts[-1].equity == D(250) - paid

    (intent,) = [e for e in seen if isinstance(e, OrderIntent) and e.client_id == 1]
    assert intent.what_if is not None and intent.what_if.liquidation_price is not None


def test_the_loop_is_deterministic():
    assert run() == run()
