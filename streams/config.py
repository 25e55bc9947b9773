"""The bot's configuration: a TOML file of sections, validated when it is loaded.

Each layer owns its section as a msgspec Struct with defaults and constraints; `Config` assembles the
sections (one field each), and everything is strict: an unknown key or a bad value is refused with a
message that names the key path, e.g. `signals.weights.rsi: expected a number >= 0.0, got -1`.
No file means every default, and a file's tables lie over the defaults key by key, so any key of any table
(a rung's included) may be left out. `app/default_config.toml` spells the defaults out.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
import typing
from collections.abc import Collection
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

from streams.execution.paper_broker import PaperConfig
from streams.kernel.settings import Section
from streams.risk.config import RiskConfig
from streams.signals.config import SignalsConfig
from streams.signals.overlays import ChartConfig
from streams.sources.endpoints import LiveSection
from streams.strategy.config import StrategyConfig


class ConfigError(Exception):
    """A config file that cannot be used: the message names the file and the key."""


class Config(Section, frozen=True):
    """The whole file, one field per section (risk and strategy add theirs here)."""

    signals: SignalsConfig = SignalsConfig()
    strategy: StrategyConfig = StrategyConfig()
    risk: RiskConfig = RiskConfig()
    paper: PaperConfig = PaperConfig()
    live: LiveSection = LiveSection()
    chart: ChartConfig = ChartConfig()


def load_config(path: str | Path | None = None) -> Config:
    """The config in the TOML file at `path`, or the defaults; raises `ConfigError`."""
    if path is None:
        return Config()
    try:
        # utf-8-sig: editors on Windows start a UTF-8 file with a byte-order mark
        data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    data = _over(_DEFAULTS, data)
    try:
        return msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {_explain(str(exc), data)}") from None


def config_warnings(config: Config, markets: Collection[str] | None = None) -> list[str]:
    """What a valid config does that is probably not meant: the strategy filling its own margin budget
    halts it (NO_NEW_RISK), and a market to trade that the data (`markets`, when known) never has."""
    warnings = []
    rung = config.risk.no_new_risk.enter_usage
    if config.strategy.max_margin_usage >= rung:
        warnings.append(f"strategy.max_margin_usage ({config.strategy.max_margin_usage}) is not below "
                        f"risk.no_new_risk.enter_usage ({rung}): the strategy's own positions stop new risk")
    if markets is not None and (absent := [m for m in config.strategy.markets if m not in markets]):
        warnings.append(f"strategy.markets: {', '.join(absent)} not in the data ({', '.join(sorted(markets))}): "
                        "never traded")
    return warnings


_DEFAULTS = msgspec.to_builtins(Config(), builtin_types=(Decimal,))


def _over(defaults: Any, data: Any) -> Any:
    """`data` with what it leaves out of each table taken from `defaults`."""
    if not (isinstance(defaults, dict) and isinstance(data, dict)):
        return data
    return {**defaults, **{key: _over(defaults.get(key), value) for key, value in data.items()}}


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
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf: as TOML spells them
    return json.dumps(value) if isinstance(value, (str, bool, int, float)) else str(value)
