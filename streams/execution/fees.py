"""dYdX v4 trading fees: a fraction of each fill's notional, by which side of the book the order was on."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct

Liquidity = Literal["MAKER", "TAKER"]


class FeeSchedule(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Defaults are fee tier 1 (under $1M 30-day volume): taker 5 bps, maker 1 bps. Higher tiers pay
    less and the top ones earn a maker rebate, which is a negative `maker`."""

    taker: Decimal = Decimal("0.0005")
    maker: Decimal = Decimal("0.0001")

    def __post_init__(self) -> None:
        if self.taker < 0:
            raise ValueError("taker: must be >= 0")
        if self.taker + self.maker < 0:
            raise ValueError(f"maker: a rebate cannot exceed the taker fee ({self.taker})")

    def fee(self, notional: Decimal, liquidity: Liquidity) -> Decimal:
        """USDC paid on a fill of `notional` (sign ignored); negative is a rebate."""
        return abs(notional) * (self.taker if liquidity == "TAKER" else self.maker)
