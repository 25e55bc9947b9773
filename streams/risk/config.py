"""The `[risk]` config section: the de-risking ladder's rungs, the hard limits and the de-risking pace.

Fractions are plain numbers (0.7 = 70 %), money is USDC, durations are seconds of event time. A bad value
is refused at load with a message naming its key (the `key: problem` form `streams.signals.config`
reports with its path).
"""

from __future__ import annotations

from decimal import Decimal

from msgspec import Struct


class Rung(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One rung of the ladder, with hysteresis: the account climbs onto it when margin usage reaches
    `enter_usage` or the nearest liquidation price comes within `enter_distance` (a fraction of the oracle
    price), and steps down only once usage is below `exit_usage` and every liquidation price is farther
    than `exit_distance`."""

    enter_usage: Decimal
    exit_usage: Decimal
    enter_distance: Decimal
    exit_distance: Decimal

    def __post_init__(self) -> None:
        if not 0 < self.exit_usage < self.enter_usage:
            raise ValueError(f"exit_usage: must be greater than 0 and below enter_usage ({self.enter_usage})")
        if not 0 <= self.enter_distance < self.exit_distance:
            raise ValueError(f"exit_distance: must be greater than enter_distance ({self.enter_distance}), "
                             "which must be >= 0")


def _rung(enter_usage: str, exit_usage: str, enter_distance: str, exit_distance: str) -> Rung:
    return Rung(enter_usage=Decimal(enter_usage), exit_usage=Decimal(exit_usage),
                enter_distance=Decimal(enter_distance), exit_distance=Decimal(exit_distance))


class ProtectionConfig(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The `[risk.protection]` config section: protective stops (`streams.risk.protection`)."""

    live: bool = True
    """Keep a protective stop per position when trading live (the default: it is what protects a position
    when the bot is down)."""
    paper: bool = False
    """The same for the paper broker, so that a replay shows the stops and their triggers."""
    distance: Decimal = Decimal("0.03")
    """How far before the liquidation price the stop triggers, as a fraction of that price."""
    replace_move: Decimal = Decimal("0.01")
    """Re-place a stop only when its trigger would move by more than this fraction of it."""
    good_til_seconds: int = 28 * 24 * 3600
    """How long a stop rests on the chain (at most the chain's 95 days); it is renewed when replaced."""
    max_slippage: Decimal = Decimal("0.05")
    """How far past the trigger the stop-market order may fill, as a fraction of the trigger."""
    retry_after: float = 60.0
    """Seconds of event time before a stop the venue refused is tried again."""

    def __post_init__(self) -> None:
        if not 0 < self.distance < 1:
            raise ValueError("distance: must be between 0 and 1")
        if not 0 <= self.replace_move < 1:
            raise ValueError("replace_move: must be >= 0 and below 1")
        if not 0 < self.good_til_seconds <= 95 * 24 * 3600:
            raise ValueError("good_til_seconds: must be greater than 0 and at most 95 days (8208000)")
        if not 0 < self.max_slippage < 1:
            raise ValueError("max_slippage: must be between 0 and 1")
        if self.retry_after < 0:
            raise ValueError("retry_after: must be >= 0")


class RiskConfig(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    no_new_risk: Rung = _rung("0.50", "0.40", "0.15", "0.20")
    reduce: Rung = _rung("0.70", "0.60", "0.08", "0.10")
    flatten: Rung = _rung("0.85", "0.75", "0.04", "0.06")
    max_leverage: Decimal = Decimal(5)
    max_position_notional: Decimal = Decimal(25_000)
    """Per market, USDC at the oracle price."""
    daily_loss_limit: Decimal = Decimal(1_000)
    """USDC below the equity of the day's first account update (UTC day of event time): trips the kill
    switch."""
    flatten_on_daily_loss: bool = True
    failed_order_pause: float = 60.0
    """After a rejected order, new risk stays paused this long."""
    reduce_fraction: Decimal = Decimal("0.25")
    """Share of the largest maintenance-margin position each REDUCE round closes."""
    derisk_interval: float = 10.0
    """Seconds between two de-risking rounds (REDUCE or FLATTEN orders)."""
    max_slippage: Decimal = Decimal("0.02")
    """How far past the best price a de-risking market order may fill, as a fraction of it."""
    protection: ProtectionConfig = ProtectionConfig()

    def __post_init__(self) -> None:
        for low, high in (("no_new_risk", "reduce"), ("reduce", "flatten")):
            lower, higher = getattr(self, low), getattr(self, high)
            if not (lower.enter_usage < higher.enter_usage and lower.enter_distance > higher.enter_distance):
                raise ValueError(f"{high}: must be stricter than {low} (a higher enter_usage, a lower "
                                 "enter_distance)")
        for key in ("max_leverage", "max_position_notional", "daily_loss_limit", "derisk_interval"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key}: must be greater than 0")
        if not 0 < self.reduce_fraction <= 1:
            raise ValueError("reduce_fraction: must be greater than 0 and at most 1")
        if self.failed_order_pause < 0:
            raise ValueError("failed_order_pause: must be >= 0")
        if not 0 < self.max_slippage < 1:
            raise ValueError("max_slippage: must be between 0 and 1")
