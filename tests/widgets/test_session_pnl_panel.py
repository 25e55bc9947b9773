"""The session PnL panel, shown a ledger's state after a few fills (a win, a loss, funding), and before
any account; and its one-line summary."""

from __future__ import annotations

import pytest

from tests.support.dashboard import PanelApp, traded_pnl
from widgets.session_pnl import SessionPnlPanel, SessionPnlState, summary

SIZES = {"80": (80, 6), "160": (160, 6)}


STATES = {"traded": SessionPnlState(traded_pnl()), "waiting": SessionPnlState()}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(SessionPnlPanel(), STATES[state]), terminal_size=SIZES[size])


def test_the_summary_names_every_figure() -> None:
    assert summary(traded_pnl()) == ("net +38.67 USDC (realised +30.00, unrealised +21.60, fees 13.00, funding +0.07); "
                                 "4 trades, 2 round trips, 50.0% won")
    assert summary(None) == "no account yet: nothing traded"
