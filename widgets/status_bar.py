"""The status bar: where the data comes from (live or which recording, and how far in), whose orders
(the paper broker's, or a live wallet's on which network), how fast it plays, and how the app keeps up:
message rate, end-to-end latency (receive -> screen) and memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from streams.execution.ledger import SessionPnl
from widgets.format import DIM, join, number, utc_stamp
from widgets.rows import show_text
from widgets.session_pnl import signed
from widgets.tcss import beside


@dataclass(frozen=True)
class Trading:
    """The live broker's account: the chain id, the wallet's address and the subaccount number."""

    network: str
    address: str
    subaccount: int

    def text(self) -> str:
        """`dydx-testnet-4 dydx1qz…8k4f/0`: the address shortened, its ends kept to tell wallets apart."""
        short = f"{self.address[:8]}…{self.address[-4:]}" if len(self.address) > 14 else self.address
        return f"{self.network} {short}/{self.subaccount}"


@dataclass(frozen=True)
class StatusState:
    source: Literal["replay", "live"] | None = None
    name: str = ""
    """Recording name, or the live network."""
    position: float | None = None
    """Event time of the latest frame."""
    progress: float | None = None
    """Fraction of the recording played (None when its span is unknown, and live)."""
    speed: float | None = 1.0
    """Replay speed factor; None is as fast as possible."""
    paused: bool = False
    done: bool = False
    connection: str | None = None
    """The live connection's state (`live`, `connecting`, `reconnecting in 3 s ...`, `down`)."""
    pnl: SessionPnl | None = None
    """The session's PnL so far: its net, and the fees in it, are always in view."""
    trading: Trading | None = None
    """Whose orders these are when they go to a chain: None is the paper broker."""
    note: str = ""
    """What the source is doing besides playing, e.g. "connecting to live..."."""
    rate: float | None = None
    """Messages per second (wall clock)."""
    latency: float | None = None
    """Seconds from a frame's receipt to the screen."""
    memory: int | None = None
    """Resident memory, bytes."""


def speed_text(speed: float | None) -> str:
    return "max" if speed is None else f"×{speed:g}"


def playback(state: StatusState) -> Content:
    if state.source == "live":
        connection = state.connection or "live"
        if connection == "live":
            return Content.styled("● live", "$text-success")
        return Content.styled(f"○ {connection}", "$text-error" if connection.startswith("down") else "$text-warning")
    if state.done:
        return Content.styled("■ end", DIM)
    if state.paused:
        return Content.styled(f"⏸ paused {speed_text(state.speed)}", "$text-warning")
    return Content(f"▶ {speed_text(state.speed)}")


def broker_badge(trading: Trading | None) -> Content:
    """Paper or real orders, never to be mistaken: live trading in the error colour, with whose account."""
    if trading is None:
        return Content.styled("paper", DIM)
    return Content.assemble(Content.styled(" LIVE ORDERS ", "bold reverse $text-error"), " ",
                            Content.styled(trading.text(), "bold $text-error"))


def where_line(state: StatusState) -> Content:
    """Source, what is playing and how far, and how: cut at the end when the terminal is narrow."""
    if state.source is None:
        return join([Content.styled("no source", DIM), *([Content.styled(state.note, "$text-warning")]
                                                          if state.note else [])])
    badge = Content.styled(f" {state.source.upper()} ", "bold reverse $text-success" if state.source == "live"
                           else "bold reverse $text-accent")
    parts: list[Content | str] = [badge, broker_badge(state.trading), state.name, utc_stamp(state.position)]
    if state.progress is not None:
        parts.append(f"{state.progress:.0%}")
    parts.append(playback(state))
    if state.pnl is not None:
        parts.append(Content.assemble("PnL ", signed(state.pnl.net), Content.styled(f" fees {number(state.pnl.fees)}",
                                                                                     DIM)))
    if state.note:
        parts.append(Content.styled(state.note, "$text-warning"))
    return join(parts)


def perf_line(state: StatusState) -> Content:
    """How the app keeps up: message rate, end-to-end latency, memory (always shown in full)."""
    rate = "—" if state.rate is None else f"{state.rate:,.0f}"
    latency = "—" if state.latency is None else f"{state.latency * 1000:,.0f}ms"
    memory = "—" if state.memory is None else f"{state.memory / 2**20:,.0f}MB"
    return Content.styled(f"{rate}/s  e2e {latency}  {memory}", DIM)


class StatusBar(Horizontal):
    DEFAULT_CSS = beside(__file__)

    def compose(self):
        yield Static(id="where")
        yield Static(id="perf")

    def render_state(self, state: StatusState) -> None:
        show_text(self.query_one("#where", Static), where_line(state))
        show_text(self.query_one("#perf", Static), perf_line(state))
