"""The positions panel: PnL coloured by sign, liquidation distance highlighted as it comes within the
de-risking ladder's distances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.risk.config import RiskConfig
from tests.support.dashboard import MARKETS, PanelApp, account, book_top, derisking_account, normal_account
from widgets.positions import PositionsPanel, PositionsState

SIZES = {"80": (80, 6), "160": (160, 6)}
MARKS = {market: book_top(market).mid for market in MARKETS}
TICKS = {market: spec[1] for market, spec in MARKETS.items()}
STATES = {
    "normal": PositionsState(normal_account(), MARKS, TICKS),
    "de-risking": PositionsState(derisking_account(), MARKS, TICKS),
    "flat": PositionsState(account(Decimal(10_000), {}), MARKS, TICKS),
    "waiting": PositionsState(),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(PositionsPanel(), STATES[state]), terminal_size=SIZES[size])


@pytest.mark.parametrize(("distance", "style"), [
    (None, "$text-muted"), ("40", "$text-success"), ("15", "bold $text-warning"), ("8", "bold $text-error"),
    ("0.5", "bold $text-error"),
])
def test_liquidation_distance_is_styled_by_the_ladder_rungs(distance: str | None, style: str) -> None:
    panel = PositionsPanel(RiskConfig())  # NO_NEW_RISK from 15 %, REDUCE from 8 %
    assert panel.distance_style(None if distance is None else Decimal(distance)) == style


def test_a_row_shows_size_prices_pnl_and_liquidation() -> None:
    state = STATES["de-risking"]
    row = PositionsPanel().position_row(state.account.positions[0], state).plain.split()
    assert row == ["BTC-USD", "+1.8", "99,120", "97,012", "96,102", "-5,432.40", "90,999", "5.3%"]
