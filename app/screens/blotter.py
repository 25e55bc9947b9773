"""The blotter: this session's open orders (cancel the highlighted one, asking first) and the session's
totals of realised PnL, fees and funding; `h` opens the history of fills, orders and funding payments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from app.screens.confirm import ConfirmScreen
from app.screens.history import totals_line
from streams.execution.ledger import SessionPnl
from streams.kernel.orders import OrderStatus
from streams.market.state import BlockHeight
from widgets.format import quantity

REFRESH_SECONDS = 0.5


@dataclass(frozen=True)
class OpenOrder:
    """An order of this session still open on the venue (as far as its updates say)."""

    client_id: int
    market: str
    side: str
    size: Decimal
    what: str  # "LIMIT 97,010.00 GTT", "MARKET IOC", "STOP ≤ 91,000.00"
    good_til: str  # "in 12 blocks (~13 s)" or "20 blocks" (short-term), "until 2025-01-02 11:00Z"
    status: OrderStatus = "PLACED"
    filled: Decimal = Decimal(0)
    good_til_block: int | None = None  # a short-term order's absolute good-til-block, once its updates say


def countdown(good_til_block: int, height: BlockHeight | None) -> str:
    """How long a short-term order has left, under GOOD TIL: "in 12 blocks (~13 s)" at the chain's block rate
    as heard, "this block", "expired" past it; "block 30000020" while no height is known."""
    if height is None:
        return f"block {good_til_block}"
    left = good_til_block - height.height
    if left < 0:
        return "expired"
    if left == 0:
        return "this block"
    seconds = f" (~{left * height.block_seconds:.0f} s)" if height.block_seconds else ""
    return f"in {left} block{'s' if left > 1 else ''}{seconds}"


@dataclass(frozen=True)
class BlotterState:
    orders: tuple[OpenOrder, ...]
    pnl: SessionPnl | None
    """The session ledger's latest (its totals)."""


class BlotterScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    BlotterScreen { align: center middle; }
    BlotterScreen > Vertical { width: 96%; height: 90%; border: thick $accent; background: $surface; }
    BlotterScreen DataTable { height: 1fr; }
    BlotterScreen .title { text-style: bold; margin-top: 1; }
    BlotterScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape,b", "dismiss", "close"), Binding("c,delete", "cancel_order", "cancel order"),
                Binding("h", "history", "history")]

    def __init__(self, state: Callable[[], BlotterState], cancel: Callable[[str, int], None],
                 history: Callable[[], None]) -> None:
        """`history` opens the history screen."""
        super().__init__()
        self._state = state
        self._cancel = cancel
        self._history = history
        self._shown: BlotterState | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Open orders (c: cancel the highlighted one)", classes="title")
            yield DataTable(id="orders", cursor_type="row")
            yield Static(id="totals")
            yield Static("h: the history of fills, orders and funding (filter, export)", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#orders", DataTable).add_columns(  # what a trader reads first: the ID last, so
            "MARKET", "SIDE", "SIZE", "ORDER", "GOOD TIL", "FILLED", "STATUS", "ID")  # 80 columns show GOOD TIL
        self.show()
        self.set_interval(REFRESH_SECONDS, self.show)

    def show(self) -> None:
        state = self._state()
        if state == self._shown:
            return
        self._shown = state
        orders = self.query_one("#orders", DataTable)
        orders.clear()
        for o in state.orders:
            orders.add_row(o.market, o.side, quantity(o.size), o.what, o.good_til, quantity(o.filled), o.status,
                           str(o.client_id), key=str(o.client_id))
        self.query_one("#totals", Static).update(totals_line(state.pnl))

    def action_cancel_order(self) -> None:
        table = self.query_one("#orders", DataTable)
        if self._shown is None or not self._shown.orders or table.cursor_row >= len(self._shown.orders):
            self.notify("no open order to cancel", severity="warning")
            return
        order = self._shown.orders[table.cursor_row]
        self.app.push_screen(ConfirmScreen(f"Cancel order {order.client_id} ({order.side} {quantity(order.size)} "
                                           f"{order.market} {order.what})?", "Cancel order"),
                             lambda yes: self._cancel(order.market, order.client_id) if yes else None)

    def action_history(self) -> None:
        self._history()
