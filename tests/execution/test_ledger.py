"""Realised PnL, fees and funding from a stream of fills, on the average entry price."""

from __future__ import annotations

from decimal import Decimal as D

from streams.execution.ledger import Ledger, LedgerTotals
from streams.kernel.orders import Fill


def fill(side: str, size: str, price: str, fee: str = "0", market: str = "ETH-USD") -> Fill:
    return Fill(0.0, market, side, D(size), D(price), D(fee), "TAKER")


def test_a_round_trip_realises_the_price_difference_and_keeps_fees_apart():
    ledger = Ledger()
    opened, grown, half, rest = (ledger.on_fill(f) for f in (
        fill("BUY", "1", "3000", "1.5"), fill("BUY", "1", "3100", "1.55"), fill("SELL", "1", "3200", "1.6"),
        fill("SELL", "1", "2900", "1.45")))
    assert (opened.realized_pnl, grown.realized_pnl) == (0, 0) and grown.position == 2
    assert half.realized_pnl == 150 and half.position == 1  # entry 3050
    assert rest.realized_pnl == -150 and rest.position == 0
    assert ledger.totals == LedgerTotals(D(0), D("6.10"), D(0))


def test_a_flip_closes_one_side_and_opens_the_other_at_the_fill_price():
    ledger = Ledger()
    ledger.on_fill(fill("SELL", "2", "3000"))
    flip = ledger.on_fill(fill("BUY", "3", "2900"))
    assert flip.realized_pnl == 200 and flip.position == 1  # the short gained 100 a unit on 2
    assert ledger.on_fill(fill("SELL", "1", "2950")).realized_pnl == 50  # the new long, from 2900


def test_markets_are_apart_and_funding_adds_to_the_net():
    ledger = Ledger()
    ledger.on_fill(fill("BUY", "1", "3000", "1"))
    ledger.on_fill(fill("BUY", "0.1", "90000", "4.5", market="BTC-USD"))
    assert ledger.on_fill(fill("SELL", "1", "3010", "1")).realized_pnl == 10
    ledger.on_funding(D("-0.25"))
    assert ledger.totals.net == D(10) - D("6.5") - D("0.25")
