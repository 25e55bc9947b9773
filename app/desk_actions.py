"""The dashboard's trading-desk keys: the order ticket, the blotter (open orders, one of which it cancels,
and the trade history), cancel all, close the selected market's position, flatten all, and pause the
strategy on the selected market. Each asks first (the ticket is its own
question); all of them go through the session's `graph.desk`, so paper and live take the same path and
the risk gate sees the trader's orders as it sees the strategy's."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from textual.binding import Binding
from textual.screen import Screen

from app.backend import Backend, Severity
from app.screens.blotter import BlotterScreen
from app.screens.confirm import ConfirmScreen
from app.screens.order_ticket import OrderTicketScreen
from app.ticket import preview
from streams.config import Config
from streams.kernel.orders import OrderIntent
from streams.risk.manual import ManualDesk
from streams.risk.margin import PositionState

DESK_BINDINGS = [
    Binding("t", "ticket", "ticket", show=False,
            tooltip="order ticket for the selected market, with its margin what-if"),
    Binding("b", "blotter", "blotter", show=False,
            tooltip="open orders, short-term ones counting down to their good-til-block (cancel one, asking "
                    "first), and the trades with realised PnL, fees, funding"),
    Binding("c", "cancel_all", "cancel all", show=False, tooltip="cancel every open order (asks first)"),
    Binding("x", "close_position", "close", show=False,
            tooltip="close the selected market's position (asks first)"),
    Binding("X", "flatten", "flatten", show=False, tooltip="close every position (asks first)"),
    Binding("p", "pause_market", "pause market", show=False,
            tooltip="pause or resume the strategy on the selected market (asks first)"),
]


class _Dashboard(Protocol):
    """What the desk's keys use of `DashboardApp`, which mixes `DeskActions` in."""

    backend: Backend
    view: Any  # the source on screen, with its model
    config: Config
    paused_markets: set[str]

    def push_screen(self, screen: Screen[Any], callback: Callable[[Any], None]) -> Any: ...
    def report(self, message: str, severity: Severity) -> None: ...


def _on_desk(app: _Dashboard, act: Callable[[ManualDesk], Any]) -> bool:
    session = app.backend.session
    if session is None:
        app.report("no session to trade on yet", "warning")
        return False
    session.run_on_source(lambda: act(session.graph.desk))
    return True


def _ask(app: _Dashboard, question: str, confirm: str, then: Callable[[], Any]) -> None:
    app.push_screen(ConfirmScreen(question, confirm), lambda yes: then() if yes else None)


def _selected(app: _Dashboard) -> str | None:
    return None if app.view is None else app.view.model.selected


def _positions(app: _Dashboard, market: str | None) -> list[PositionState]:
    account = None if app.view is None else app.view.model.account
    return [p for p in (account.positions if account else ()) if market is None or p.market == market]


def _place(app: _Dashboard, intent: OrderIntent | None) -> None:
    if intent is not None and _on_desk(app, lambda desk: desk.submit(intent)):
        app.report(f"order sent to the risk gate: {intent.side} {intent.size} {intent.market}", "information")


def _cancel_one(app: _Dashboard, market: str, client_id: int) -> None:
    if _on_desk(app, lambda desk: desk.cancel(market, client_id)):
        app.report(f"cancelling order {client_id} on {market}", "information")


def _close(app: _Dashboard, rows: list[PositionState]) -> None:
    slippage = app.config.risk.max_slippage
    if _on_desk(app, lambda desk: desk.close(rows, slippage)):
        app.report(f"closing {', '.join(p.market for p in rows)}", "warning")


def _pause(app: _Dashboard, market: str, paused: bool) -> None:
    if _on_desk(app, lambda desk: desk.pause(market, paused)):
        (app.paused_markets.add if paused else app.paused_markets.discard)(market)
        app.report(f"strategy {'paused' if paused else 'resumed'} on {market}", "warning")


class DeskActions:
    """Mixed into `DashboardApp`."""

    def action_ticket(self: _Dashboard) -> None:
        market = _selected(self)
        if market is None:
            self.report("select a market first", "warning")
            return
        model = self.view.model
        screen = OrderTicketScreen(market, lambda intent: preview(intent, model.account, model.markets),
                                   self.config.strategy.max_slippage)
        self.push_screen(screen, partial(_place, self))

    def action_blotter(self: _Dashboard) -> None:
        if self.view is None:
            self.report("no session yet", "warning")
            return
        model = self.view.model
        self.push_screen(BlotterScreen(model.blotter_state, partial(_cancel_one, self)), lambda _: None)

    def action_cancel_all(self: _Dashboard) -> None:
        _ask(self, "Cancel every open order?", "Cancel all", lambda: _on_desk(self, lambda desk: desk.cancel()))

    def action_close_position(self: _Dashboard) -> None:
        market = _selected(self)
        rows = _positions(self, market) if market else []
        if not rows:
            self.report(f"no position in {market} to close", "warning")
            return
        _ask(self, f"Close the {market} position ({rows[0].size}) at market, reduce-only?", "Close",
             partial(_close, self, rows))

    def action_flatten(self: _Dashboard) -> None:
        rows = _positions(self, None)
        if not rows:
            self.report("no position to close", "warning")
            return
        _ask(self, f"Close all {len(rows)} positions at market, reduce-only?", "Flatten", partial(_close, self, rows))

    def action_pause_market(self: _Dashboard) -> None:
        market = _selected(self)
        if market is None:
            self.report("select a market first", "warning")
            return
        paused = market not in self.paused_markets
        verb = "Pause" if paused else "Resume"
        _ask(self, f"{verb} the strategy on {market}? (your own orders still go)", verb,
             partial(_pause, self, market, paused))
