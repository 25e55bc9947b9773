"""The bot's configuration: a TOML file of sections, validated when it is loaded.

Each layer owns its section as a msgspec Struct with defaults and constraints; `Config` assembles the
sections (one field each), and everything is strict: an unknown key or a bad value is refused with a
message that names the key path, e.g. `signals.weights.rsi: expected a number >= 0.0, got -1`.
No file means every default. `app/default_config.toml` spells the defaults out.
"""

from __future__ import annotations

import json
import re
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from streams.execution.paper_broker import PaperConfig
from streams.risk.config import RiskConfig
from streams.strategy.config import StrategyConfig

Resolution = Literal["1MIN", "5MINS", "15MINS", "30MINS", "1HOUR", "4HOURS", "1DAY"]
RESOLUTION_SECONDS: dict[str, int] = {
    "1MIN": 60, "5MINS": 300, "15MINS": 900, "30MINS": 1800, "1HOUR": 3600, "4HOURS": 14400, "1DAY": 86400,
}
Direction = Literal["momentum", "mean_reversion"]
Period = Annotated[int, Meta(ge=2, le=100_000)]
Weight = Annotated[float, Meta(ge=0)]
Positive = Annotated[float, Meta(gt=0)]
Seconds = Annotated[float, Meta(ge=0)]


class ConfigError(Exception):
    """A config file that cannot be used: the message names the file and the key."""


class _Section(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config table: immutable, strict, keyword-only."""


class IndicatorParams(_Section):
    """Periods are in bars of `signals.resolution` unless named otherwise."""

    ema_period: Period = 20
    sma_period: Period = 20
    rsi_period: Period = 14
    macd_fast: Period = 12
    macd_slow: Period = 26
    macd_signal: Period = 9
    bollinger_period: Period = 20
    bollinger_width: Positive = 2.0  # standard deviations
    atr_period: Period = 14
    vwap_period: Period = 60
    volatility_period: Period = 60  # log returns
    imbalance_half_life: Seconds = 10.0  # 0 = the latest book reading as is
    funding_window: Period = 24  # settled hourly rates

    def __post_init__(self) -> None:
        if not self.macd_slow > self.macd_fast:
            raise ValueError(f"macd_slow: must be greater than macd_fast ({self.macd_fast})")


class Weights(_Section):
    """Relative weights of the score's contributors; a weight of 0 leaves a contributor out."""

    rsi: Weight = 1.0
    macd: Weight = 1.0
    bollinger: Weight = 1.0
    vwap: Weight = 0.5
    imbalance: Weight = 0.5
    funding: Weight = 0.5

    def __post_init__(self) -> None:
        if not any(getattr(self, name) > 0 for name in self.__struct_fields__):
            raise ValueError("at least one weight must be greater than 0")


class Directions(_Section):
    """Whether a contributor follows its reading (momentum) or fades it (mean_reversion)."""

    rsi: Direction = "mean_reversion"
    macd: Direction = "momentum"
    bollinger: Direction = "mean_reversion"
    vwap: Direction = "mean_reversion"
    imbalance: Direction = "momentum"
    funding: Direction = "mean_reversion"  # contrarian: crowded longs pay


class Scales(_Section):
    """The reading that maps to tanh(1) ≈ 0.76 for contributors with unbounded readings."""

    macd: Positive = 0.3  # MACD histogram in ATRs
    vwap: Positive = 3.0  # distance of the close from VWAP in ATRs
    funding: Positive = 2.0  # funding z-score


class SignalsConfig(_Section):
    resolution: Resolution = "1MIN"  # candles of other resolutions are ignored
    indicators: IndicatorParams = IndicatorParams()
    weights: Weights = Weights()
    directions: Directions = Directions()
    scales: Scales = Scales()


class Config(_Section):
    """The whole file, one field per section (risk and strategy add theirs here)."""

    signals: SignalsConfig = SignalsConfig()
    strategy: StrategyConfig = StrategyConfig()
    risk: RiskConfig = RiskConfig()
    paper: PaperConfig = PaperConfig()


def load_config(path: str | Path | None = None) -> Config:
    """The config in the TOML file at `path`, or the defaults; raises `ConfigError`."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {_explain(str(exc), data)}") from None


# msgspec's names for the TOML kinds
_KINDS = {"float": "a number", "int": "an integer", "str": "a string", "bool": "true or false",
          "object": "a table", "array": "an array"}


def _explain(error: str, data: dict[str, Any]) -> str:
    """msgspec's "Expected `int` >= 2 - at `$.signals.indicators.rsi_period`" as
    "signals.indicators.rsi_period: expected an integer >= 2, got 1"."""
    what, _, where = error.partition(" - at `$")
    keys = [key for key in where.rstrip("`").split(".") if key]
    if unknown := re.fullmatch(r"Object contains unknown field `(.+)`", what):
        known = ", ".join(_section_at(keys).__struct_fields__)
        return f"{'.'.join([*keys, unknown[1]])}: unknown key (known keys: {known})"
    if own := re.fullmatch(r"(\w+): (.+)", what):  # a section's own check names the key it blames
        keys.append(own[1])
        what = own[2]
    elif what.startswith("Invalid enum value"):
        options = typing.get_args(typing.get_type_hints(_section_at(keys[:-1]))[keys[-1]])
        what = "expected one of " + ", ".join(json.dumps(option) for option in options)
    value = _value_at(data, keys)
    if value is not None and not isinstance(value, (dict, list)):
        what = re.sub(r", got `\w+`$", "", what) + f", got {_toml(value)}"
    what = re.sub(r"`(\w+)`", lambda kind: _KINDS.get(kind[1], kind[1]), what)
    return f"{'.'.join(keys)}: {what[0].lower()}{what[1:]}"


def _section_at(keys: list[str]) -> type[Struct]:
    section: type[Struct] = Config
    for key in keys:
        section = typing.get_type_hints(section)[key]
    return section


def _value_at(data: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _toml(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, bool, int, float)) else str(value)
