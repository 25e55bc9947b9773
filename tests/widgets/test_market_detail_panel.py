"""The market detail view: parameters, the leverage they allow, volume, and the funding rate's history."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.dashboard import PanelApp, T, market_info
from widgets.market_detail import MarketDetailPanel, MarketDetailState, figures

SIZES = {"80": (80, 6), "160": (160, 6)}
HISTORY = ((T - 7200, Decimal("0.0000110")), (T - 3600, Decimal("0.0000125")), (T, Decimal("-0.0000031")))
STATES = {"detail": MarketDetailState("BTC-USD", market_info("BTC-USD"), HISTORY),
          "waiting": MarketDetailState("ETH-USD")}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(MarketDetailPanel(), STATES[state]), terminal_size=SIZES[size])


def test_the_figures_name_margin_leverage_and_funding_history() -> None:
    lines = figures(STATES["detail"]).plain.splitlines()
    assert lines[0] == "BTC-USD  active  cross margin"
    assert lines[1].split() == ["Margin", "initial", "2.00%", "maintenance", "1.20%", "max", "leverage", "50×"]
    assert lines[2].split()[:4] == ["Oracle", "97,012", "24h", "volume"]
    assert lines[3].endswith("history  08:20 +0.0011%  09:20 +0.0012%  10:20 -0.0003%")
