"""The trade history: each fill with the PnL it realised, and the running totals of realised PnL, fees and
funding, from the broker's fills (paper or live alike) and, where the broker reports them, funding payments.

Realised PnL is counted on the average entry price, as the chain's positions report it: a fill that
shrinks a position realises `closed × (price − entry)` (the other way round for a short), one that grows
it moves the entry, and one that flips it closes the old side and opens the new at its price. Fees are
kept apart (a fill's PnL is before its fee); liquidation and deleveraging fills count like trades.
"""

from __future__ import annotations

from decimal import Decimal

from msgspec import Struct

from streams.kernel.orders import Fill

ZERO = Decimal(0)


class LedgerEntry(Struct, frozen=True):
    fill: Fill
    realized_pnl: Decimal
    position: Decimal  # signed, after the fill


class LedgerTotals(Struct, frozen=True):
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO  # received (+) or paid (−)

    @property
    def net(self) -> Decimal:
        return self.realized_pnl - self.fees + self.funding


class Ledger:
    def __init__(self) -> None:
        self._held: dict[str, tuple[Decimal, Decimal]] = {}  # market -> (signed size, average entry)
        self.totals = LedgerTotals()

    def on_fill(self, fill: Fill) -> LedgerEntry:
        size, entry = self._held.get(fill.market, (ZERO, ZERO))
        signed = fill.size if fill.side == "BUY" else -fill.size
        closed = min(abs(size), fill.size) if size and (size > 0) != (signed > 0) else ZERO
        realized = closed * (fill.price - entry) * (1 if size > 0 else -1) if closed else ZERO
        after = size + signed
        if not after:
            self._held.pop(fill.market, None)
        else:
            if not size or (after > 0) != (size > 0):
                entry = fill.price  # opened, or flipped: the rest opened at this price
            elif abs(after) > abs(size):
                entry = (size * entry + signed * fill.price) / after
            self._held[fill.market] = (after, entry)
        self.totals = LedgerTotals(self.totals.realized_pnl + realized, self.totals.fees + fill.fee,
                                   self.totals.funding)
        return LedgerEntry(fill, realized, after)

    def on_funding(self, amount: Decimal) -> None:
        self.totals = LedgerTotals(self.totals.realized_pnl, self.totals.fees, self.totals.funding + amount)
