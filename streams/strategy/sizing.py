"""Position sizing, pure: a volatility-scaled target from a score, the limits it is cut to, the step grid,
and the rule that keeps small corrections from churning."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Literal

YEAR = 365 * 24 * 3600.0
ZERO = Decimal(0)


def horizon_volatility(values: Mapping[str, float | None], source: Literal["atr", "realised"],
                       bar_seconds: float, horizon: float) -> float | None:
    """The relative move (0.03 = 3 %) one standard deviation spans over `horizon` seconds, from the
    indicators: ATR / close of one bar, or the annualised realised volatility, scaled by √time. None while
    the indicator warms up (or reads 0)."""
    if source == "atr":
        atr, close = values.get("atr"), values.get("close")
        return atr / close * math.sqrt(horizon / bar_seconds) if atr and close else None
    annual = values.get("volatility")
    return annual * math.sqrt(horizon / YEAR) if annual else None


def scaled_notional(score: float, equity: Decimal, risk_per_market: Decimal, volatility: float,
                    dead_zone: float) -> Decimal:
    """The signed notional whose one-sigma move costs `score × risk_per_market` of equity."""
    if abs(score) < dead_zone:
        return ZERO
    return Decimal(repr(score)) * equity * risk_per_market / Decimal(repr(volatility))


def capped(notional: Decimal, limits: Iterable[tuple[str, Decimal]]) -> tuple[Decimal, str]:
    """`notional` cut to the tightest of `limits` (name, largest allowed |notional|), and the name of the
    limit that cut it ("" when none did)."""
    name, bound = min(limits, key=lambda limit: limit[1])
    if abs(notional) <= bound:
        return notional, ""
    return max(bound, ZERO).copy_sign(notional), name


def toward_zero(target: Decimal, held: Decimal) -> Decimal:
    """`target` kept between flat and `held`: a position may shrink or close, never grow or flip."""
    return min(max(target, min(held, ZERO)), max(held, ZERO))


def on_step(size: Decimal, step: Decimal) -> Decimal:
    """`size` in whole steps, rounded toward zero (written to the step's precision)."""
    return ((size / step).to_integral_value(ROUND_DOWN) * step).quantize(step)


def worth_trading(target: Decimal, held: Decimal, price: Decimal, step: Decimal, min_notional: Decimal,
                  threshold: Decimal) -> bool:
    """Whether moving from `held` to `target` (sizes) is a trade worth making: at least a step, at least
    `min_notional`, and at least `threshold` of the larger of the two."""
    delta = abs(target - held)
    return delta >= step and delta * price >= max(min_notional, threshold * max(abs(target), abs(held)) * price)
