"""The multi-market strategy: scores to targets, caps, the no-churn and no-new-risk rules, and orders that
carry the margin engine's what-if - on real margin states."""

from __future__ import annotations

from decimal import Decimal as D

from reactivex.testing import ReactiveTest, TestScheduler

from streams.kernel.orders import OrderIntent, OrderUpdate, WhatIf
from streams.market.state import BookTop, MarketInfo
from streams.risk.account import Account, Market, Position
from streams.risk.config import RiskConfig
from streams.risk.ladder import RiskState
from streams.risk.margin import AccountState, account_state
from streams.signals.indicators.market import IndicatorSnapshot
from streams.signals.scoring import SignalScore
from streams.strategy.config import StrategyConfig
from streams.strategy.targets import Target, TargetStrategy, account_of, targets
from tests.support.builders import market_info

ETH, BTC = "ETH-USD", "BTC-USD"
# volatility = ATR / close with the horizon one bar long: 120 / 3000 = 4 %
CONFIG = StrategyConfig(horizon=60.0)


def info(market: str = ETH, oracle: str | None = "3000", market_type: str = "CROSS", status: str = "ACTIVE"
         ) -> MarketInfo:
    return market_info(market, oracle_price=oracle, market_type=market_type, status=status)


def book(market: str = ETH, bid: str = "2999.9", ask: str = "3000.1") -> BookTop:
    return BookTop(t=0.0, market=market, bids=((D(bid), D(10)),), asks=((D(ask), D(10)),), mid=None, spread=None,
                   imbalance=None)


def snapshot(t: float = 0.0, market: str = ETH, atr: float | None = 120.0) -> IndicatorSnapshot:
    return IndicatorSnapshot(t=t, market=market, closed=True, values={"atr": atr, "close": 3000.0, "volatility": None})


def margin(usdc: str = "10000", t: float = 0.0, **sizes: str) -> AccountState:
    names = {"ETH": ETH, "BTC": BTC}
    positions = {names[k]: Position(market=names[k], size=D(v), entry_price=D(3000)) for k, v in sizes.items()}
    markets = {name: Market(ticker=name, imf=D("0.05"), mmf=D("0.03")) for name in positions}
    return account_state(Account(usdc=D(usdc), positions=positions), {name: D(3000) for name in positions}, markets,
                         t=t)


def score(t: float, value: float, market: str = ETH) -> SignalScore:
    return SignalScore(t=t, market=market, closed=True, score=value, contributors=())


def risk_state(state: str) -> RiskState:
    return RiskState(0.0, state, "test", "NORMAL")


def strategy(*events, config: StrategyConfig = CONFIG, risk: RiskConfig = RiskConfig()) -> TargetStrategy:
    stage = TargetStrategy(config, risk, bar_seconds=60.0)
    for event in (info(), book(), snapshot(), *events):
        assert stage.on_event(event) == []
    return stage


def test_a_score_becomes_a_volatility_scaled_target_and_an_ioc_order_with_its_what_if():
    out = strategy(margin()).on_event(score(10.0, 0.6))
    target, order = out
    # 0.6 · 10 000 · 2 % / 4 % = 3 000 USDC = 1 ETH
    assert target == Target(10.0, ETH, 0.6, 0.04, D(3000), D(1), D(0), "")
    assert isinstance(order, OrderIntent)
    assert (order.t, order.side, order.size, order.kind, order.time_in_force, order.max_slippage, order.reduce_only,
            order.client_id) == (10.0, "BUY", D(1), "MARKET", "IOC", D("0.002"), False, 1)
    # after buying 1 ETH at the oracle: IMR 150 of 10 000; a long at 1x has no liquidation price
    assert order.what_if == WhatIf(margin_usage=D("0.015"), free_collateral=D(9850), liquidation_price=None)
    assert order.reason == "target 1.000 (3000 USDC): score +0.60, volatility 4.00%"


def test_every_limit_can_be_the_one_that_caps_the_target():
    cases = [(RiskConfig(max_position_notional=D(2000)), CONFIG, "max position notional", D("0.666")),
             (RiskConfig(max_leverage=D("0.1")), CONFIG, "max leverage", D("0.333")),
             (RiskConfig(), StrategyConfig(horizon=60.0, max_margin_usage=D("0.01")), "max margin usage", D("0.666"))]
    for risk, config, limit, size in cases:
        target, order = strategy(margin(), config=config, risk=risk).on_event(score(10.0, 0.6))
        assert (target.capped_by, target.size, order.size) == (limit, size, size)
        assert order.reason.endswith(f"capped by {limit}")


def test_limits_count_the_other_positions_as_they_are():
    stage = strategy(info(BTC), margin("5000", BTC="1"), risk=RiskConfig(max_leverage=D("0.5")))
    target, order = stage.on_event(score(10.0, -0.6))
    # equity 8 000, leverage room 4 000 - 3 000 (BTC) = 1 000 USDC
    assert (target.notional, target.size, target.capped_by) == (D(-1000), D("-0.333"), "max leverage")
    assert order.side == "SELL"


def test_small_corrections_are_not_traded_and_markets_wait_their_interval():
    stage = strategy(margin("7000", ETH="1"))
    (target,) = stage.on_event(score(10.0, 0.65))  # 1.083 wanted vs 1 held: under the threshold
    assert (target.size, target.held) == (D("1.083"), D(1))
    assert stage.on_event(score(30.0, -1.0)) == []  # 60 s must pass
    target, order = stage.on_event(score(70.0, -1.0))
    assert (target.size, order.side, order.size, order.reduce_only) == (D("-1.666"), "SELL", D("2.666"), False)


def test_the_dead_zone_closes_the_position_with_a_reduce_only_order():
    target, order = strategy(margin("7000", ETH="1")).on_event(score(10.0, 0.05))
    assert (target.size, order.side, order.size, order.reduce_only) == (D(0), "SELL", D(1), True)


def test_no_new_risk_only_lets_positions_shrink_and_reduce_stops_the_strategy():
    stage = strategy(margin("7000", ETH="1"), risk_state("NO_NEW_RISK"))
    (target,) = stage.on_event(score(10.0, 1.0))
    assert (target.size, target.capped_by) == (D(1), "NO_NEW_RISK")
    target, order = stage.on_event(score(70.0, -0.6))  # wants -1: may only go flat
    assert (target.size, target.capped_by, order.side, order.size, order.reduce_only) == (
        D(0), "NO_NEW_RISK", "SELL", D(1), True)
    stage.on_event(risk_state("REDUCE"))
    assert stage.on_event(score(200.0, -0.6)) == []


def test_nothing_is_decided_without_the_data_to_decide_it():
    assert TargetStrategy(CONFIG).on_event(score(1.0, 0.6)) == []  # nothing at all
    assert TargetStrategy(CONFIG).on_event(OrderUpdate(1.0, 1, ETH, "FILLED")) == []  # not an input it reads
    assert strategy().on_event(score(1.0, 0.6)) == []  # no account
    assert strategy(margin(), snapshot(atr=None), config=CONFIG).on_event(score(1.0, 0.6, market=BTC)) == []
    no_price = TargetStrategy(CONFIG)
    for event in (info(oracle=None), snapshot(), margin()):
        no_price.on_event(event)
    assert no_price.on_event(score(1.0, 0.6)) == []
    assert strategy(margin("0")).on_event(score(1.0, 0.6)) == []  # no equity
    only_btc = strategy(margin(), config=StrategyConfig(horizon=60.0, markets=(BTC,)))
    assert only_btc.on_event(score(1.0, 0.6)) == []


def test_without_a_book_or_a_valuable_what_if_there_is_a_target_but_no_order():
    bare = TargetStrategy(CONFIG, bar_seconds=60.0)
    for event in (info(), snapshot(), margin()):
        bare.on_event(event)
    assert [type(out).__name__ for out in bare.on_event(score(1.0, 0.6))] == ["Target"]
    one_sided = strategy(margin(), BookTop(t=0.0, market=ETH, bids=((D(2999), D(1)),), asks=(), mid=None,
                                           spread=None, imbalance=None))
    assert [type(out).__name__ for out in one_sided.on_event(score(1.0, 0.6))] == ["Target"]  # nothing to buy
    # an isolated market cannot join a subaccount that holds another position (dYdX error 2005)
    isolated = strategy(info(BTC, market_type="ISOLATED"), book(BTC), snapshot(market=BTC), margin("7000", ETH="1"))
    assert [type(out).__name__ for out in isolated.on_event(score(1.0, 0.6, market=BTC))] == ["Target"]
    # a held market the strategy has no parameters for cannot be valued
    unknown = strategy(margin("7000", BTC="1"))
    assert [type(out).__name__ for out in unknown.on_event(score(1.0, 0.6))] == ["Target"]


def test_the_account_behind_a_margin_state_is_rebuilt_exactly():
    account = Account(usdc=D("-2500.5"), positions={ETH: Position(market=ETH, size=D("1.5"), entry_price=D(2900)),
                                                     BTC: Position(market=BTC, size=D("-0.1"), entry_price=D(3100))})
    markets = {name: Market(ticker=name, imf=D("0.05"), mmf=D("0.03")) for name in (ETH, BTC)}
    state = account_state(account, {ETH: D(3000), BTC: D(3050)}, markets)
    assert account_of(state) == account


def test_the_strategy_runs_as_a_stream_in_virtual_time_and_twice_the_same():
    def run() -> list:
        scheduler = TestScheduler()
        on_next = ReactiveTest.on_next
        inputs = scheduler.create_hot_observable(
            on_next(201, info()), on_next(202, book()), on_next(203, snapshot()), on_next(204, margin()),
            on_next(210, score(10.0, 0.6)), on_next(220, score(20.0, -0.6)), on_next(300, score(80.0, -0.6)))
        results = scheduler.start(lambda: inputs.pipe(targets(CONFIG, RiskConfig(), 60.0)))
        return [(m.time, m.value.value) for m in results.messages]

    first = run()
    assert [(time, type(value).__name__) for time, value in first] == [
        (210, "Target"), (210, "OrderIntent"), (300, "Target"), (300, "OrderIntent")]
    assert [value.client_id for _, value in first if isinstance(value, OrderIntent)] == [1, 2]
    assert first == run()
