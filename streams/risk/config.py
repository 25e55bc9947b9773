"""The `[risk]` config section: the de-risking ladder's rungs, the hard limits and the de-risking pace.

Fractions are plain numbers (0.7 = 70 %), money is USDC, durations are seconds of event time. A bad value
is refused at load with a message naming its key (the `key: problem` form `streams.signals.config`
reports with its path).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from streams.kernel.settings import BELOW_ONE, BETWEEN_0_AND_1, SECONDS, SHARE, Range, Section

Usage = Annotated[Decimal, Range(0, 10, low_open=True)]
"""Initial margin over equity."""
Distance = Annotated[Decimal, Range(0, 1)]
"""A fraction of the oracle price."""
Money = Annotated[Decimal, Range(0, 1e12, low_open=True)]


class Rung(Section, frozen=True):
    """One rung of the ladder, with hysteresis: the account climbs onto it when margin usage reaches
    `enter_usage` or the nearest liquidation price comes within `enter_distance` (a fraction of the oracle
    price), and steps down only once usage is below `exit_usage` and every liquidation price is farther
    than `exit_distance`."""

    enter_usage: Usage
    exit_usage: Usage
    enter_distance: Distance
    exit_distance: Distance

    def check(self) -> None:
        if not self.exit_usage < self.enter_usage:
            raise ValueError(f"exit_usage: must be below enter_usage ({self.enter_usage})")
        if not self.enter_distance < self.exit_distance:
            raise ValueError(f"exit_distance: must be greater than enter_distance ({self.enter_distance})")


def _rung(enter_usage: str, exit_usage: str, enter_distance: str, exit_distance: str) -> Rung:
    return Rung(enter_usage=Decimal(enter_usage), exit_usage=Decimal(exit_usage),
                enter_distance=Decimal(enter_distance), exit_distance=Decimal(exit_distance))


class ProtectionConfig(Section, frozen=True):
    """The `[risk.protection]` config section: protective stops (`streams.risk.protection`)."""

    live: bool = True
    """Keep a protective stop per position when trading live (the default: it is what protects a position
    when the bot is down)."""
    paper: bool = False
    """The same for the paper broker, so that a replay shows the stops and their triggers."""
    distance: Annotated[Decimal, BETWEEN_0_AND_1] = Decimal("0.03")
    """How far before the liquidation price the stop triggers, as a fraction of that price."""
    replace_move: Annotated[Decimal, BELOW_ONE] = Decimal("0.01")
    """Re-place a stop only when its trigger would move by more than this fraction of it."""
    good_til_seconds: Annotated[int, Range(0, 95 * 24 * 3600, low_open=True)] = 28 * 24 * 3600
    """How long a stop rests on the chain (at most the chain's 95 days); it is renewed when replaced."""
    max_slippage: Annotated[Decimal, BETWEEN_0_AND_1] = Decimal("0.05")
    """How far past the trigger the stop-market order may fill, as a fraction of the trigger."""
    retry_after: Annotated[float, SECONDS] = 60.0
    """Seconds of event time before a stop the venue refused is tried again."""


class RiskConfig(Section, frozen=True):
    no_new_risk: Rung = _rung("0.50", "0.40", "0.15", "0.20")
    reduce: Rung = _rung("0.70", "0.60", "0.08", "0.10")
    flatten: Rung = _rung("0.85", "0.75", "0.04", "0.06")
    max_leverage: Annotated[Decimal, Range(0, 100, low_open=True)] = Decimal(5)
    max_position_notional: Money = Decimal(25_000)
    """Per market, USDC at the oracle price."""
    daily_loss_limit: Money = Decimal(1_000)
    """USDC below the equity of the day's first account update (UTC day of event time): trips the kill
    switch."""
    flatten_on_daily_loss: bool = True
    failed_order_pause: Annotated[float, SECONDS] = 60.0
    """After a rejected order, new risk stays paused this long."""
    reduce_fraction: Annotated[Decimal, SHARE] = Decimal("0.25")
    """Share of the largest maintenance-margin position each REDUCE round closes."""
    derisk_interval: Annotated[float, Range(0, 7 * 86_400, low_open=True)] = 10.0
    """Seconds between two de-risking rounds (REDUCE or FLATTEN orders)."""
    max_slippage: Annotated[Decimal, BETWEEN_0_AND_1] = Decimal("0.02")
    """How far past the best price a de-risking market order may fill, as a fraction of it."""
    protection: ProtectionConfig = ProtectionConfig()

    def check(self) -> None:
        for low, high in (("no_new_risk", "reduce"), ("reduce", "flatten")):
            lower, higher = getattr(self, low), getattr(self, high)
            if not (lower.enter_usage < higher.enter_usage and lower.enter_distance > higher.enter_distance):
                raise ValueError(f"{high}: must be stricter than {low} (a higher enter_usage, a lower "
                                 "enter_distance)")
