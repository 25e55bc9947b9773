"""Jump to a time of the recording: a clock time (UTC, the day being played), a full date and time, or
an offset from the current position."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from widgets.format import utc_stamp

_OFFSET = re.compile(r"([+-])\s*(\d+(?:\.\d+)?)\s*([smh]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
_CLOCK = ("%H:%M", "%H:%M:%S")
_STAMPS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_time(text: str, now: float) -> float:
    """Epoch seconds for `text`: `+90`, `+5m`, `-30s`, `+1.5h` from `now`; `HH:MM[:SS]` on the UTC day of
    `now`; `YYYY-MM-DD HH:MM[:SS]` (or with a `T`, and an optional `Z`) in UTC. Raises ValueError."""
    text = text.strip()
    if offset := _OFFSET.fullmatch(text):
        sign, amount, unit = offset.groups()
        return now + (1 if sign == "+" else -1) * float(amount) * _UNITS[unit]
    day = datetime.fromtimestamp(now, UTC).date()
    for form in _CLOCK:
        try:
            clock = datetime.strptime(text, form).time()
        except ValueError:
            continue
        return datetime.combine(day, clock, UTC).timestamp()
    for form in _STAMPS:
        try:
            return datetime.strptime(text.removesuffix("Z"), form).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise ValueError(f"not a time: {text!r} (try 14:05, 14:05:30, 2025-01-02 14:05, +5m or -30s)")


class JumpScreen(ModalScreen[float | None]):
    """Asks for a time; dismissed with it (epoch seconds), or None when cancelled."""

    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Vertical {
        width: 64; height: auto; padding: 1 2; border: thick $primary; background: $surface;
    }
    JumpScreen #span { color: $text-muted; margin-bottom: 1; }
    JumpScreen #problem { color: $text-error; height: auto; }
    """
    BINDINGS = [Binding("escape", "dismiss", "cancel")]

    def __init__(self, now: float, span: tuple[float, float] | None) -> None:
        super().__init__()
        self.now = now
        self.span = span

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Jump to (UTC)", classes="title")
            span = "" if self.span is None else f"recording {utc_stamp(self.span[0])} - {utc_stamp(self.span[1])}\n"
            yield Static(f"{span}now {utc_stamp(self.now)}", id="span")
            yield Input(placeholder="14:05, 2025-01-02 14:05:30, +5m, -30s")
            yield Static(id="problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            target = parse_time(event.value, self.now)
        except ValueError as exc:
            self.query_one("#problem", Static).update(str(exc))
            return
        self.dismiss(target)
