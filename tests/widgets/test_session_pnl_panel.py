"""The session PnL panel, shown a ledger's state after a few fills (a win, a loss, funding), and before
any account; and its one-line summary."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.execution.ledger import Ledger, SessionPnl
from streams.execution.paper_broker import FundingPayment
from streams.kernel.orders import Fill
from tests.support.dashboard import PanelApp, T, account
from widgets.session_pnl import SessionPnlPanel, SessionPnlState, summary

D = Decimal
SIZES = {"80": (80, 6), "160": (160, 6)}


def traded() -> SessionPnl:
    ledger = Ledger()
    ledger.on_event(account(D("10000"), {}))
    for side, size, price in (("BUY", "0.2", "97000"), ("SELL", "0.1", "97400"), ("SELL", "0.1", "96900")):
        ledger.on_event(Fill(T, "BTC-USD", side, D(size), D(price), D("3.88"), "TAKER"))  # type: ignore[arg-type]
    ledger.on_event(Fill(T, "ETH-USD", "SELL", D("2"), D("3412.1"), D("1.36"), "MAKER"))
    ledger.on_event(FundingPayment(T, "ETH-USD", D("-2"), D("3412.1"), D("0.00001"), D("0.07")))
    (state,) = ledger.on_event(account(D("16800"), {"ETH-USD": (D("-2"), D("3412.1"))},
                                       prices={"ETH-USD": D("3401.3")}))
    return state


STATES = {"traded": SessionPnlState(traded()), "waiting": SessionPnlState()}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(SessionPnlPanel(), STATES[state]), terminal_size=SIZES[size])


def test_the_summary_names_every_figure() -> None:
    assert summary(traded()) == ("net +38.67 USDC (realised +30.00, unrealised +21.60, fees 13.00, funding +0.07); "
                                 "4 trades, 2 round trips, 50.0% won")
    assert summary(None) == "no account yet: nothing traded"
