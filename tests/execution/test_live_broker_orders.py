"""Order construction for the live broker: exact quantums and subticks on real market parameters,
rounding that never worsens a limit, the slippage bound of market orders, and the chain's own rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dydx_v4_client import OrderFlags
from dydx_v4_client.node.market import Market
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from streams.execution.order_builder import ChainOrder, ClobParams, InvalidOrderError, plan_order
from streams.kernel.orders import OrderIntent
from streams.market.events import PerpetualMarket
from tests.support.builders import load_sample, market_info

# Mainnet /v4/perpetualMarkets entries of 2025-12-08 (nautilus-2025/rest/http_get_perpetual_markets.json),
# trimmed to what order construction reads, so these tests also run without ../shared.
BTC = {"ticker": "BTC-USD", "clobPairId": "0", "status": "ACTIVE", "atomicResolution": -10,
       "quantumConversionExponent": -9, "stepBaseQuantums": 1000000, "subticksPerTick": 100000,
       "tickSize": "1", "stepSize": "0.0001", "initialMarginFraction": "0.02", "maintenanceMarginFraction": "0.012"}
ETH = {**BTC, "ticker": "ETH-USD", "clobPairId": "1", "atomicResolution": -9, "tickSize": "0.1", "stepSize": "0.001"}
SOL = {**BTC, "ticker": "SOL-USD", "clobPairId": "5", "atomicResolution": -7, "subticksPerTick": 1000000,
       "tickSize": "0.01", "stepSize": "0.1"}

D = Decimal


def intent(**fields) -> OrderIntent:
    return OrderIntent(**{"t": 1_765_210_000.25, "market": "BTC-USD", "side": "BUY", "size": D("0.0003"),
                          "price": D("89919"), "client_id": 7, **fields})


@pytest.mark.parametrize("entry", [BTC, ETH, SOL], ids=lambda e: e["ticker"])
def test_inline_params_match_the_real_capture(samples_dir, entry):
    markets = load_sample(samples_dir, "nautilus-2025/rest/http_get_perpetual_markets.json")["markets"]
    assert ClobParams.of(entry) == ClobParams.of(markets[entry["ticker"]])


@pytest.mark.parametrize("entry", [BTC, ETH, SOL], ids=lambda e: e["ticker"])
def test_one_step_and_one_tick_are_the_published_step_and_tick_sizes(entry):
    params = ClobParams.of(entry)
    assert params.step_size == D(entry["stepSize"])
    assert params.tick_size == D(entry["tickSize"])
    assert params.quantums(params.step_size) == entry["stepBaseQuantums"]
    assert params.subticks(params.tick_size, "BUY") == entry["subticksPerTick"]


def test_params_from_market_state_and_typed_market_agree():
    typed = PerpetualMarket(ticker="ETH-USD", clobPairId="1", status="ACTIVE", initialMarginFraction=D("0.05"),
                            maintenanceMarginFraction=D("0.03"), atomicResolution=-9, quantumConversionExponent=-9,
                            stepBaseQuantums=1000000, subticksPerTick=100000, tickSize=D("0.1"), stepSize=D("0.001"))
    state = market_info("ETH-USD", oracle_price=None, next_funding_rate=None, open_interest=None,
                        open_interest_lower_cap=None, open_interest_upper_cap=None)
    assert ClobParams.of(typed) == ClobParams.of(state) == ClobParams.of(ETH)


def test_quantums_are_exact_where_the_library_floats_lose_a_step():
    btc = ClobParams.of(BTC)
    assert btc.quantums(D("0.0003")) == 3_000_000
    assert Market(BTC).calculate_quantums(0.0003) == 2_000_000  # why the library's conversion is not used


@pytest.mark.parametrize(("size", "quantums"), [
    ("0.0001", 1_000_000), ("0.00019", 1_000_000), ("0.0002", 2_000_000),
    ("1.23456789", 12_345_000_000), ("0.000199999999999999999999999999999", 1_000_000),
])
def test_quantums_round_down_to_whole_steps(size, quantums):
    assert ClobParams.of(BTC).quantums(D(size)) == quantums


def test_below_one_step_is_refused_not_rounded_up():
    with pytest.raises(InvalidOrderError, match=r"size 0.00009 is below the minimum order size 0.0001 of BTC-USD"):
        ClobParams.of(BTC).quantums(D("0.00009"))
    assert Market(BTC).calculate_quantums(0.00009) == 1_000_000  # the library would have sent one step


@pytest.mark.parametrize(("price", "buy", "sell"), [
    ("89919", 8_991_900_000, 8_991_900_000),  # on the grid: unchanged either way
    ("89919.4", 8_991_900_000, 8_992_000_000),  # buy never pays more, sell never gets less
    ("89919.99999999999999999999999", 8_991_900_000, 8_992_000_000),
])
def test_subticks_round_so_that_the_limit_never_worsens(price, buy, sell):
    btc = ClobParams.of(BTC)
    assert btc.subticks(D(price), "BUY") == buy
    assert btc.subticks(D(price), "SELL") == sell
    assert btc.price_of(buy) <= D(price) <= btc.price_of(sell)


def test_eth_and_sol_grids():
    eth, sol = ClobParams.of(ETH), ClobParams.of(SOL)
    assert eth.subticks(D("3103.01"), "BUY") == 3_103_000_000 and eth.price_of(3_103_000_000) == D("3103.0")
    assert eth.subticks(D("3103.01"), "SELL") == 3_103_100_000
    assert sol.quantums(D("1.25")) == 12_000_000 and sol.size_of(12_000_000) == D("1.2")
    assert sol.subticks(D("135.305"), "SELL") == 13_531_000_000


def test_a_price_below_one_tick_is_refused():
    with pytest.raises(InvalidOrderError, match=r"price 0.4 is below one tick \(1\) of BTC-USD"):
        ClobParams.of(BTC).subticks(D("0.4"), "BUY")


def test_short_term_limit_order_proto():
    plan = plan_order(intent(post_only=True), ClobParams.of(BTC))
    order = plan.order("dydx1address", 0, height=66_624_085)
    assert order.order_id.subaccount_id.owner == "dydx1address" and order.order_id.subaccount_id.number == 0
    assert (order.order_id.client_id, order.order_id.clob_pair_id, order.order_id.order_flags) == (7, 0, 0)
    assert order.side == Order.Side.SIDE_BUY
    assert (order.quantums, order.subticks) == (3_000_000, 8_991_900_000)
    assert order.good_til_block == 66_624_085 + 20 and order.good_til_block_time == 0
    assert order.time_in_force == Order.TimeInForce.TIME_IN_FORCE_POST_ONLY and not order.reduce_only
    assert plan.placed_at(66_624_085) == ChainOrder(7, "BTC-USD", 0, OrderFlags.SHORT_TERM, good_til_block=66_624_105)


def test_long_term_order_lives_until_intent_time_plus_seconds():
    plan = plan_order(intent(short_term=False, good_til_seconds=600, side="SELL"), ClobParams.of(BTC))
    order = plan.order("dydx1address", 3, height=123)
    assert order.order_id.order_flags == OrderFlags.LONG_TERM == 64
    assert order.good_til_block_time == 1_765_210_000 + 600 and order.good_til_block == 0
    assert order.time_in_force == Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED
    assert order.side == Order.Side.SIDE_SELL and order.order_id.subaccount_id.number == 3
    assert plan.placed_at(123) == plan.ref


def test_market_buy_is_an_ioc_limit_at_the_best_ask_plus_slippage_rounded_down():
    market = intent(kind="MARKET", price=None, max_slippage=D("0.005"), reduce_only=True)
    plan = plan_order(market, ClobParams.of(BTC), reference=D("89947"))
    assert plan.time_in_force == Order.TimeInForce.TIME_IN_FORCE_IOC and plan.reduce_only
    assert plan.subticks == 9_039_600_000  # 89947 * 1.005 = 90396.735 -> 90396, never above the bound


def test_market_sell_bound_is_below_the_best_bid_rounded_up():
    market = intent(market="ETH-USD", kind="MARKET", side="SELL", size=D("0.01"), price=None, max_slippage=D("0.01"))
    plan = plan_order(market, ClobParams.of(ETH), reference=D("3103.37"))
    assert plan.subticks == 3_072_400_000  # 3103.37 * 0.99 = 3072.3363 -> 3072.4, never below the bound


def test_a_market_order_with_a_price_uses_it_as_its_reference():
    plan = plan_order(intent(kind="MARKET", max_slippage=D("0")), ClobParams.of(BTC), reference=D("1"))
    assert plan.subticks == 8_991_900_000


@pytest.mark.parametrize(("fields", "params", "reason"), [
    ({"kind": "MARKET", "price": None}, BTC, "no book price for BTC-USD to bound a market order"),
    ({"kind": "MARKET", "max_slippage": D("1")}, BTC, r"max_slippage 1 is not a fraction in \[0, 1\)"),
    ({"price": None}, BTC, "a limit order needs a price"),
    ({"price": D("-1")}, BTC, "price -1 is not positive"),
    ({"size": D("0")}, BTC, "size 0 is not positive"),
    ({"client_id": 2**32}, BTC, "client id 4294967296 is outside 0..4294967295"),
    ({"client_id": -1}, BTC, "client id -1 is outside"),
    ({"time_in_force": "FOK"}, BTC, "fill-or-kill is deprecated"),
    ({"post_only": True, "time_in_force": "IOC"}, BTC, "a post-only order cannot be IOC"),
    ({"kind": "MARKET", "post_only": True}, BTC, "a market order cannot be post-only"),
    ({"reduce_only": True}, BTC, "reduce-only orders must be short-term IOC"),
    ({"short_term": False, "time_in_force": "IOC"}, BTC, "IOC and market orders must be short-term"),
    ({"good_til_blocks": 21}, BTC, r"good_til_blocks 21 is outside 1..20"),
    ({"good_til_blocks": 0}, BTC, r"good_til_blocks 0 is outside 1..20"),
    ({"short_term": False, "good_til_seconds": 96 * 86400}, BTC, "good_til_seconds 8294400 is outside"),
    ({"price": D("1e30")}, BTC, "does not fit the chain's 64-bit fields"),
    ({}, {**BTC, "status": "PAUSED"}, "BTC-USD is PAUSED"),
    ({}, {**BTC, "status": "POST_ONLY"}, "BTC-USD accepts only post-only orders"),
])
def test_orders_the_chain_would_refuse_are_refused_with_the_reason(fields, params, reason):
    with pytest.raises(InvalidOrderError, match=reason):
        plan_order(intent(**fields), ClobParams.of(params), reference=None)


def test_post_only_market_accepts_post_only_orders_and_reduce_only_ioc_is_fine():
    assert plan_order(intent(post_only=True), ClobParams.of({**BTC, "status": "POST_ONLY"}))
    assert plan_order(intent(reduce_only=True, time_in_force="IOC"), ClobParams.of(BTC)).reduce_only


def test_cancel_windows():
    short = ChainOrder(7, "BTC-USD", 0, OrderFlags.SHORT_TERM, good_til_block=1010)
    long = ChainOrder(8, "BTC-USD", 0, OrderFlags.LONG_TERM, good_til_block_time=1_765_210_600)
    assert short.cancel_until(1_000) == {"good_til_block": 1_020}
    assert long.cancel_until(0) == {"good_til_block_time": 1_765_210_600}
    with pytest.raises(InvalidOrderError, match="no known good-til-block-time"):
        ChainOrder(9, "BTC-USD", 0, OrderFlags.LONG_TERM).cancel_until(0)


def test_a_meme_coin_grid_from_the_2024_mainnet_capture(samples_dir):
    markets = load_sample(samples_dir, "nautilus-2024/rest/list_perpetual_markets.json")["markets"]
    bonk = ClobParams.of(markets["BONK-USD"])  # atomicResolution -1: prices of 1e-5 USD, sizes of 1e5 BONK
    assert (bonk.step_size, bonk.tick_size) == (D("100000"), D("0.00000001"))
    assert bonk.quantums(D("250000")) == 2_000_000 and bonk.subticks(D("0.000024567"), "SELL") == 2_457_000_000


def test_a_market_whose_base_quantum_is_larger_than_one_unit():
    big = ClobParams("BIG-USD", 99, atomic_resolution=2, quantum_conversion_exponent=-9, step_base_quantums=1,
                     subticks_per_tick=1)
    assert big.quantums(D("250")) == 2 and big.size_of(2) == D("200")
