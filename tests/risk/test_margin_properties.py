"""Properties of the margin math over random accounts (1-3 positions, random tiers, open-interest caps,
chosen leverage, funding accrued): the identities hold, every liquidation price puts the account exactly
at maintenance, the paper broker's cheap liquidation test agrees with the full valuation, and margin usage
never falls as a position grows."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from streams.risk.account import Account, Market, Position, apply_trade
from streams.risk.margin import account_state, liquidatable

NAMES = ("AAA-USD", "BBB-USD", "CCC-USD")
TOLERANCE = D("1e-22")  # relative to the account's gross size; Decimal keeps 28 digits


def decimals(low: int, high: int, places: int):
    return st.integers(low, high).map(lambda n: D(n).scaleb(-places))


@st.composite
def markets(draw):
    result = {}
    for name in NAMES:
        imf = draw(decimals(10, 500, 3))  # 0.01 .. 0.5
        capped = draw(st.booleans())
        lower = draw(decimals(0, 10**7, 0)) if capped else D(0)
        result[name] = Market(name, imf=imf, mmf=imf * draw(decimals(3, 9, 1)),  # maintenance fraction .3-.9
                              open_interest=draw(decimals(0, 10**6, 2)), open_interest_lower_cap=lower,
                              open_interest_upper_cap=lower + draw(decimals(1, 10**7, 0)) if capped else D(0))
    return result


@st.composite
def accounts(draw):
    held = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    positions = {name: Position(name, draw(decimals(-10**6, 10**6, 4).filter(bool)), None,
                                draw(decimals(-10**4, 10**4, 2))) for name in held}
    leverage = {name: draw(decimals(1, 50, 0)) for name in held if draw(st.booleans())}
    return Account(usdc=draw(decimals(-10**9, 10**9, 6)), positions=positions, leverage=leverage)


prices = st.fixed_dictionaries({name: decimals(1, 10**8, 4) for name in NAMES})


@settings(max_examples=200, deadline=None)
@given(accounts(), prices, markets())
def test_identities(account, prices, markets):
    state = account_state(account, prices, markets)
    positions = account.positions.values()
    equity = account.usdc + sum(p.size * prices[p.market] + p.funding_accrued for p in positions)
    assert state.equity == equity
    assert state.free_collateral == state.equity - state.initial_margin
    assert state.free_collateral_indexer == state.equity - sum(
        abs(p.size) * prices[p.market] * markets[p.market].imf for p in positions)
    assert state.free_collateral <= state.free_collateral_indexer  # the chain's IMF is never below the base
    assert state.maintenance_margin <= state.initial_margin
    assert state.liquidatable == (state.equity < state.maintenance_margin)
    if state.equity > 0:
        assert state.margin_usage == state.initial_margin / state.equity


@settings(max_examples=300, deadline=None)
@given(accounts(), prices, markets())
def test_liquidation_price_is_exactly_at_maintenance(account, prices, markets):
    state = account_state(account, prices, markets)
    gross = abs(account.usdc) + sum(abs(p.size) for p in account.positions.values()) * max(prices.values())
    for position in state.positions:
        if position.liquidation_price is None:
            continue
        at_liq = account_state(account, {**prices, position.market: position.liquidation_price}, markets)
        scale = gross + abs(position.size) * position.liquidation_price
        assert abs(at_liq.equity - at_liq.maintenance_margin) <= TOLERANCE * scale


@settings(max_examples=300, deadline=None)
@given(accounts(), prices, markets())
def test_the_cheap_liquidation_test_agrees_with_the_valuation(account, prices, markets):
    """At the drawn prices and at every position's liquidation price and one tick either side of it
    (where rounding would show), with and without the positions' accrued funding."""
    state = account_state(account, prices, markets)
    cases = [prices]
    for position in state.positions:
        if position.liquidation_price is not None:
            for nudge in (D(0), D("1e-4"), D("-1e-4")):
                cases.append({**prices, position.market: max(D("1e-4"), position.liquidation_price + nudge)})
    unfunded = Account(usdc=account.usdc, leverage=account.leverage,
                       positions={name: Position(name, p.size) for name, p in account.positions.items()})
    for case in cases:
        for held in (account, unfunded):
            assert liquidatable(held, case, markets) == account_state(held, case, markets).liquidatable


@settings(max_examples=200, deadline=None)
@given(accounts(), prices, markets(), st.sampled_from(NAMES), decimals(1, 10**6, 4))
def test_usage_never_falls_as_a_position_grows(account, prices, markets, name, more):
    held = account.positions.get(name)
    grow = more if held is None or held.size > 0 else -more
    before = account_state(account, prices, markets)
    after = account_state(apply_trade(account, name, grow, prices[name]), prices, markets)
    assume(before.equity > 0)
    assert after.equity == before.equity  # a trade at the oracle price without fee moves no equity
    assert after.margin_usage >= before.margin_usage
