"""The order ticket: market, side, size, type and limit, with the margin engine's what-if (margin usage
and liquidation price, now -> after) updated as the fields change, before anything is sent. Place sends
the order to the desk, which passes it through the risk gate like any other; a refusal comes back in the
event log with the gate's reason."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from app.ticket import ORDER_TYPES, ticket_intent
from streams.kernel.orders import OrderIntent


class OrderTicketScreen(ModalScreen[OrderIntent | None]):
    DEFAULT_CSS = """
    OrderTicketScreen { align: center middle; }
    OrderTicketScreen > Vertical {
        width: 64; height: auto; padding: 1 2; border: thick $accent; background: $surface;
    }
    OrderTicketScreen Horizontal { height: auto; }
    OrderTicketScreen Select { width: 1fr; }
    OrderTicketScreen Input { width: 1fr; }
    OrderTicketScreen #preview { margin: 1 0; height: 2; }
    OrderTicketScreen #buttons { align-horizontal: right; }
    OrderTicketScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "dismiss_ticket", "cancel")]

    def __init__(self, market: str, preview: Callable[[OrderIntent], str], max_slippage: Decimal) -> None:
        super().__init__()
        self.market = market
        self._preview = preview
        self._max_slippage = max_slippage

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Order ticket · {self.market}", id="title")
            with Horizontal():
                yield Select([("BUY", "BUY"), ("SELL", "SELL")], value="BUY", allow_blank=False, id="side")
                yield Select([(kind, kind) for kind in ORDER_TYPES], value="market", allow_blank=False, id="type")
            with Horizontal():
                yield Input(placeholder="size", id="size")
                yield Input(placeholder="limit price", id="limit")
            yield Static(id="preview")
            with Horizontal(id="buttons"):
                yield Button("Place", variant="primary", id="place")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#size", Input).focus()
        self.refresh_preview()

    def intent(self) -> OrderIntent | str:
        # Select.value is typed as any option value; this one's options are the two sides
        return ticket_intent(self.market, self.query_one("#side", Select).value,  # type: ignore[arg-type]
                             self.query_one("#size", Input).value, str(self.query_one("#type", Select).value),
                             self.query_one("#limit", Input).value, self._max_slippage)

    def refresh_preview(self) -> None:
        intent = self.intent()
        self.query_one("#preview", Static).update(intent if isinstance(intent, str) else self._preview(intent))
        self.query_one("#place", Button).disabled = isinstance(intent, str)

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.refresh_preview()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self.refresh_preview()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._place()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "place":
            self._place()
        else:
            self.dismiss(None)

    def action_dismiss_ticket(self) -> None:
        self.dismiss(None)

    def _place(self) -> None:
        intent = self.intent()
        if not isinstance(intent, str):
            self.dismiss(intent)
