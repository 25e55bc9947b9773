"""The base of every config section: immutable, strict (an unknown key is refused), keyword-only, and every
number in its declared range.

msgspec constrains ints and floats but not `Decimal`, and it lets NaN and infinity through an unconstrained
float; a NaN in a Decimal then raises `InvalidOperation` (not a validation error) at the first comparison.
So each number field declares its `Range` once, in its annotation, and `Section` checks every one of them,
finite first, before the section's own cross-field `check` runs.
"""

from __future__ import annotations

import functools
import math
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from msgspec import Struct


@dataclass(frozen=True)
class Range:
    """The values a number field may take: finite, from `low` to `high`, an end excluded when it is open."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def problem(self, value: float | Decimal) -> str | None:
        """What is wrong with `value` (the `expected ...` part of the message), or None."""
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if finite and (value > self.low if self.low_open else value >= self.low) and (
                value < self.high if self.high_open else value <= self.high):
            return None
        return (f"expected a finite number {'>' if self.low_open else '>='} {_plain(self.low)} "
                f"and {'<' if self.high_open else '<='} {_plain(self.high)}")


def _plain(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else str(bound)


class Section(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One table of the config file (`streams.config` assembles them). A subclass declares its cross-field
    rules in `check` (raising `ValueError("key: what is wrong")`), never in `__post_init__`, so that the
    ranges are always checked first. Subclasses repeat `frozen=True` (msgspec inherits it, but type checkers
    reading the dataclass transform do not)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__post_init__" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: put the section's rules in check(), not __post_init__")

    def __post_init__(self) -> None:
        for name, declared in _ranges(type(self)).items():
            if (problem := declared.problem(getattr(self, name))) is not None:
                raise ValueError(f"{name}: {problem}")
        self.check()

    def check(self) -> None:
        """The section's rules across its fields; its numbers are already in range."""


@functools.cache
def _ranges(section: type[Section]) -> dict[str, Range]:
    ranges = {}
    for name, hint in typing.get_type_hints(section, include_extras=True).items():
        declared = [meta for meta in getattr(hint, "__metadata__", ()) if isinstance(meta, Range)]
        if declared:
            ranges[name] = declared[0]
    return ranges


def numbers_without_range(section: type[Section]) -> list[str]:
    """The float and Decimal fields of `section` that declare no `Range` (a test keeps this empty)."""
    hints = typing.get_type_hints(section, include_extras=True)
    kinds = {name: typing.get_args(hint)[0] if hasattr(hint, "__metadata__") else hint for name, hint in hints.items()}
    return [name for name in section.__struct_fields__
            if kinds[name] in (float, Decimal) and name not in _ranges(section)]


SECONDS = Range(0, 7 * 86_400)
"""A pause or an interval of event time: up to a week."""
USDC = Range(0, 1e12)
SHARE = Range(0, 1, low_open=True)
"""A share of something that must be there: above 0, at most all of it."""
BELOW_ONE = Range(0, 1, high_open=True)
BETWEEN_0_AND_1 = Range(0, 1, low_open=True, high_open=True)
