"""The config file: defaults without one, the shipped default file, a good file, and every kind of bad
value refused with a message that names the key."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from streams.config import Config, ConfigError, load_config
from streams.signals.config import RESOLUTION_SECONDS, Directions, IndicatorParams, Resolution

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "app" / "default_config.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_the_defaults():
    config = load_config(None)
    assert config == Config()
    assert config.signals.resolution == "1MIN"
    assert config.signals.indicators.rsi_period == 14
    assert config.signals.directions.funding == "mean_reversion"


def test_the_shipped_default_file_spells_out_the_defaults():
    assert load_config(DEFAULT_FILE) == Config()


def test_a_good_file_overrides_what_it_names(tmp_path):
    config = load_config(write(tmp_path, """
        [signals]
        resolution = "5MINS"
        [signals.indicators]
        rsi_period = 7
        bollinger_width = 2   # an integer is a fine number
        [signals.directions]
        rsi = "momentum"
    """))
    signals = config.signals
    assert signals.resolution == "5MINS"
    assert signals.indicators == IndicatorParams(rsi_period=7)
    assert signals.indicators.bollinger_width == 2.0
    assert signals.directions == Directions(rsi="momentum")
    assert signals.weights == Config().signals.weights


@pytest.mark.parametrize(("text", "message"), [
    ('[signals.weights]\nrsi = "x"', 'signals.weights.rsi: expected a number, got "x"'),
    ("[signals.weights]\nrsi = -1", "signals.weights.rsi: expected a finite number >= 0 and <= 1000000, got -1"),
    ("[signals.indicators]\nrsi_period = 1", "signals.indicators.rsi_period: expected an integer >= 2, got 1"),
    ("[signals.indicators]\nrsi_period = 2.5", "signals.indicators.rsi_period: expected an integer, got 2.5"),
    ("[signals.indicators]\nrsi_period = true", "signals.indicators.rsi_period: expected an integer, got true"),
    ("[signals.indicators]\nbollinger_width = 0",
     "signals.indicators.bollinger_width: expected a finite number > 0 and <= 1000000, got 0"),
    ('[signals.directions]\nrsi = "up"',
     'signals.directions.rsi: expected one of "momentum", "mean_reversion", got "up"'),
    ('[signals]\nresolution = "2MIN"', 'signals.resolution: expected one of "1MIN", "5MINS"'),
    ("[signals]\nresolution = 2024-01-01", "signals.resolution: expected a string, got 2024-01-01"),
    ("[signals.weights]\nrsii = 1", "signals.weights.rsii: unknown key (known keys: rsi, macd, bollinger,"),
    ("[riskk]\nmax_leverage = 3", "riskk: unknown key (known keys: signals, strategy, risk, paper, live, tape, chart)"),
    ("signals = [1]", "signals: expected a table, got an array"),
    ("[signals.indicators]\nmacd_fast = 12\nmacd_slow = 12",
     "signals.indicators.macd_slow: must be greater than macd_fast (12), got 12"),
    ("[signals.indicators]\nmacd_fast = 30", "signals.indicators.macd_slow: must be greater than macd_fast (30)"),
    ("[signals.weights]\n" + "\n".join(f"{name} = 0" for name in ("rsi", "macd", "bollinger", "vwap",
                                                                  "imbalance", "funding")),
     "signals.weights: at least one weight must be greater than 0"),
])
def test_a_bad_value_is_refused_naming_its_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value).startswith(f"{path}: {message}")


def test_every_resolution_has_a_length():
    assert typing.get_args(Resolution) == tuple(RESOLUTION_SECONDS)


def test_a_file_that_is_not_toml_is_refused(tmp_path):
    path = write(tmp_path, "[signals.weights\nrsi = 1")
    with pytest.raises(ConfigError, match=r"bot\.toml: not valid TOML \(Expected ']'"):
        load_config(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.toml: cannot read the config file \(No such file"):
        load_config(tmp_path / "nowhere.toml")
