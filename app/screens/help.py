"""The help screen: every key the dashboard answers to, and what each panel shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

PANELS = """\
Markets        oracle price, 24h change, hourly funding and the time to the next payment, spread,
               open interest, and the health of the market's streams
Chart          candles of the selected market
Margin health  equity, free collateral, margin usage against the de-risking ladder, leverage,
               and the ladder's state with its reason
Positions      size, entry, mark (book mid), oracle, unrealised PnL, liquidation price and distance
Signals        score per market in [-1, +1]; the selected market's contributors below
Data health    every stream: state, message rate, age, gaps, resyncs, crossed books, errors
Status bar     source, recording and position (UTC), speed, message rate, end-to-end latency, memory"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    HelpScreen .title { text-style: bold; color: $text-primary; margin-bottom: 1; }
    HelpScreen #panels { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        keys = [(binding.key_display or self.app.get_key_display(binding), binding.description, binding.tooltip)
                for binding in self.app.BINDINGS if isinstance(binding, Binding)]
        width = max(len(key) for key, _, _ in keys)
        with VerticalScroll():
            yield Static("Keys", classes="title")
            yield Static(Content("\n").join(
                Content.assemble((key.ljust(width + 2), "bold $text-accent"), what.ljust(14), (why, "$text-muted"))
                for key, what, why in keys))
            yield Static(PANELS, id="panels")
