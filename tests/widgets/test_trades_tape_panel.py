"""The trades tape view: the bundled recording's ETH-USD trades through the tape stage, then shown newest on
top at 80 and 160 columns; before any trade; and the rows as they read (side, colours, the large mark)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.sources import DEFAULT_RECORDING
from streams.market.trades import MarketTrade, TapeConfig, tape
from streams.sources.recording import open_recording
from tests.support.builders import run_frames
from tests.support.dashboard import PanelApp
from widgets.format import DOWN, UP
from widgets.trades_tape import LARGE, TradesTapePanel, TradesTapeState, summary_line, trade_row

SIZES = {"80": (80, 14), "160": (160, 14)}
TICK = Decimal("0.1")


@pytest.fixture(scope="module")
def trades() -> tuple[MarketTrade, ...]:
    frames = list(open_recording(DEFAULT_RECORDING).frames())
    out = run_frames(frames, tape(TapeConfig(large_notional=Decimal(5_000))))
    eth = [trade for trade in out if trade.market == "ETH-USD"][-40:]
    assert any(trade.large for trade in eth) and not all(trade.large for trade in eth)
    return tuple(reversed(eth))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", ["trades", "waiting"])
def test_snapshot(snap_compare, trades, state: str, size: str) -> None:
    shown = TradesTapeState("ETH-USD", trades, TICK) if state == "trades" else TradesTapeState("ETH-USD")
    assert snap_compare(PanelApp(TradesTapePanel(), shown), terminal_size=SIZES[size])


def test_a_row_reads_time_side_size_price_notional_and_its_marks() -> None:
    buy = MarketTrade(1.0, "ETH-USD", "1", "BUY", Decimal("12.5"), Decimal("3245.1"), "2024-07-26T17:02:03.456Z",
                      "LIMIT", True)
    row = trade_row(buy, TICK)
    assert row.plain.split() == ["17:02:03", "BUY", "12.5", "3,245.1", "40.56K", LARGE]
    assert any(UP in str(span.style) and "bold" in str(span.style) for span in row.spans)
    liquidated = MarketTrade(1.0, "ETH-USD", "2", "SELL", Decimal("0.5"), Decimal("3245.1"),
                             "2024-07-26T17:02:04.000Z", "LIQUIDATED", False)
    row = trade_row(liquidated, TICK)
    assert row.plain.split()[-1] == "liq" and LARGE not in row.plain
    assert any(DOWN in str(span.style) for span in row.spans)


def test_the_summary_says_the_last_price_and_what_was_bought_and_sold(trades) -> None:
    text = summary_line(TradesTapeState("ETH-USD", trades, TICK)).plain
    bought = sum(t.size for t in trades if t.side == "BUY")
    assert text.startswith(f"ETH-USD  last {trades[0].price:,.1f}  bought {bought.normalize():,f}")
    assert f"in the last {len(trades)}" in text
    assert summary_line(TradesTapeState(None)).plain == "no market: waiting for its trades"
