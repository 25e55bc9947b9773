"""Protective stops kept in step with the margin engine's liquidation prices: account states in, stop
placements and cancels out. The account is the reference one (dydx-reference.md §6: BTC long liquidating
at 57 459.58, ETH short at 61 788.34), valued by the real margin engine."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec
import pytest

from streams.kernel.orders import CancelIntent, OrderUpdate, StopIntent
from streams.risk.account import Account, Position
from streams.risk.config import ProtectionConfig, RiskConfig
from streams.risk.margin import account_state
from streams.risk.protection import STOP_CLIENT_IDS, ProtectiveStops, stop_client_id
from tests.risk.test_margin import MARKETS, REFERENCE_ACCOUNT, REFERENCE_PRICES
from tests.risk.test_margin_stream import info

CONFIG = ProtectionConfig(distance=D("0.02"), replace_move=D("0.01"))


def state(t=1.0, account=REFERENCE_ACCOUNT, **prices):
    return account_state(account, {**REFERENCE_PRICES, **{k.replace("_", "-"): D(v) for k, v in prices.items()}},
                         MARKETS, t=t)


def planner(config=CONFIG) -> ProtectiveStops:
    stops = ProtectiveStops(config)
    stops.on_event(info(0.0, "BTC-USD", "58672.3367"))
    stops.on_event(info(0.0, "ETH-USD", "2626.778033"))  # tick 1, as BTC's
    return stops


def test_each_position_gets_a_reduce_only_stop_ahead_of_its_liquidation_price():
    out = planner().on_event(state())
    btc, eth = out
    assert isinstance(btc, StopIntent) and (btc.market, btc.side, btc.size) == ("BTC-USD", "SELL", D("0.1036"))
    assert btc.trigger_price == D("58609")  # 57 459.58 · 1.02 = 58 608.77, up onto the tick: triggers earlier
    assert (eth.market, eth.side, eth.size) == ("ETH-USD", "BUY", D("0.002"))
    assert eth.trigger_price == D("60552")  # 61 788.34 · 0.98 = 60 552.57, down onto the tick
    assert btc.reason == "protective stop ahead of liquidation at 57460"


def test_client_ids_are_a_function_of_the_stop_alone():
    first, again = planner().on_event(state()), planner().on_event(state())
    assert [s.client_id for s in first] == [s.client_id for s in again]  # a restart sends the same orders
    assert all(STOP_CLIENT_IDS <= s.client_id < 2**32 for s in first)
    assert stop_client_id("BTC-USD", "SELL", D("0.1036"), D("58609")) == first[0].client_id
    assert stop_client_id("BTC-USD", "SELL", D("0.1036"), D("58610")) != first[0].client_id


def test_small_moves_keep_the_stop_a_large_one_replaces_it_new_first():
    stops = planner()
    (btc, _) = stops.on_event(state())
    moved = stops.on_event(state(2.0, BTC_USD="58700"))
    assert [o.market for o in moved] == ["ETH-USD"] * 2  # BTC's liquidation price barely moved; the small
    # short's moved 2 %: at 99.9 % usage every dollar of BTC's gain pushes it 500 dollars away
    account = msgspec.structs.replace(REFERENCE_ACCOUNT, usdc=REFERENCE_ACCOUNT.usdc + 120)  # a deposit
    placed, cancelled = [o for o in stops.on_event(state(3.0, account)) if o.market == "BTC-USD"]
    assert isinstance(placed, StopIntent) and placed.trigger_price < btc.trigger_price * D("0.99")
    assert cancelled == CancelIntent(3.0, "BTC-USD", btc.client_id, "protective stop replaced")
    assert stops.stops["BTC-USD"] == placed


def test_a_closed_position_loses_its_stop_and_a_resized_one_gets_a_new_one():
    stops = planner()
    btc, eth = stops.on_event(state())
    only_btc = Account(usdc=D(-6000), positions={"BTC-USD": Position("BTC-USD", D("0.2"), D("58000"))})
    out = stops.on_event(state(2.0, only_btc))
    assert out[0] == CancelIntent(2.0, "ETH-USD", eth.client_id, "protective stop cancelled: its position closed")
    assert isinstance(out[1], StopIntent) and out[1].size == D("0.2")
    assert out[2] == CancelIntent(2.0, "BTC-USD", btc.client_id, "protective stop replaced")


def test_no_stop_when_the_price_is_already_past_the_trigger_or_there_is_no_liquidation_price():
    assert [s.market for s in planner().on_event(state(BTC_USD="58600"))] == ["ETH-USD"]
    safe = Account(usdc=D(10_000), positions={"BTC-USD": Position("BTC-USD", D("0.01"), D("58000"))})
    assert planner().on_event(state(account=safe)) == []


def test_a_stop_in_place_stays_when_the_price_runs_past_where_a_new_one_would_go():
    stops = planner()
    btc, _ = stops.on_event(state())
    worse = msgspec.structs.replace(REFERENCE_ACCOUNT, usdc=REFERENCE_ACCOUNT.usdc - 120)  # liquidation nears
    assert [o for o in stops.on_event(state(2.0, worse)) if o.market == "BTC-USD"] == []
    assert stops.stops["BTC-USD"] == btc
    gone = Account(usdc=D(10_000), positions={"BTC-USD": Position("BTC-USD", D("0.1036"), D("58000"))})
    assert stops.on_event(state(3.0, gone))[-1] == CancelIntent(
        3.0, "BTC-USD", btc.client_id, "protective stop cancelled: no liquidation price to protect against")


def test_a_refused_stop_is_retried_after_the_pause():
    stops = planner(msgspec.structs.replace(CONFIG, retry_after=60.0))
    btc, _ = stops.on_event(state())
    stops.on_event(OrderUpdate(1.5, btc.client_id, "BTC-USD", "REJECTED", reason="block rate limit"))
    assert stops.on_event(state(30.0)) == []
    assert [s.market for s in stops.on_event(state(61.5))] == ["BTC-USD"]


def test_a_triggered_stop_is_forgotten_and_a_market_without_a_tick_size_waits():
    stops = ProtectiveStops(CONFIG)
    assert stops.on_event(state()) == []  # no tick sizes yet
    stops.on_event(info(0.0, "BTC-USD", "58672.3367"))
    (btc,) = stops.on_event(state(2.0))
    stops.on_event(OrderUpdate(3.0, btc.client_id, "BTC-USD", "FILLED", D("0.1036")))
    assert stops.stops == {}


@pytest.mark.parametrize("field, value, message", [
    ("distance", D(0), "distance: expected a finite number > 0 and < 1"),
    ("replace_move", D(1), "replace_move: expected a finite number >= 0 and < 1"),
    ("good_til_seconds", 96 * 24 * 3600, "good_til_seconds: expected a finite number > 0 and <= 8208000"),
    ("max_slippage", D(0), "max_slippage: expected a finite number > 0 and < 1"),
])
def test_bad_settings_are_refused_with_their_key(field, value, message):
    with pytest.raises(ValueError, match=message):
        ProtectionConfig(**{field: value})


def test_on_for_live_off_for_paper_by_default():
    assert (RiskConfig().protection.live, RiskConfig().protection.paper) == (True, False)


def test_a_bad_value_in_the_config_file_names_its_key(tmp_path):
    from streams.config import ConfigError, load_config

    path = tmp_path / "bad.toml"
    path.write_text("[risk.protection]\ndistance = 2\n")
    with pytest.raises(ConfigError,
                       match=r"bad.toml: risk.protection.distance: expected a finite number > 0 and < 1, got 2"):
        load_config(path)


def test_after_a_restart_the_stop_found_on_the_venue_is_kept_or_replaced_never_doubled():
    btc, eth = planner().on_event(state())  # what the bot placed before it stopped
    resting = [OrderUpdate(0.5, s.client_id, s.market, "OPEN", reason="not sent by this broker") for s in (btc, eth)]
    restarted = planner()
    for update in resting:
        assert restarted.on_event(update) == []
    assert restarted.on_event(state()) == []  # the same stops are wanted: both kept as they are
    duplicate = OrderUpdate(0.6, STOP_CLIENT_IDS + 5, "BTC-USD", "OPEN", reason="not sent by this broker")
    assert restarted.on_event(duplicate) == [CancelIntent(0.6, "BTC-USD", STOP_CLIENT_IDS + 5,
                                                          "protective stop: a duplicate")]
    other = planner()
    other.on_event(resting[0])
    placed, cancelled = [o for o in other.on_event(state(account=msgspec.structs.replace(
        REFERENCE_ACCOUNT, usdc=REFERENCE_ACCOUNT.usdc + 120))) if o.market == "BTC-USD"]
    assert isinstance(placed, StopIntent) and cancelled.client_id == btc.client_id
