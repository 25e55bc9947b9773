"""The order and event log: orders, fills, de-risking changes and errors with their event time, newest
at the bottom. The state is the latest entries and how many were ever logged, so each render writes
only the entries it has not written yet (a RichLog keeps the last `MAX_LINES`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.style import Style
from rich.text import Text
from textual.widgets import RichLog

from widgets.format import utc_clock
from widgets.panel import Panel
from widgets.tcss import beside

MAX_LINES = 1000
BURST = 50
"""Most lines written in one render (~0.1 ms each): a burst beyond that (a replay at full speed) is cut to
its newest lines and a line saying how many were left out, so the UI loop is never held up."""

Kind = Literal["info", "order", "fill", "risk", "warning", "error"]

KIND_COLOURS: dict[Kind, str | None] = {"info": None, "order": "primary", "fill": "success", "risk": "warning",
                                         "warning": "warning", "error": "error"}
"""Entry kind -> theme colour (RichLog takes Rich styles, so theme colours are resolved when written)."""


@dataclass(frozen=True)
class LogEntry:
    t: float | None
    """Event time; None for what happened outside the stream (e.g. a recording that failed to open)."""
    text: str
    kind: Kind = "info"


@dataclass(frozen=True)
class EventLogState:
    entries: tuple[LogEntry, ...] = ()
    """The latest entries, oldest first (at most `MAX_LINES`)."""
    total: int = 0
    """Entries ever logged: those in `entries` are the last of them."""
    log: int = 0
    """Which log this is: a new source starts a new one."""


class EventLogPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Orders & events", id=id)
        self._shown = EventLogState()

    def compose(self):
        yield RichLog(max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True)

    def line(self, entry: LogEntry) -> Text:
        colour = KIND_COLOURS[entry.kind]
        style = Style(color=self.app.theme_variables[colour]) if colour else Style()
        return Text.assemble((f"{utc_clock(entry.t):>8}", Style(dim=True)), " ", (entry.text, style))

    def render_state(self, state: EventLogState) -> None:
        log = self.query_one(RichLog)
        new = state.total - self._shown.total
        if state.log != self._shown.log or new < 0:
            log.clear()
            new = len(state.entries)
        if new > BURST:
            log.write(Text(f"… {new - BURST:,} more, not shown", Style(dim=True, italic=True)))
        for entry in state.entries[-min(new, BURST):] if new else ():
            log.write(self.line(entry))
        self._shown = state
