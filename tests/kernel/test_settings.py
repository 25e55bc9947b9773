"""Config sections: every number field declares its range once, and the ranges are checked (finite first)
before a section's own rules, so those rules never compare a NaN."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec
import pytest

import streams.config  # noqa: F401 - imports every section
from streams.kernel.settings import Range, Section, numbers_without_range


def all_sections(base: type[Section] = Section) -> list[type[Section]]:
    return [cls for sub in base.__subclasses__() for cls in (sub, *all_sections(sub))]


def test_every_number_of_every_section_declares_its_range():
    sections = [cls for cls in all_sections() if cls.__module__.startswith("streams.")]
    assert {"Config", "RiskConfig", "Rung", "PaperConfig", "FeeSchedule", "StrategyConfig", "Weights"} <= {
        cls.__name__ for cls in sections}
    assert {cls.__name__: numbers_without_range(cls) for cls in sections if numbers_without_range(cls)} == {}


class Limits(Section, frozen=True):
    fee: Annotated[Decimal, Range(0, 1, high_open=True)] = Decimal("0.1")
    pause: Annotated[float, Range(0, 60, low_open=True)] = 1.0
    unbounded: float = 0.0

    def check(self) -> None:
        if self.fee * 2 > 1:  # a NaN here would raise InvalidOperation
            raise ValueError("fee: must be at most 0.5")


@pytest.mark.parametrize(("data", "message"), [
    ({"fee": "NaN"}, "fee: expected a finite number >= 0 and < 1"),
    ({"fee": "Infinity"}, "fee: expected a finite number >= 0 and < 1"),
    ({"fee": 1}, "fee: expected a finite number >= 0 and < 1"),
    ({"fee": -0.0001}, "fee: expected a finite number >= 0 and < 1"),
    ({"fee": 0.6}, "fee: must be at most 0.5"),
    ({"pause": 0}, "pause: expected a finite number > 0 and <= 60"),
    ({"pause": float("inf")}, "pause: expected a finite number > 0 and <= 60"),
])
def test_a_value_out_of_its_range_is_refused_before_the_sections_rules(data, message):
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(data, Limits)


def test_the_ends_of_a_range_are_in_it_unless_open():
    assert msgspec.convert({"fee": 0, "pause": 60}, Limits) == Limits(fee=Decimal(0), pause=60.0)
    assert numbers_without_range(Limits) == ["unbounded"]


def test_a_section_that_puts_its_rules_in_post_init_is_refused():
    with pytest.raises(TypeError, match=r"Bypass: put the section's rules in check\(\), not __post_init__"):
        class Bypass(Section):
            def __post_init__(self) -> None:
                pass
