"""Session PnL: what trading did since the session began - net, realised and unrealised PnL, fees paid,
funding paid or received, trades, round trips and win rate, and equity against where it started."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from textual.content import Content
from textual.widgets import Sparkline, Static

from streams.execution.ledger import SessionPnl
from widgets.format import DIM, MISSING, join, number, percent, sign_style
from widgets.panel import Panel
from widgets.rows import show_text
from widgets.tcss import beside

LABEL = 11


@dataclass(frozen=True)
class SessionPnlState:
    pnl: SessionPnl | None = None
    history: tuple[float, ...] = ()
    """Net PnL over the session, oldest first (the chart under the figures)."""


def signed(value: Decimal) -> Content:
    return Content.styled(number(value, signed=True), sign_style(value))


def win_rate(pnl: SessionPnl) -> str:
    return MISSING if pnl.win_rate is None else percent(pnl.win_rate)


def summary(pnl: SessionPnl | None) -> str:
    """One line for the exit and the log: `net -2.38 USDC (realised +9.60, unrealised -1.04, fees 25.00,
    funding +0.12); 12 trades, 6 round trips, 50.0% won`."""
    if pnl is None:
        return "no account yet: nothing traded"
    return (f"net {number(pnl.net, signed=True)} USDC (realised {number(pnl.realized, signed=True)}, "
            f"unrealised {number(pnl.unrealized, signed=True)}, fees {number(pnl.fees)}, "
            f"funding {number(pnl.funding, signed=True)}); {pnl.trades} trades, {pnl.round_trips} round trips, "
            f"{win_rate(pnl)} won")


def figures(pnl: SessionPnl | None) -> Content:
    def label(text: str) -> Content:
        return Content.styled(f"{text} ".ljust(LABEL), DIM)  # a label longer than LABEL still gets its space

    if pnl is None:
        return Content.styled("waiting for the account", DIM)
    return Content("\n").join([
        join([label("Net PnL"), Content.assemble(signed(pnl.net), " USDC"), label("  realised"),
              signed(pnl.realized), label("  unrealised"), signed(pnl.unrealized)], ""),
        join([label("Fees paid"), number(pnl.fees).ljust(5), label("  funding"), signed(pnl.funding)], ""),
        join([label("Trades"), str(pnl.trades).ljust(5), label("  round trips"), str(pnl.round_trips),
              label("  won"), win_rate(pnl)], ""),
        join([label("Equity"), number(pnl.equity), Content.styled(f"  from {number(pnl.start_equity)}", DIM)],
             ""),
    ])


class SessionPnlPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Session PnL", id=id)

    def compose(self):
        yield Static(id="figures")
        yield Static("Net PnL over the session", classes="header", id="chart-title")
        yield Sparkline(id="chart")

    def render_state(self, state: SessionPnlState) -> None:
        show_text(self.query_one("#figures", Static), figures(state.pnl))
        chart = self.query_one(Sparkline)
        if list(chart.data or ()) != list(state.history):
            chart.data = list(state.history)
