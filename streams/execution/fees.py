"""dYdX v4 trading fees: a fraction of each fill's notional, by which side of the book the order was on."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from streams.kernel.settings import BELOW_ONE, Range, Section

Liquidity = Literal["MAKER", "TAKER"]


class FeeSchedule(Section, frozen=True):
    """Defaults are fee tier 1 (under $1M 30-day volume): taker 5 bps, maker 1 bps. Higher tiers pay
    less and the top ones earn a maker rebate, which is a negative `maker`."""

    taker: Annotated[Decimal, BELOW_ONE] = Decimal("0.0005")
    maker: Annotated[Decimal, Range(-1, 1, low_open=True, high_open=True)] = Decimal("0.0001")

    def check(self) -> None:
        if self.taker + self.maker < 0:
            raise ValueError(f"maker: a rebate cannot exceed the taker fee ({self.taker})")

    def fee(self, notional: Decimal, liquidity: Liquidity) -> Decimal:
        """USDC paid on a fill of `notional` (sign ignored); negative is a rebate."""
        return abs(notional) * (self.taker if liquidity == "TAKER" else self.maker)
