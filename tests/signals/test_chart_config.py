"""The `[chart]` config section: its defaults are spelled out in the shipped file, a good table sets the
overlay, volume and periods, and a bad value is refused naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config import ConfigError, load_config
from streams.signals.config import IndicatorParams
from streams.signals.overlays import OVERLAYS, ChartConfig


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_chart_starts_with_the_candles_alone():
    assert load_config(None).chart == ChartConfig(overlay="none", volume=False)
    assert OVERLAYS == ("none", "ema", "bollinger", "vwap", "all")


def test_a_chart_table_sets_what_it_names_and_its_periods_are_the_indicators_own(tmp_path):
    chart = load_config(write(tmp_path, '[chart]\noverlay = "bollinger"\nvolume = true\nbollinger_period = 30\n')).chart
    assert chart == ChartConfig(overlay="bollinger", volume=True, bollinger_period=30)
    assert chart.params() == IndicatorParams(bollinger_period=30)


@pytest.mark.parametrize(("text", "message"), [
    ('overlay = "macd"', 'chart.overlay: expected one of "none", "ema", "bollinger", "vwap", "all", got "macd"'),
    ("overlay = 1", "chart.overlay: expected a string, got 1"),
    ('volume = "yes"', 'chart.volume: expected true or false, got "yes"'),
    ("ema_period = 1", "chart.ema_period: expected an integer >= 2, got 1"),
    ("vwap_period = 2.5", "chart.vwap_period: expected an integer, got 2.5"),
    ("bollinger_period = 100001", "chart.bollinger_period: expected an integer <= 100000, got 100001"),
    ("bollinger_width = 0", "chart.bollinger_width: expected a finite number > 0 and <= 1000000, got 0"),
    ("bollinger_width = nan", "chart.bollinger_width: expected a finite number > 0 and <= 1000000, got nan"),
    ("rsi_period = 14", "chart.rsi_period: unknown key (known keys: overlay, volume, ema_period, bollinger_period,"),
])
def test_a_bad_chart_value_is_refused_naming_its_key(tmp_path, text, message):
    path = write(tmp_path, f"[chart]\n{text}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value).startswith(f"{path}: {message}")
