"""The margin math against the worked numbers of dydx-reference.md §6-7 (inline, so they run on a fresh
clone) and the model's bookkeeping: Indexer payloads in, updates and trades applied."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from streams.market import events as ev
from streams.risk.account import (
    Account,
    MarginError,
    Market,
    Position,
    account_from_subaccount,
    apply_trade,
    apply_update,
    implied_oracle_prices,
    isolation_conflict,
)
from streams.risk.margin import (
    account_state,
    effective_imf,
    funding_payment,
    imr,
    liquidatable,
    liquidation_price,
    mmr,
    what_if,
)
from tests.support.builders import market_info

CENT = D("0.01")
BTC = Market("BTC-USD", imf=D("0.05"), mmf=D("0.03"))
ETH = Market("ETH-USD", imf=D("0.05"), mmf=D("0.03"))
MARKETS = {"BTC-USD": BTC, "ETH-USD": ETH}

# dydx-reference.md §6: the real testnet account of v4_accounts_subscribed_negative_initial_margin.json,
# with the oracle prices backed out of its entry prices and unrealized PnL.
REFERENCE_ACCOUNT = Account(usdc=D("-5768.816478"), positions={
    "BTC-USD": Position("BTC-USD", D("0.1036"), D("58308.13962472406181015453")),
    "ETH-USD": Position("ETH-USD", D("-0.002"), D("2618.8")),
})
REFERENCE_PRICES = {"BTC-USD": D("58672.3367"), "ETH-USD": D("2626.778033")}


def mid_cap(open_interest: str, price: str = "1000", imf: str = "0.1") -> Market:
    """Real mid-cap parameters: IMF 0.1, MMF 0.05, open-interest caps 20M/50M USDC."""
    return Market("MID-USD", imf=D(imf), mmf=D("0.05"), open_interest=D(open_interest),
                  open_interest_lower_cap=D(20_000_000), open_interest_upper_cap=D(50_000_000))


def position_state(state, market):
    return next(p for p in state.positions if p.market == market)


# -- the reference account (cross) ---------------------------------------------------------------------


def test_reference_account_equity_and_free_collateral_are_exact():
    state = account_state(REFERENCE_ACCOUNT, REFERENCE_PRICES, MARKETS)
    assert state.equity == D("304.384048054")
    assert state.free_collateral == D("0.1986661447")
    assert state.free_collateral_indexer == state.free_collateral  # no caps, no leverage: the rules agree
    assert state.initial_margin == D("304.1853819093")
    assert state.maintenance_margin.quantize(D("0.001")) == D("182.511")
    assert state.margin_usage.quantize(D("0.0001")) == D("0.9993")
    assert state.leverage.quantize(CENT) == D("19.99")
    assert not state.liquidatable


def test_reference_account_cross_liquidation_prices():
    state = account_state(REFERENCE_ACCOUNT, REFERENCE_PRICES, MARKETS)
    btc, eth = position_state(state, "BTC-USD"), position_state(state, "ETH-USD")
    assert btc.liquidation_price.quantize(CENT) == D("57459.58")
    assert eth.liquidation_price.quantize(CENT) == D("61788.34")
    assert btc.distance_to_liquidation_pct.quantize(CENT) == D("2.07")  # "2.1 % below oracle"
    assert (btc.margin_mode, eth.margin_mode) == ("CROSS", "CROSS")
    assert btc.notional == D("0.1036") * D("58672.3367")
    assert btc.unrealized_pnl == D("0.1036") * (D("58672.3367") - D("58308.13962472406181015453"))
    assert eth.unrealized_pnl == D("-0.015956066")  # what the Indexer reported
    assert btc.initial_margin == btc.notional * D("0.05") and btc.maintenance_margin == btc.notional * D("0.03")


def test_liquidation_price_puts_the_account_exactly_at_maintenance():
    state = account_state(REFERENCE_ACCOUNT, REFERENCE_PRICES, MARKETS)
    p_liq = position_state(state, "BTC-USD").liquidation_price
    at_liq = account_state(REFERENCE_ACCOUNT, {**REFERENCE_PRICES, "BTC-USD": p_liq}, MARKETS)
    assert abs(at_liq.equity - at_liq.maintenance_margin) < D("1e-20")
    below = account_state(REFERENCE_ACCOUNT, {**REFERENCE_PRICES, "BTC-USD": p_liq - CENT}, MARKETS)
    assert below.liquidatable and not state.liquidatable
    # the paper broker's cheap test says the same on both sides
    assert liquidatable(REFERENCE_ACCOUNT, {**REFERENCE_PRICES, "BTC-USD": p_liq - CENT}, MARKETS)
    assert not liquidatable(REFERENCE_ACCOUNT, REFERENCE_PRICES, MARKETS)


# -- isolated ------------------------------------------------------------------------------------------


def test_docs_isolated_example():
    # e = 1000, s = -3, P = 3000, MMF = 0.05 -> 3174.60 (the docs' worked example)
    assert liquidation_price(D(1000), D(-3), D(3000), D("0.05")).quantize(CENT) == D("3174.60")


def test_isolated_position_in_its_own_subaccount():
    market = Market("TRY-USD", imf=D("0.1"), mmf=D("0.05"), isolated=True)
    account = Account(usdc=D(10_000), positions={"TRY-USD": Position("TRY-USD", D(-3), D(3000))})
    state = account_state(account, {"TRY-USD": D(3000)}, {"TRY-USD": market})
    assert state.equity == D(1000)
    (position,) = state.positions
    assert position.margin_mode == "ISOLATED"
    assert position.liquidation_price.quantize(CENT) == D("3174.60")
    assert position.distance_to_liquidation_pct.quantize(CENT) == D("5.82")


def test_child_subaccount_is_isolated_margin_mode():
    account = Account(usdc=D(100), positions={"BTC-USD": Position("BTC-USD", D("0.001"))}, isolated=True)
    (position,) = account_state(account, {"BTC-USD": D(60_000)}, MARKETS).positions
    assert position.margin_mode == "ISOLATED"


def test_no_liquidation_price_when_no_positive_price_gets_there():
    # a fully collateralised long cannot be liquidated by its price falling
    assert liquidation_price(D(1000), D(1), D(500), D("0.03")) is None
    # a long at MMF 1 has a zero denominator
    assert liquidation_price(D(1000), D(1), D(500), D(1)) is None
    # a short whose other positions already eat the equity
    assert liquidation_price(D(10), D(-1), D(100), D("0.05"), other_mmr=D(1000)) is None
    account = Account(usdc=D(1000), positions={"BTC-USD": Position("BTC-USD", D("0.01"), D(60_000))})
    (position,) = account_state(account, {"BTC-USD": D(60_000)}, MARKETS, atr={"BTC-USD": D(500)}).positions
    assert position.liquidation_price is None
    assert position.distance_to_liquidation_pct is None and position.distance_to_liquidation_atr is None


def test_distance_in_atr_units():
    atr = {"BTC-USD": D(400)}
    state = account_state(REFERENCE_ACCOUNT, REFERENCE_PRICES, MARKETS, atr=atr)
    btc, eth = position_state(state, "BTC-USD"), position_state(state, "ETH-USD")
    assert btc.distance_to_liquidation_atr == (D("58672.3367") - btc.liquidation_price) / D(400)
    assert eth.distance_to_liquidation_atr is None  # no ATR for ETH


# -- open-interest scaling and chosen leverage ---------------------------------------------------------


def test_open_interest_scaling_reference_example():
    # IMF 0.1, caps 20M/50M, open notional 35M -> 0.1 + 0.9 * 0.5
    assert effective_imf(mid_cap("35000"), D(1000)) == D("0.55")


@pytest.mark.parametrize(("open_interest", "expected"), [
    ("0", "0.1"),  # nothing open
    ("10000", "0.1"),  # 10M: below the lower cap
    ("20000", "0.1"),  # at the lower cap: not scaled yet
    ("20000.03", "0.1000009"),  # 30 USDC above it: 0.9 * 30 / 30M
    ("50000", "1"),  # at the upper cap
    ("60000", "1"),  # above it
])
def test_open_interest_scaling_boundaries(open_interest, expected):
    assert effective_imf(mid_cap(open_interest), D(1000)) == D(expected)


def test_no_caps_means_no_scaling():
    market = Market("BTC-USD", imf=D("0.02"), mmf=D("0.012"), open_interest=D(10**9))
    assert effective_imf(market, D(90_000)) == D("0.02")


@pytest.mark.parametrize(("market", "leverage", "expected"), [
    (BTC, D(10), D("0.1")),  # 10x chosen: stricter than the base 0.05
    (BTC, D(50), D("0.05")),  # 50x is looser than the market allows: base wins
    (mid_cap("35000"), D(5), D("0.55")),  # open-interest scaling is stricter than 5x
    (mid_cap("10000"), D(5), D("0.2")),
])
def test_chosen_leverage_sets_a_floor_under_the_imf(market, leverage, expected):
    assert effective_imf(market, D(1000), leverage) == expected


def test_chain_and_indexer_free_collateral_differ_with_scaling_or_leverage():
    market = mid_cap("35000")
    account = Account(usdc=D(10_000), positions={"MID-USD": Position("MID-USD", D(2), D(1000))})
    state = account_state(account, {"MID-USD": D(1000)}, {"MID-USD": market})
    assert state.equity == D(12_000)
    assert state.free_collateral == D(12_000) - D(2000) * D("0.55")
    assert state.free_collateral_indexer == D(12_000) - D(2000) * D("0.1")
    assert state.positions[0].imf == D("0.55") and state.positions[0].mmf == D("0.05")

    with_leverage = Account(usdc=D(1000), positions={"BTC-USD": Position("BTC-USD", D("0.1"))},
                            leverage={"BTC-USD": D(10)})
    state = account_state(with_leverage, {"BTC-USD": D(50_000)}, MARKETS)
    assert state.free_collateral == state.equity - D(500)
    assert state.free_collateral_indexer == state.equity - D(250)
    assert state.maintenance_margin == D(150)  # maintenance never scales


def test_imr_and_mmr():
    market = mid_cap("35000")
    assert imr(D(-2), D(1000), effective_imf(market, D(1000))) == D(1100)
    assert imr(D("0.1"), D(50_000), effective_imf(BTC, D(50_000), leverage=D(10))) == D(500)
    assert mmr(D(-2), D(1000), market.mmf) == D(100)


# -- funding -------------------------------------------------------------------------------------------


def test_longs_pay_when_the_rate_is_positive():
    assert funding_payment(D(2), D(100), D("0.0001")) == D("-0.02")
    assert funding_payment(D(-2), D(100), D("0.0001")) == D("0.02")
    assert funding_payment(D(2), D(100), D("-0.0001")) == D("0.02")


def test_funding_per_hour_and_accrued_funding_in_the_state():
    market = Market("BTC-USD", imf=D("0.05"), mmf=D("0.03"), funding_rate=D("0.00001"))
    account = Account(usdc=D(-4000), positions={
        "BTC-USD": Position("BTC-USD", D("0.1"), D(50_000), funding_accrued=D("-1.5")),
        "ETH-USD": Position("ETH-USD", D(-1), D(3000)),
    })
    state = account_state(account, {"BTC-USD": D(50_000), "ETH-USD": D(3000)}, {**MARKETS, "BTC-USD": market})
    btc, eth = position_state(state, "BTC-USD"), position_state(state, "ETH-USD")
    assert btc.funding_per_hour == D("-0.05") and btc.funding_accrued == D("-1.5")
    assert eth.funding_per_hour is None  # rate unknown
    assert state.equity == D(-4000) + D(5000) - D(3000) - D("1.5")


# -- account-level edge cases --------------------------------------------------------------------------


def test_account_without_positions():
    state = account_state(Account(usdc=D("45.201296")), {}, {})
    assert (state.equity, state.free_collateral, state.free_collateral_indexer) == (D("45.201296"),) * 3
    assert (state.margin_usage, state.leverage, state.liquidatable, state.positions) == (0, 0, False, ())
    empty = account_state(Account(usdc=D(-1)), {}, {})
    assert empty.margin_usage is None and not empty.liquidatable  # no requirement: nothing to liquidate


def test_negative_equity_is_liquidatable_and_has_no_usage():
    account = Account(usdc=D(-61_000), positions={"BTC-USD": Position("BTC-USD", D(1), D(62_000))})
    state = account_state(account, {"BTC-USD": D(60_000)}, MARKETS)
    assert state.equity == D(-1000)
    assert state.liquidatable and state.margin_usage is None and state.leverage is None
    # a long already past its liquidation price: p_liq above the oracle price
    assert state.positions[0].liquidation_price > D(60_000)


def test_missing_inputs_are_named():
    with pytest.raises(MarginError, match="no market parameters for SOL-USD"):
        account_state(Account(usdc=D(1), positions={"SOL-USD": Position("SOL-USD", D(1))}), {}, MARKETS)
    with pytest.raises(MarginError, match="no oracle price for BTC-USD"):
        account_state(Account(usdc=D(1), positions={"BTC-USD": Position("BTC-USD", D(1))}), {}, MARKETS)


# -- trades and what-if --------------------------------------------------------------------------------


def test_trade_entry_prices_and_balance():
    account = apply_trade(Account(usdc=D(1000)), "ETH-USD", D(1), D(100))
    assert account.usdc == D(900) and account.positions["ETH-USD"] == Position("ETH-USD", D(1), D(100))
    account = apply_trade(account, "ETH-USD", D(1), D(110), fee=D("0.5"))  # grows: weighted average
    assert account.usdc == D("789.5") and account.positions["ETH-USD"].entry_price == D(105)
    account = apply_trade(account, "ETH-USD", D("-0.5"), D(120))  # shrinks: entry stays
    assert account.usdc == D("849.5") and account.positions["ETH-USD"] == Position("ETH-USD", D("1.5"), D(105))
    account = apply_trade(account, "ETH-USD", D(-2), D(90))  # flips: entry is the trade price
    assert account.positions["ETH-USD"] == Position("ETH-USD", D("-0.5"), D(90))
    account = apply_trade(account, "ETH-USD", D("0.5"), D(80))  # closes
    assert account.positions == {} and account.usdc == D("849.5") + D(180) - D(40)


def test_trade_settles_accrued_funding_and_keeps_unknown_entries_unknown():
    account = Account(usdc=D(100), positions={
        "BTC-USD": Position("BTC-USD", D(1), None, funding_accrued=D(-2)),
        "ETH-USD": Position("ETH-USD", D(1), D(10), funding_accrued=D(3)),
    }, leverage={"BTC-USD": D(5)})
    after = apply_trade(account, "BTC-USD", D(1), D(50))
    assert after.usdc == D(100) - D(50) - D(2) + D(3)
    assert after.positions["BTC-USD"] == Position("BTC-USD", D(2), None)
    assert after.positions["ETH-USD"] == Position("ETH-USD", D(1), D(10))
    assert after.leverage == {"BTC-USD": D(5)}


def test_what_if_trades_at_the_oracle_price():
    before = account_state(REFERENCE_ACCOUNT, REFERENCE_PRICES, MARKETS)
    after = what_if(REFERENCE_ACCOUNT, [("BTC-USD", D("-0.05"))], REFERENCE_PRICES, MARKETS)
    assert after.equity == before.equity  # no fee, at the oracle price: equity does not move
    assert after.margin_usage < before.margin_usage
    assert position_state(after, "BTC-USD").size == D("0.0536")
    assert position_state(after, "BTC-USD").liquidation_price < position_state(before, "BTC-USD").liquidation_price
    closed = what_if(REFERENCE_ACCOUNT, [("BTC-USD", D("-0.1036")), ("ETH-USD", D("0.002"))], REFERENCE_PRICES,
                     MARKETS)
    assert closed.positions == () and closed.equity == closed.free_collateral == before.equity


def test_what_if_refusals():
    isolated = {**MARKETS, "TRY-USD": Market("TRY-USD", imf=D("0.05"), mmf=D("0.03"), isolated=True)}
    prices = {**REFERENCE_PRICES, "TRY-USD": D(1)}
    with pytest.raises(MarginError, match="ISOLATED market TRY-USD shares a subaccount with BTC-USD, ETH-USD"):
        what_if(REFERENCE_ACCOUNT, [("TRY-USD", D(10))], prices, isolated)
    with pytest.raises(MarginError, match="no oracle price for TRY-USD"):
        what_if(REFERENCE_ACCOUNT, [("TRY-USD", D(10))], REFERENCE_PRICES, isolated)


def test_isolation_conflict():
    isolated = {**MARKETS, "TRY-USD": Market("TRY-USD", imf=D("0.05"), mmf=D("0.03"), isolated=True)}
    alone = Account(usdc=D(1), positions={"TRY-USD": Position("TRY-USD", D(1))})
    assert isolation_conflict(alone, isolated) is None
    assert isolation_conflict(REFERENCE_ACCOUNT, isolated) is None
    mixed = apply_trade(alone, "BTC-USD", D(1), D(1))
    assert "error 2005" in isolation_conflict(mixed, isolated)


# -- Indexer payloads ----------------------------------------------------------------------------------


def perpetual(market, side, size, entry, pnl="0", status="OPEN"):
    return ev.PerpetualPosition(market=market, status=status, side=side, size=D(size), entryPrice=D(entry),
                                unrealizedPnl=D(pnl))


def usdc(side, size):
    return ev.AssetPosition(symbol="USDC", side=side, size=D(size))


HUNDRED_USDC = (usdc("LONG", "100"),)


def subaccount(number=0, positions=(), assets=HUNDRED_USDC):
    return ev.Subaccount(address="dydx1test", subaccountNumber=number, equity=D(0), freeCollateral=D(0),
                         openPerpetualPositions={p.market: p for p in positions},
                         assetPositions={a.symbol: a for a in assets})


def test_account_from_subaccount():
    body = subaccount(positions=[perpetual("BTC-USD", "LONG", "0.1036", "58308.1", "37.7"),
                                 perpetual("ETH-USD", "SHORT", "-0.002", "2618.8"),
                                 perpetual("SOL-USD", "LONG", "1", "100", status="CLOSED")],
                      assets=[usdc("SHORT", "5768.816478")])
    account = account_from_subaccount(body, leverage={"BTC-USD": D(10)})
    assert account == Account(usdc=D("-5768.816478"), positions={
        "BTC-USD": Position("BTC-USD", D("0.1036"), D("58308.1")),
        "ETH-USD": Position("ETH-USD", D("-0.002"), D("2618.8")),
    }, leverage={"BTC-USD": D(10)})
    assert account_from_subaccount(subaccount(number=128)).isolated
    assert account_from_subaccount(subaccount(assets=[])).usdc == 0


def test_implied_oracle_prices():
    body = subaccount(positions=[perpetual("BTC-USD", "LONG", "0.1036", "58308.13962472406181015453",
                                           "37.730816998587196467990692"),
                                 perpetual("ETH-USD", "SHORT", "-0.002", "2618.8", "-0.015956066")])
    assert implied_oracle_prices(body) == REFERENCE_PRICES


def test_indexer_update_replaces_positions_and_balance():
    account = account_from_subaccount(subaccount(positions=[perpetual("ETH-USD", "LONG", "0.003", "3177")]))
    fill = ev.IndexerFill(id="f", side="BUY", size=D("0.002"), price=D("2620"), liquidity="TAKER", type="LIMIT",
                   createdAt="2024-08-12T14:06:01.172Z", ticker="ETH-USD")
    grown = apply_update(account, ev.SubaccountUpdate(
        fills=[fill], perpetualPositions=[perpetual("ETH-USD", "LONG", "0.005", "2955.62")]))
    # the new size is taken as sent; the fill is not added on top of it
    assert grown.positions["ETH-USD"] == Position("ETH-USD", D("0.005"), D("2955.62"))
    assert grown.usdc == account.usdc
    paid = apply_update(grown, ev.SubaccountUpdate(assetPositions=[usdc("LONG", "85.2"),
                                                                   ev.AssetPosition("DYDX", "LONG", D(7))]))
    assert paid.usdc == D("85.2") and paid.positions == grown.positions
    closed = apply_update(paid, ev.SubaccountUpdate(
        perpetualPositions=[perpetual("ETH-USD", "LONG", "0", "2955.62", status="CLOSED")],
        assetPositions=[usdc("SHORT", "1")]))
    assert closed.positions == {} and closed.usdc == D(-1)


def test_update_without_margin_changes_returns_the_same_account():
    account = Account(usdc=D(100))
    order = ev.Order(id="o", status="OPEN")
    assert apply_update(account, ev.SubaccountUpdate(orders=[order], blockHeight="1")) is account
    assert apply_update(account, ev.SubaccountUpdate(assetPositions=[usdc("LONG", "100")])) is account


def test_market_parameters_from_market_info_and_rest():
    info = market_info("TRY-USD", 1.0, market_type="ISOLATED", oracle_price="0.03", next_funding_rate="0.0000125",
                       initial_margin_fraction="0.2", maintenance_margin_fraction="0.1", open_interest=None,
                       open_interest_lower_cap=5, open_interest_upper_cap=None, tick_size="0.0001", step_size=1,
                       atomic_resolution=-5, step_base_quantums=1, subticks_per_tick=1, clob_pair_id="200")
    assert Market.from_info(info) == Market("TRY-USD", imf=D("0.2"), mmf=D("0.1"), open_interest_lower_cap=D(5),
                                            isolated=True, funding_rate=D("0.0000125"))
    rest = ev.PerpetualMarket(ticker="MID-USD", clobPairId="6", status="ACTIVE", initialMarginFraction=D("0.1"),
                              maintenanceMarginFraction=D("0.05"), atomicResolution=-5,
                              quantumConversionExponent=-9, stepBaseQuantums=1, subticksPerTick=1,
                              tickSize=D("0.0001"), stepSize=D(1), openInterest=D(35_000),
                              openInterestLowerCap=D(20_000_000), openInterestUpperCap=D(50_000_000))
    assert Market.from_perpetual_market(rest) == mid_cap("35000")
