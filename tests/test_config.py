"""The config file as a whole: every number finite and in its range (a NaN, an infinity or an absurd
magnitude is refused naming the key, never an exception from inside), a byte-order mark read, any key of
any table (a rung's included) optional, and what is valid but probably not meant warned about."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from streams.config import Config, ConfigError, config_warnings, load_config
from streams.risk.config import Rung


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize(("line", "message"), [
    ("signals.weights.rsi = inf", "signals.weights.rsi: expected a finite number >= 0 and <= 1000000, got inf"),
    ("signals.weights.rsi = nan", "signals.weights.rsi: expected a finite number >= 0 and <= 1000000, got nan"),
    ("signals.scales.macd = -inf", "signals.scales.macd: expected a finite number > 0 and <= 1000000, got -inf"),
    ("signals.indicators.imbalance_half_life = nan", "signals.indicators.imbalance_half_life: expected a finite"),
    ("paper.starting_usdc = inf", "paper.starting_usdc: expected a finite number >= 0 and <= 1000000000000, got inf"),
    ("paper.starting_usdc = nan", "paper.starting_usdc: expected a finite number >= 0"),
    ("paper.fees.maker = nan", "paper.fees.maker: expected a finite number > -1 and < 1, got nan"),
    ('risk.max_leverage = "1e999999999"',
     'risk.max_leverage: expected a finite number > 0 and <= 100, got "1e999999999"'),
    ('risk.max_leverage = "NaN"', 'risk.max_leverage: expected a finite number > 0 and <= 100, got "NaN"'),
    ('risk.max_leverage = "sNaN"', "risk.max_leverage: expected a finite number"),
    ("risk.max_leverage = 1e300", "risk.max_leverage: expected a finite number > 0 and <= 100, got 1e+300"),
    ("risk.daily_loss_limit = nan", "risk.daily_loss_limit: expected a finite number > 0"),
    ("risk.failed_order_pause = inf", "risk.failed_order_pause: expected a finite number >= 0 and <= 604800, got inf"),
    ("risk.derisk_interval = nan", "risk.derisk_interval: expected a finite number > 0"),
    ("risk.reduce.enter_usage = nan", "risk.reduce.enter_usage: expected a finite number > 0 and <= 10, got nan"),
    ("strategy.max_margin_usage = inf", "strategy.max_margin_usage: expected a finite number > 0 and < 1, got inf"),
    ("strategy.horizon = 1e300", "strategy.horizon: expected a finite number > 0 and <= 31536000, got 1e+300"),
    ("strategy.dead_zone = nan", "strategy.dead_zone: expected a finite number >= 0 and < 1, got nan"),
])
def test_a_number_that_is_not_finite_or_out_of_range_is_refused_naming_its_key(tmp_path, line, message):
    path = write(tmp_path, line)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value).startswith(f"{path}: {message}")


def test_a_file_that_starts_with_a_byte_order_mark_is_read(tmp_path):
    path = write(tmp_path, "[signals.weights]\nrsi = 2\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_config(path).signals.weights.rsi == 2.0


def test_a_partial_rung_takes_the_rest_from_its_default(tmp_path):
    config = load_config(write(tmp_path, "[risk.reduce]\nenter_usage = 0.65\n"))
    assert config.risk.reduce == Rung(enter_usage=Decimal("0.65"), exit_usage=Decimal("0.60"),
                                      enter_distance=Decimal("0.08"), exit_distance=Decimal("0.10"))
    assert config.risk.flatten == Config().risk.flatten and config.paper == Config().paper


def test_a_partial_rung_is_still_checked_against_the_defaults_it_takes(tmp_path):
    path = write(tmp_path, "[risk.reduce]\nenter_usage = 0.55\n")  # below the default exit_usage 0.60
    with pytest.raises(ConfigError, match=r"risk\.reduce\.exit_usage: must be below enter_usage \(0\.55\), got 0\.60"):
        load_config(path)


def test_the_defaults_warn_of_nothing():
    assert config_warnings(Config(), markets={"BTC-USD", "ETH-USD"}) == []


def test_a_strategy_budget_at_or_above_the_no_new_risk_rung_is_warned_about(tmp_path):
    config = load_config(write(tmp_path, "[strategy]\nmax_margin_usage = 0.6\n"))
    assert config_warnings(config) == [
        "strategy.max_margin_usage (0.6) is not below risk.no_new_risk.enter_usage (0.50): the strategy's own "
        "positions stop new risk"]


def test_markets_to_trade_that_the_data_does_not_have_are_warned_about(tmp_path):
    config = load_config(write(tmp_path, '[strategy]\nmarkets = ["BTC-USD", "XRP-USD", "DOGE-USD"]\n'))
    assert config_warnings(config, markets={"ETH-USD", "BTC-USD"}) == [
        "strategy.markets: XRP-USD, DOGE-USD not in the data (BTC-USD, ETH-USD): never traded"]
    assert config_warnings(config, markets=None) == []  # the data's markets unknown: nothing to compare
