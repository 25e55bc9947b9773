"""The `[strategy]` config section: how signal scores become positions, and when they are traded.

Fractions are plain numbers (0.02 = 2 %), money is USDC, durations are seconds of event time. The hard
limits (max position notional, max leverage) are the risk section's: the strategy sizes within them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from streams.kernel.settings import BELOW_ONE, BETWEEN_0_AND_1, SECONDS, SHARE, USDC, Range, Section


class StrategyConfig(Section, frozen=True):
    markets: tuple[str, ...] = ()
    """Markets to trade; empty: every market that has a score."""
    risk_per_market: Annotated[Decimal, SHARE] = Decimal("0.02")
    """Share of equity a one-sigma move over `horizon` may cost a full-score position: target notional =
    score × equity × risk_per_market / volatility."""
    volatility: Literal["atr", "realised"] = "atr"
    """ATR / close of the signal candles, or their annualised realised volatility; scaled to `horizon`."""
    horizon: Annotated[float, Range(0, 365 * 86_400, low_open=True)] = 86_400.0
    dead_zone: Annotated[float, BELOW_ONE] = 0.1
    """Scores closer to 0 than this target no position."""
    max_margin_usage: Annotated[Decimal, BETWEEN_0_AND_1] = Decimal("0.4")
    """Initial margin over equity the strategy may use; keep it below the risk ladder's NO_NEW_RISK rung."""
    min_trade_notional: Annotated[Decimal, USDC] = Decimal(25)
    rebalance_threshold: Annotated[Decimal, BELOW_ONE] = Decimal("0.25")
    """Trade only when the position is off target by this share of the larger of the two (no churn)."""
    rebalance_interval: Annotated[float, SECONDS] = 60.0
    """A market is looked at again no sooner than this."""
    max_slippage: Annotated[Decimal, BETWEEN_0_AND_1] = Decimal("0.002")
    """How far past the best opposite price the orders (IOC) may fill, as a fraction of it."""
