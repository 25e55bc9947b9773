"""The markets panel: snapshots in the normal and error states at 80 and 160 columns, the row text, and
selection by click."""

from __future__ import annotations

import pytest

from tests.support.dashboard import PanelApp, T, book_top, market_info
from widgets.markets import MarketRow, MarketsPanel, MarketsState, market_row, next_funding

SIZES = {"80": (80, 8), "160": (160, 8)}

NORMAL = MarketsState(rows=tuple(MarketRow(m, market_info(m), book_top(m), "ok")
                                 for m in ("BTC-USD", "ETH-USD", "SOL-USD")), selected="ETH-USD", t=T)
ERROR = MarketsState(rows=(MarketRow("BTC-USD", market_info("BTC-USD"), book_top("BTC-USD", ticks_wide=40), "ok"),
                           MarketRow("ETH-USD", market_info("ETH-USD"), None, "error"),
                           MarketRow("SOL-USD", None, None, "stale")), selected="BTC-USD", t=T)
STATES = {"normal": NORMAL, "error": ERROR, "empty": MarketsState()}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(MarketsPanel(), STATES[state]), terminal_size=SIZES[size])


def test_a_row_reads_as_a_trader_expects() -> None:
    row = market_row(NORMAL.rows[0], next_funding(T)).plain.split()
    # price to the tick, 24h change relative to a day ago, hourly funding, countdown to the hour (T is :20:42)
    assert row == ["BTC-USD", "97,012", "+1.26%", "+0.0012%", "39:18", "0.1bp", "512", "●", "ok"]


def test_a_market_without_data_shows_dashes() -> None:
    row = market_row(MarketRow("SOL-USD"), next_funding(None)).plain.split()
    assert row == ["SOL-USD", *["—"] * 6, "○", "waiting"]


class SelectingApp(PanelApp):
    selected: list[str]

    def on_markets_panel_selected(self, message: MarketsPanel.Selected) -> None:
        self.selected.append(message.market)


async def test_clicking_a_row_selects_its_market() -> None:
    app = SelectingApp(MarketsPanel(), NORMAL)
    app.selected = []
    async with app.run_test(size=(80, 8)) as pilot:
        await pilot.click("KeyedRows", offset=(2, 0))
        await pilot.click("KeyedRows", offset=(2, 1))  # the selected row
    assert app.selected == ["BTC-USD", "ETH-USD"]
