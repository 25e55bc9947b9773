"""Sizing, pure: volatility over a horizon, the score-to-notional rule, caps, the step grid, no churn, and
the strategy config's checks."""

from __future__ import annotations

import math
from decimal import Decimal as D

import msgspec
import pytest

from streams.strategy.config import StrategyConfig
from streams.strategy.sizing import (
    YEAR,
    capped,
    horizon_volatility,
    on_step,
    scaled_notional,
    toward_zero,
    worth_trading,
)


def test_volatility_from_atr_or_realised_scales_with_the_square_root_of_time():
    per_bar = horizon_volatility({"atr": 3.0, "close": 3000.0}, "atr", bar_seconds=60, horizon=60)
    assert per_bar == pytest.approx(0.001)
    daily = horizon_volatility({"atr": 3.0, "close": 3000.0}, "atr", 60, 86_400)
    assert daily == pytest.approx(0.001 * math.sqrt(1440))
    assert horizon_volatility({"volatility": 0.6}, "realised", 60, YEAR / 4) == pytest.approx(0.3)


@pytest.mark.parametrize("values, source", [
    ({"atr": None, "close": 3000.0}, "atr"), ({"atr": 3.0, "close": None}, "atr"), ({"atr": 0.0, "close": 1.0}, "atr"),
    ({"volatility": None}, "realised"), ({}, "realised"),
])
def test_no_volatility_while_the_indicators_warm_up(values, source):
    assert horizon_volatility(values, source, 60, 86_400) is None


def test_the_target_notional_is_score_times_risk_budget_over_volatility():
    assert scaled_notional(0.5, D(10_000), D("0.02"), 0.04, dead_zone=0.1) == D(2500)
    assert scaled_notional(-1.0, D(10_000), D("0.02"), 0.04, dead_zone=0.1) == D(-5000)
    assert scaled_notional(0.09, D(10_000), D("0.02"), 0.04, dead_zone=0.1) == 0
    assert scaled_notional(-0.1, D(10_000), D("0.02"), 0.04, dead_zone=0.1) == D(-500)


def test_caps_cut_to_the_tightest_limit_and_name_it():
    limits = [("max position notional", D(5000)), ("max leverage", D(2000)), ("max margin usage", D(8000))]
    assert capped(D(3000), limits) == (D(2000), "max leverage")
    assert capped(D(-3000), limits) == (D(-2000), "max leverage")
    assert capped(D(1500), limits) == (D(1500), "")
    assert capped(D(-10), [("max leverage", D(-300))]) == (D(0), "max leverage")  # nothing left: flat


@pytest.mark.parametrize("target, held, kept", [
    ("5", "3", "3"), ("2", "3", "2"), ("-1", "3", "0"), ("-5", "-3", "-3"), ("-2", "-3", "-2"), ("1", "-3", "0"),
    ("1", "0", "0"), ("-1", "0", "0"),
])
def test_toward_zero_lets_a_position_shrink_or_close_but_never_grow_or_flip(target, held, kept):
    assert toward_zero(D(target), D(held)) == D(kept)


def test_sizes_go_on_the_step_grid_toward_zero():
    assert on_step(D("1.23456"), D("0.001")) == D("1.234")
    assert on_step(D("-1.23456"), D("0.001")) == D("-1.234")
    assert on_step(D("0.00009"), D("0.0001")) == 0
    assert str(on_step(D(3000) / D(3000), D("0.001"))) == "1.000"


@pytest.mark.parametrize("target, held, worth", [
    ("1.000", "0", True),
    ("1.200", "1.000", False),  # 0.2 is under 25 % of 1.2
    ("1.400", "1.000", True),
    ("0", "0.010", True),  # closing 30 USDC
    ("0.005", "0", False),  # 15 USDC: under the minimum
    ("0.0005", "0", False),  # under a step
])
def test_only_corrections_worth_a_trade_are_traded(target, held, worth):
    assert worth_trading(D(target), D(held), D(3000), D("0.001"), D(25), D("0.25")) is worth


@pytest.mark.parametrize("data, message", [
    ({"risk_per_market": 0}, "risk_per_market: expected a finite number > 0 and <= 1"),
    ({"horizon": 0}, "horizon: expected a finite number > 0 and <= 31536000"),
    ({"dead_zone": 1}, "dead_zone: expected a finite number >= 0 and < 1"),
    ({"max_margin_usage": 1}, "max_margin_usage: expected a finite number > 0 and < 1"),
    ({"min_trade_notional": -1}, r"min_trade_notional: expected a finite number >= 0 and <= 1000000000000"),
    ({"rebalance_threshold": 1}, "rebalance_threshold: expected a finite number >= 0 and < 1"),
    ({"rebalance_interval": -1}, "rebalance_interval: expected a finite number >= 0 and <= 604800"),
    ({"max_slippage": 0}, "max_slippage: expected a finite number > 0 and < 1"),
    ({"volatility": "garch"}, "Invalid enum value 'garch'"),
    ({"markets": "ETH-USD"}, "Expected `array`, got `str`"),
])
def test_bad_strategy_settings_are_refused_naming_the_key(data, message):
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(data, StrategyConfig)


def test_strategy_settings_read_from_toml_values():
    config = msgspec.convert({"markets": ["ETH-USD", "BTC-USD"], "risk_per_market": 0.01}, StrategyConfig)
    assert config.markets == ("ETH-USD", "BTC-USD") and config.risk_per_market == D("0.01")
