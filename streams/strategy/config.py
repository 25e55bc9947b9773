"""The `[strategy]` config section: how signal scores become positions, and when they are traded.

Fractions are plain numbers (0.02 = 2 %), money is USDC, durations are seconds of event time. The hard
limits (max position notional, max leverage) are the risk section's: the strategy sizes within them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct


class StrategyConfig(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    markets: tuple[str, ...] = ()
    """Markets to trade; empty: every market that has a score."""
    risk_per_market: Decimal = Decimal("0.02")
    """Share of equity a one-sigma move over `horizon` may cost a full-score position: target notional =
    score × equity × risk_per_market / volatility."""
    volatility: Literal["atr", "realised"] = "atr"
    """ATR / close of the signal candles, or their annualised realised volatility; scaled to `horizon`."""
    horizon: float = 86_400.0
    dead_zone: float = 0.1
    """Scores closer to 0 than this target no position."""
    max_margin_usage: Decimal = Decimal("0.4")
    """Initial margin over equity the strategy may use; keep it below the risk ladder's NO_NEW_RISK rung."""
    min_trade_notional: Decimal = Decimal(25)
    rebalance_threshold: Decimal = Decimal("0.25")
    """Trade only when the position is off target by this share of the larger of the two (no churn)."""
    rebalance_interval: float = 60.0
    """A market is looked at again no sooner than this."""
    max_slippage: Decimal = Decimal("0.002")
    """How far past the best opposite price the orders (IOC) may fill, as a fraction of it."""

    def __post_init__(self) -> None:
        if not 0 < self.risk_per_market <= 1:
            raise ValueError("risk_per_market: must be greater than 0 and at most 1")
        if not self.horizon > 0:
            raise ValueError("horizon: must be greater than 0")
        if not 0 <= self.dead_zone < 1:
            raise ValueError("dead_zone: must be >= 0 and below 1")
        if not 0 < self.max_margin_usage < 1:
            raise ValueError("max_margin_usage: must be between 0 and 1")
        if self.min_trade_notional < 0:
            raise ValueError("min_trade_notional: must be >= 0")
        if not 0 <= self.rebalance_threshold < 1:
            raise ValueError("rebalance_threshold: must be >= 0 and below 1")
        if self.rebalance_interval < 0:
            raise ValueError("rebalance_interval: must be >= 0")
        if not 0 < self.max_slippage < 1:
            raise ValueError("max_slippage: must be between 0 and 1")
