"""Multi-market targets: each market's signal score becomes a position, and the position an order.

For each scored market, at most once per `rebalance_interval` of event time:
  target notional = score × equity × risk_per_market / volatility over the horizon   (0 in the dead zone)
cut to the tightest of the risk section's max position notional, what max leverage leaves beside the other
positions, and what `max_margin_usage` leaves of the initial margin; under NO_NEW_RISK only toward flat,
and nothing at all from REDUCE up (the risk engine has the account then). The target in whole steps is
always reported as a `Target`; when the position is off it by more than the no-churn rule allows, a market
order goes out (the broker makes it an IOC limit `max_slippage` past the best opposite price), carrying the
margin engine's what-if of the account after it fills, and reduce-only when it only shrinks the position.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

from msgspec import Struct
from reactivex import Observable

from streams.kernel.orders import OrderIntent, WhatIf
from streams.kernel.stage import Stage, lift
from streams.market.state import BookTop, MarketInfo
from streams.risk.account import Account, MarginError, Market, Position
from streams.risk.config import RiskConfig
from streams.risk.ladder import RiskState, severity
from streams.risk.margin import AccountState, PositionState, effective_imf, what_if
from streams.signals.indicators.market import IndicatorSnapshot
from streams.signals.scoring import SignalScore
from streams.strategy.config import StrategyConfig
from streams.strategy.sizing import capped, horizon_volatility, on_step, scaled_notional, toward_zero, worth_trading

ZERO = Decimal(0)


class Target(Struct, frozen=True):
    """What the strategy wants in one market and why: `size` is the position in whole steps, `notional`
    its signed USDC value at the oracle price, `capped_by` the limit that cut it ("" when none did)."""

    t: float
    market: str
    score: float
    volatility: float  # expected move over the horizon, as a fraction of the price
    notional: Decimal
    size: Decimal
    held: Decimal
    capped_by: str


StrategyInput = SignalScore | IndicatorSnapshot | AccountState | MarketInfo | BookTop | RiskState
StrategyOutput = Target | OrderIntent


def account_of(state: AccountState) -> Account:
    """The account behind a margin state, for what-ifs: the balance is the equity less what the positions
    hold. A leverage chosen per market is not part of the state; the markets' own IMFs apply."""
    held = sum((p.notional + p.funding_accrued for p in state.positions), ZERO)
    return Account(usdc=state.equity - held, positions={
        p.market: Position(market=p.market, size=p.size, entry_price=p.entry_price, funding_accrued=p.funding_accrued)
        for p in state.positions})


class Schedule:
    """When the strategy looks at each market next, in event time. The graph shares it with the indicators
    (`indicators(due=schedule.due)`), so that they make only the snapshots the strategy acts on."""

    def __init__(self, config: StrategyConfig) -> None:
        self._markets = config.markets
        self._next: dict[str, float] = {}

    def due(self, market: str, t: float) -> bool:
        return not (self._markets and market not in self._markets) and t >= self._next.get(market, t)

    def looked_at(self, market: str, t: float, interval: float) -> None:
        self._next[market] = t + interval


class TargetStrategy(Stage[StrategyInput, StrategyOutput]):
    """`bar_seconds` is the length of the signal candles (for ATR volatility); `schedule` is its own unless
    one is given to share (one strategy per schedule)."""

    def __init__(self, config: StrategyConfig = StrategyConfig(), risk: RiskConfig = RiskConfig(),
                 bar_seconds: float = 60.0, schedule: Schedule | None = None) -> None:
        self._config = config
        self._risk = risk
        self._bar_seconds = bar_seconds
        self._volatility: dict[str, float] = {}
        self._infos: dict[str, MarketInfo] = {}
        self._books: dict[str, BookTop] = {}
        self._account: AccountState | None = None
        self._state: RiskState | None = None
        self._schedule = schedule or Schedule(config)
        self._client_ids = itertools.count(1)

    def on_event(self, event: StrategyInput) -> list[StrategyOutput]:
        if isinstance(event, SignalScore):
            return self._rebalance(event)
        if isinstance(event, IndicatorSnapshot):
            config = self._config
            volatility = horizon_volatility(event.values, config.volatility, self._bar_seconds, config.horizon)
            if volatility is not None:
                self._volatility[event.market] = volatility
        elif isinstance(event, AccountState):
            self._account = event
        elif isinstance(event, MarketInfo):
            self._infos[event.market] = event
        elif isinstance(event, BookTop):
            self._books[event.market] = event
        elif isinstance(event, RiskState):
            self._state = event
        return []

    def _rebalance(self, score: SignalScore) -> list[StrategyOutput]:
        market, t, config = score.market, score.t, self._config
        account, info, volatility = self._account, self._infos.get(market), self._volatility.get(market)
        if not self._schedule.due(market, t):
            return []
        if account is None or account.equity <= 0 or info is None or info.oracle_price is None or volatility is None:
            return []
        state = "NORMAL" if self._state is None else self._state.state
        if severity(state) >= severity("REDUCE"):
            return []
        self._schedule.looked_at(market, t, config.rebalance_interval)
        price = info.oracle_price
        position = next((p for p in account.positions if p.market == market), None)
        held = ZERO if position is None else position.size
        wanted = scaled_notional(score.score, account.equity, config.risk_per_market, volatility, config.dead_zone)
        notional, capped_by = capped(wanted, self._limits(account, info, price, position))
        if state == "NO_NEW_RISK" and (kept := toward_zero(notional, held * price)) != notional:
            notional, capped_by = kept, state
        size = on_step(notional / price, info.step_size)
        target = Target(t, market, score.score, volatility, notional, size, held, capped_by)
        if not worth_trading(size, held, price, info.step_size, config.min_trade_notional,
                             config.rebalance_threshold):
            return [target]
        order = self._order(t, account, market, size - held, held, target)
        return [target] if order is None else [target, order]

    def _limits(self, account: AccountState, info: MarketInfo, price: Decimal, position: PositionState | None
                ) -> list[tuple[str, Decimal]]:
        """Largest |notional| each limit allows in this market, the other positions as they are."""
        equity = account.equity
        other_gross = sum((abs(p.notional) for p in account.positions), ZERO)
        other_margin = account.initial_margin
        if position is not None:
            other_gross -= abs(position.notional)
            other_margin -= position.initial_margin
            imf = position.imf
        else:
            imf = effective_imf(Market.from_info(info), price)
        return [("max position notional", self._risk.max_position_notional),
                ("max leverage", self._risk.max_leverage * equity - other_gross),
                ("max margin usage", (self._config.max_margin_usage * equity - other_margin) / imf)]

    def _order(self, t: float, account: AccountState, market: str, delta: Decimal, held: Decimal, target: Target
               ) -> OrderIntent | None:
        """A market order (an IOC limit the broker sets `max_slippage` past the best opposite price when it
        acts) from `held` to the target; None when the book has no opposite side or the margin engine cannot
        value the account after it."""
        buy = delta > 0
        book = self._books.get(market)
        if book is None or not (book.asks if buy else book.bids):
            return None
        after = self._what_if(account, market, delta)
        if after is None:
            return None
        reduce_only = abs(held + delta) < abs(held) and (held + delta) * held >= 0
        return OrderIntent(t=t, market=market, side="BUY" if buy else "SELL", size=abs(delta), kind="MARKET",
                           time_in_force="IOC", reduce_only=reduce_only, max_slippage=self._config.max_slippage,
                           client_id=next(self._client_ids), what_if=after,
                           reason=f"target {target.size} ({target.notional:.0f} USDC): score {target.score:+.2f}, "
                                  f"volatility {target.volatility:.2%}"
                                  + (f", capped by {target.capped_by}" if target.capped_by else ""))

    def _what_if(self, account: AccountState, market: str, delta: Decimal) -> WhatIf | None:
        names = {p.market for p in account.positions} | {market}
        try:
            infos = {name: self._infos[name] for name in names}
            prices = {name: info.oracle_price for name, info in infos.items() if info.oracle_price is not None}
            after = what_if(account_of(account), [(market, delta)], prices,
                            {n: Market.from_info(i) for n, i in infos.items()})
        except (KeyError, MarginError):  # a held market without parameters or price, or an isolated-market mix
            return None
        # a trade at the oracle price leaves equity as it was (positive), so margin usage is defined
        assert after.margin_usage is not None
        position = next((p for p in after.positions if p.market == market), None)
        return WhatIf(margin_usage=after.margin_usage, free_collateral=after.free_collateral,
                      liquidation_price=None if position is None else position.liquidation_price)


def targets(config: StrategyConfig = StrategyConfig(), risk: RiskConfig = RiskConfig(), bar_seconds: float = 60.0,
            schedule: Schedule | None = None) -> Callable[[Observable[StrategyInput]], Observable[StrategyOutput]]:
    """The operator: scores, indicator snapshots, margin states, market infos, books and risk states in;
    targets and order intents out (route the intents through the risk engine's gate). A shared `schedule`
    is for one subscription (as the graph's, which is shared); without, each subscription starts fresh."""
    return lift(lambda: TargetStrategy(config, risk, bar_seconds, schedule))
