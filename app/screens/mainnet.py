"""Mainnet's typed confirmation, in front of the dashboard before anything connects: the phrase typed word
for word, never a yes/no key that a stray press could give (the headless runner asks at the terminal)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from app.trading import MAINNET_PROMPT


class MainnetScreen(ModalScreen[str | None]):
    """Dismissed with what was typed (enter), or None (escape): the caller judges it."""

    DEFAULT_CSS = """
    MainnetScreen { align: center middle; }
    MainnetScreen > Vertical {
        width: 72; height: auto; padding: 1 2; border: thick $error; background: $surface;
    }
    MainnetScreen #prompt { margin-bottom: 1; }
    MainnetScreen #hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(MAINNET_PROMPT, id="prompt", markup=False)
            yield Input(id="phrase")
            yield Static("enter: trade on mainnet   escape: quit without trading", id="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
