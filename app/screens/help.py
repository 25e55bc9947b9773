"""The help screen: every key the dashboard answers to, and what each panel shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

PANELS = """\
Markets        oracle price, 24h change, hourly funding and the time to the next payment, spread,
               open interest, and the health of the market's streams
Chart          candles of the selected market, our fills on them (▲ buy, ▼ sell) at their price;
               i: overlays (EMA blue, Bollinger bands grey, VWAP orange), u: volume bars (USD) under them
Margin health  equity, free collateral, margin usage against the de-risking ladder, leverage,
               and the ladder's state with its reason
Positions      size, entry, mark (book mid), oracle, unrealised PnL, liquidation price and distance
Signals        score per market in [-1, +1]; the selected market's contributors below
Views          the bottom panel shows one view at a time (v: the next), all named in its title:
  Orders & events  orders, fills, de-risking, errors and notifications with their event time
  PnL            session net, realised and unrealised PnL, fees, funding, trades, win rate, a chart
  Book           the selected market's order book: best bids and asks with their sizes
  Market         the selected market's margin fractions, max leverage, 24h volume, funding history
  Data health    every stream: state, message rate, age, gaps, resyncs, crossed books, errors
Status bar     source, recording and position (UTC), speed or the live connection, session PnL and
               fees, message rate, end-to-end latency, memory"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    HelpScreen .title { text-style: bold; color: $text-primary; margin-bottom: 1; }
    HelpScreen #keys { grid-size: 3; grid-columns: auto auto 1fr; grid-gutter: 0 2; height: auto; }
    HelpScreen #keys > Static { height: auto; }
    HelpScreen #keys > .key { text-style: bold; color: $text-accent; }
    HelpScreen #keys > .why { color: $text-muted; }
    HelpScreen #panels { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        keys = [(binding.key_display or self.app.get_key_display(binding), binding.description, binding.tooltip)
                for binding in self.app.BINDINGS if isinstance(binding, Binding)]
        with VerticalScroll():
            yield Static("Keys", classes="title")
            with Grid(id="keys"):  # a long explanation wraps within its column, not to the left margin
                for key, what, why in keys:
                    yield Static(key, classes="key", markup=False)
                    yield Static(what, markup=False)
                    yield Static(why, classes="why", markup=False)
            yield Static(PANELS, id="panels")
