"""dYdX v4 margin: requirements, free collateral, liquidation prices and funding for one subaccount, and
the operator that keeps them current as oracle prices, positions and fills change.

The rules are the chain's (dydx-reference.md §6-7): net collateral `NC = Q + Σ s·P`, initial margin
`|s|·P·IMF_eff`, maintenance margin `|s|·P·MMF`, liquidatable when `NC < ΣMMR`. The Indexer's
`freeCollateral` uses the base IMF (no open-interest scaling, no chosen leverage); the chain and the front
end use the effective one, so both are reported. Nothing is rounded: the chain rounds requirements up to
whole quote quantums (1e-6 USDC), the Indexer does not, and reproducing the Indexer exactly is the test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from msgspec import Struct
from reactivex import Observable

from streams.kernel import rx
from streams.kernel.stage import NOTHING, Stage, lift
from streams.market import events as ev
from streams.market.state import MarketInfo
from streams.risk.account import (
    ZERO,
    Account,
    AccountSnapshot,
    MarginError,
    Market,
    account_from_subaccount,
    accounts_of_parent,
    apply_parent_update,
    apply_trade,
    apply_update,
    isolation_conflict,
    parent_of,
)

ONE = Decimal(1)
HUNDRED = Decimal(100)


class PositionState(Struct, frozen=True, rename="camel"):
    """One position valued at the oracle price. Fractions are plain (0.05 = 5 %) except
    `distance_to_liquidation_pct`, which is in percent of the oracle price."""

    market: str
    size: Decimal
    entry_price: Decimal | None
    oracle_price: Decimal
    notional: Decimal  # s·P, signed
    unrealized_pnl: Decimal | None
    margin_mode: str  # "CROSS" | "ISOLATED"
    imf: Decimal  # effective: open-interest scaled, at least 1/leverage when a leverage is set
    initial_margin: Decimal
    mmf: Decimal
    maintenance_margin: Decimal
    liquidation_price: Decimal | None  # None: no positive price liquidates the account
    distance_to_liquidation_pct: Decimal | None
    distance_to_liquidation_atr: Decimal | None  # None unless an ATR of the market is known
    funding_per_hour: Decimal | None  # received (+) or paid (−) at the current hourly rate
    funding_accrued: Decimal


class AccountState(Struct, frozen=True, rename="camel"):
    """The margin state of one subaccount at event time `t`. `free_collateral` is the chain's rule
    (effective IMF), `free_collateral_indexer` the Indexer's (base IMF). Usage and leverage are None
    when the account has no equity."""

    t: float
    equity: Decimal
    free_collateral: Decimal
    free_collateral_indexer: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    margin_usage: Decimal | None  # ΣIMR / NC
    leverage: Decimal | None  # Σ|s·P| / NC
    liquidatable: bool
    positions: tuple[PositionState, ...]


# ---------------------------------------------------------------------------------------------------
# The math


def effective_imf(market: Market, price: Decimal, leverage: Decimal | None = None) -> Decimal:
    """The initial margin fraction the chain applies: the base IMF raised linearly to 1 as the market's
    open notional `OI·P` goes from the lower to the upper cap, and at least `1/leverage` when the owner
    set a leverage for this market."""
    imf = market.imf
    upper, lower = market.open_interest_upper_cap, market.open_interest_lower_cap
    if upper:
        notional = market.open_interest * price
        if notional >= upper:
            imf = ONE
        elif notional > lower:
            imf += (ONE - imf) * (notional - lower) / (upper - lower)
    if leverage:
        imf = max(imf, ONE / leverage)
    return imf


def imr(size: Decimal, price: Decimal, imf: Decimal) -> Decimal:
    """Initial margin requirement of a position, at its effective IMF."""
    return abs(size) * price * imf


def mmr(size: Decimal, price: Decimal, mmf: Decimal) -> Decimal:
    """Maintenance margin requirement of a position."""
    return abs(size) * price * mmf


def liquidation_price(equity: Decimal, size: Decimal, price: Decimal, mmf: Decimal,
                      other_mmr: Decimal = ZERO) -> Decimal | None:
    """The oracle price of this position's market at which the account's net collateral falls to its
    maintenance requirement, other positions held at their prices: `(e − s·P − MMR_o) / (|s|·MMF − s)`.

    An isolated position is alone in its subaccount, so `other_mmr` is 0 and `equity` is that
    subaccount's. None when no positive price gets there.
    """
    denominator = abs(size) * mmf - size
    if not denominator:
        return None
    liquidation = (equity - size * price - other_mmr) / denominator
    return liquidation if liquidation > 0 else None


def funding_payment(size: Decimal, oracle_price: Decimal, hourly_rate: Decimal) -> Decimal:
    """Funding one hour brings a position: longs pay when the rate is positive, shorts receive."""
    return -size * oracle_price * hourly_rate


def _market_and_price(name: str, prices: Mapping[str, Decimal], markets: Mapping[str, Market]
                      ) -> tuple[Market, Decimal]:
    if name not in markets:
        raise MarginError(f"no market parameters for {name}")
    if name not in prices:
        raise MarginError(f"no oracle price for {name}")
    return markets[name], prices[name]


def liquidatable(account: Account, prices: Mapping[str, Decimal], markets: Mapping[str, Market]) -> bool:
    """`account_state(account, prices, markets).liquidatable` without valuing each position: the same two
    sums (net collateral, ΣMMR) in the same order, so the answer is the same to the last digit. The paper
    broker tests this on every held market's oracle tick and values the account only when it is true."""
    equity = account.usdc
    total_mmr = ZERO
    for position in account.positions.values():
        market, price = _market_and_price(position.market, prices, markets)
        equity += position.size * price + position.funding_accrued
        total_mmr += mmr(position.size, price, market.mmf)
    return total_mmr > 0 and equity < total_mmr


def account_state(account: Account, prices: Mapping[str, Decimal], markets: Mapping[str, Market], *,
                  atr: Mapping[str, Decimal] | None = None, t: float = 0.0) -> AccountState:
    """Everything about the account at these oracle prices. `atr` (per market, in price units) adds the
    distance to liquidation in ATRs."""
    valued = []  # (position, market, price, notional, imf, imr, mmr)
    equity = account.usdc
    total_imr = total_imr_indexer = total_mmr = gross = ZERO
    for position in account.positions.values():
        market, price = _market_and_price(position.market, prices, markets)
        notional = position.size * price
        imf = effective_imf(market, price, account.leverage.get(position.market))
        position_imr = imr(position.size, price, imf)
        position_mmr = mmr(position.size, price, market.mmf)
        equity += notional + position.funding_accrued
        total_imr += position_imr
        total_imr_indexer += imr(position.size, price, market.imf)
        total_mmr += position_mmr
        gross += abs(notional)
        valued.append((position, market, price, notional, imf, position_imr, position_mmr))

    rows = []
    for position, market, price, notional, imf, position_imr, position_mmr in valued:
        liquidation = liquidation_price(equity, position.size, price, market.mmf, total_mmr - position_mmr)
        distance = None if liquidation is None else abs(price - liquidation)
        market_atr = (atr or {}).get(market.ticker)
        rows.append(PositionState(
            market=market.ticker,
            size=position.size,
            entry_price=position.entry_price,
            oracle_price=price,
            notional=notional,
            unrealized_pnl=None if position.entry_price is None
            else position.size * (price - position.entry_price),
            margin_mode="ISOLATED" if account.isolated or market.isolated else "CROSS",
            imf=imf,
            initial_margin=position_imr,
            mmf=market.mmf,
            maintenance_margin=position_mmr,
            liquidation_price=liquidation,
            distance_to_liquidation_pct=None if distance is None else distance / price * HUNDRED,
            distance_to_liquidation_atr=None if distance is None or not market_atr else distance / market_atr,
            funding_per_hour=None if market.funding_rate is None else funding_payment(
                position.size, price, market.funding_rate),
            funding_accrued=position.funding_accrued,
        ))
    has_equity = equity > 0
    return AccountState(
        t=t,
        equity=equity,
        free_collateral=equity - total_imr,
        free_collateral_indexer=equity - total_imr_indexer,
        initial_margin=total_imr,
        maintenance_margin=total_mmr,
        margin_usage=total_imr / equity if has_equity else None,
        leverage=gross / equity if has_equity else None,
        liquidatable=total_mmr > 0 and equity < total_mmr,
        positions=tuple(rows),
    )


def parent_account_state(accounts: Mapping[int, Account], prices: Mapping[str, Decimal],
                         markets: Mapping[str, Market], *, atr: Mapping[str, Decimal] | None = None,
                         t: float = 0.0) -> AccountState:
    """A parent subaccount and its children as one account view. Each subaccount is valued on its own
    collateral, so an isolated position's liquidation price depends on its child's equity only, and the
    cross positions' on the parent's only. Equity, free collateral and requirements are summed (as the
    Indexer sums them); margin usage and `liquidatable` are the worst subaccount's, since each one is
    margined and liquidated alone; positions are listed parent first, then children by number."""
    states = [account_state(accounts[number], prices, markets, atr=atr, t=t) for number in sorted(accounts)]
    if len(states) == 1:
        return states[0]
    equity = sum((state.equity for state in states), ZERO)
    gross = sum((abs(row.notional) for state in states for row in state.positions), ZERO)
    usages = [state.margin_usage for state in states if state.margin_usage is not None]
    return AccountState(
        t=t,
        equity=equity,
        free_collateral=sum((state.free_collateral for state in states), ZERO),
        free_collateral_indexer=sum((state.free_collateral_indexer for state in states), ZERO),
        initial_margin=sum((state.initial_margin for state in states), ZERO),
        maintenance_margin=sum((state.maintenance_margin for state in states), ZERO),
        margin_usage=max(usages) if usages else None,
        leverage=gross / equity if equity > 0 else None,
        liquidatable=any(state.liquidatable for state in states),
        positions=tuple(row for state in states for row in state.positions),
    )


def what_if(account: Account, trades: Iterable[tuple[str, Decimal]], prices: Mapping[str, Decimal],
            markets: Mapping[str, Market], *, atr: Mapping[str, Decimal] | None = None) -> AccountState:
    """The state after hypothetical trades `(market, signed size)` filled at the oracle price without
    fees (the market's open interest is kept as it is). Raises `MarginError` for a market without a
    price or parameters, or a mix of positions the chain would refuse."""
    for market, size in trades:
        _, price = _market_and_price(market, prices, markets)
        account = apply_trade(account, market, size, price)
    if conflict := isolation_conflict(account, markets):
        raise MarginError(conflict)
    return account_state(account, prices, markets, atr=atr)


# ---------------------------------------------------------------------------------------------------
# The stream


class MarketAtr(Struct, frozen=True):
    """A market's average true range (price units) at event time `t`: distances to liquidation in ATRs."""

    t: float
    market: str
    atr: Decimal


class MarginTracker:
    """The latest markets, prices and account; each `on_*` returns the new state when it changed, or None.

    A price or parameter change of a market the account does not hold changes nothing and costs a dict
    write; a state is computed only once every held market has parameters and a price.
    """

    def __init__(self, leverage: Mapping[str, Decimal] | None = None) -> None:
        self._leverage = dict(leverage or {})
        self._markets: dict[str, Market] = {}
        self._prices: dict[str, Decimal] = {}
        self._atr: dict[str, Decimal] = {}
        self._account: Account | None = None
        self._family: dict[int, Account] | None = None  # a v4_parent_subaccounts view, by subaccount number
        self._parent = 0
        self._t = 0.0  # time of the latest event, for inputs that carry none (ATR pairs)

    def on_market(self, info: MarketInfo) -> AccountState | None:
        self._t = info.t
        market = Market.from_info(info)
        name = info.market
        unchanged = self._markets.get(name) == market and self._prices.get(name) == info.oracle_price
        self._markets[name] = market
        if info.oracle_price is not None:
            self._prices[name] = info.oracle_price
        return None if unchanged else self._state_if_held(name, info.t)

    def on_atr(self, atr: MarketAtr) -> AccountState | None:
        changed = self._atr.get(atr.market) != atr.atr
        self._atr[atr.market] = atr.atr
        self._t = max(self._t, atr.t)
        return self._state_if_held(atr.market, self._t) if changed else None

    def on_account_event(self, event: Any) -> AccountState | None:
        """Takes a v4_subaccounts or v4_parent_subaccounts snapshot or update event or an `AccountSnapshot`
        (the paper broker's); ignores anything else."""
        self._t = getattr(event, "t", self._t)
        if isinstance(event, (ev.Subscribed, ev.ChannelData, ev.ChannelBatchData)) \
                and event.channel == "v4_parent_subaccounts":
            return self._on_family_event(event)
        account = self._account
        if isinstance(event, AccountSnapshot):
            account = event.account
        elif isinstance(event, ev.Subscribed) and isinstance(event.contents, ev.SubaccountSnapshot):
            account = account_from_subaccount(event.contents.subaccount, self._leverage)
        elif isinstance(event, (ev.ChannelData, ev.ChannelBatchData)) and account is not None:
            updates = event.contents if isinstance(event, ev.ChannelBatchData) else [event.contents]
            for update in updates:
                if isinstance(update, ev.SubaccountUpdate):
                    account = apply_update(account, update)
        if account is None or account == self._account:
            return None
        self._account = account
        return self._state(self._t)

    def _on_family_event(self, event: ev.Subscribed | ev.ChannelData | ev.ChannelBatchData
                         ) -> AccountState | None:
        family = self._family
        if isinstance(event, ev.Subscribed):
            if not isinstance(event.contents, ev.ParentSubaccountSnapshot):
                return None
            parent = event.contents.subaccount
            self._parent = parent_of(parent.parentSubaccountNumber)
            family = accounts_of_parent(parent, self._leverage)
        elif family is not None:
            updates = event.contents if isinstance(event, ev.ChannelBatchData) else [event.contents]
            number = event.subaccountNumber if event.subaccountNumber is not None else self._parent
            for update in updates:
                if isinstance(update, ev.SubaccountUpdate):
                    family = apply_parent_update(family, update, number)
        if family is None or family == self._family:
            return None
        self._family = family
        return self._state(self._t)

    def _accounts(self) -> list[Account]:
        if self._family is not None:
            return list(self._family.values())
        return [] if self._account is None else [self._account]

    def _state_if_held(self, market: str, t: float) -> AccountState | None:
        if not any(market in account.positions for account in self._accounts()):
            return None
        return self._state(t)

    def _state(self, t: float) -> AccountState | None:
        held = [name for account in self._accounts() for name in account.positions]
        if not all(name in self._markets and name in self._prices for name in held):
            return None
        if self._family is not None:
            return parent_account_state(self._family, self._prices, self._markets, atr=self._atr, t=t)
        if self._account is None:
            return None
        return account_state(self._account, self._prices, self._markets, atr=self._atr, t=t)


def margin_states(markets: Observable[MarketInfo], account_events: Observable[Any], *,
                  leverage: Mapping[str, Decimal] | None = None,
                  atr: Observable[MarketAtr] | None = None) -> Observable[AccountState]:
    """The account's margin state after every change of a held market's oracle price or parameters, of
    its positions or balance, or of a held market's ATR.

    `account_events` carries one subaccount's v4_subaccounts events (`channel("v4_subaccounts", id)`),
    or one parent's v4_parent_subaccounts events (the parent and its isolated children, see
    `parent_account_state`), or the paper broker's `AccountSnapshot`s; `atr` carries each market's
    `MarketAtr` as it changes. Each subscription tracks its own state; all inputs arrive on one thread (the graph's).
    """

    sources: list[Observable[Any]] = [markets, account_events] if atr is None else [markets, account_events, atr]
    return rx.merge(*sources).pipe(lift(lambda: MarginStates(leverage)))


class MarginStates(Stage[Any, AccountState]):
    """`MarginTracker` as a stage over the merged inputs of `margin_states`, told apart by type: a
    `MarketInfo`, a `MarketAtr`, or else an account event (which it ignores when it is none)."""

    def __init__(self, leverage: Mapping[str, Decimal] | None) -> None:
        self._tracker = MarginTracker(leverage)

    def on_event(self, event: Any) -> Iterable[AccountState]:
        if isinstance(event, MarketInfo):
            state = self._tracker.on_market(event)
        elif isinstance(event, MarketAtr):
            state = self._tracker.on_atr(event)
        else:
            state = self._tracker.on_account_event(event)
        return NOTHING if state is None else (state,)
