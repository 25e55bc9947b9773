"""The indicator registry is the one place an indicator is declared: the snapshot keys, the construction
and the contributors all come from its entries, and every indicator parameter of the config is read by one."""

from __future__ import annotations

from typing import Any

from streams.signals.config import IndicatorParams
from streams.signals.indicators.registry import BAR_VALUES, CONTRIBUTORS, INDICATORS, VALUES


class _Reads:
    """IndicatorParams that notes which fields a factory reads."""

    def __init__(self) -> None:
        self.params = IndicatorParams()
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self.params, name)


def test_snapshot_keys_are_the_close_then_each_entrys_values_bar_indicators_first():
    bars = [key for entry in INDICATORS if entry.feed == "bar" for key in entry.values]
    others = [key for entry in INDICATORS if entry.feed != "bar" for key in entry.values]
    assert list(BAR_VALUES) == ["close", *bars]
    assert list(VALUES) == ["close", *bars, *others]
    assert len(set(VALUES)) == len(VALUES)
    assert len({entry.name for entry in INDICATORS}) == len(INDICATORS)


def test_contributors_are_the_entries_that_have_one_in_registry_order():
    assert list(CONTRIBUTORS) == [entry.name for entry in INDICATORS if entry.contributor is not None]


def test_every_indicator_parameter_is_read_by_an_entry_and_each_entry_makes_its_indicator():
    reads = _Reads()
    for entry in INDICATORS:
        indicator = entry.make(reads, 525_600.0)  # type: ignore[arg-type]  # the spy stands in for the params
        assert hasattr(indicator, "update" if entry.feed in ("bar", "book") else "settle"), entry.name
    assert reads.read == set(IndicatorParams.__struct_fields__)
