"""The kill switch: cancel every order, optionally flatten, and stay HALTED until someone resets it.

One subject is the only way in, whoever pulls it: the dashboard's key, the headless runner's signal handler,
or the risk engine itself when a configured limit trips. Commands carry no clock of their own: a command
pulled without `t` is stamped with the event time of the latest frame the graph has taken (`on_frame`),
or, before any, by the risk engine with the last event it saw.
"""

from __future__ import annotations

from msgspec import Struct
from reactivex.subject import Subject

from streams.kernel.frames import Frame


class KillCommand(Struct, frozen=True):
    flatten: bool = False
    source: str = "ui"
    t: float | None = None


class ResetCommand(Struct, frozen=True):
    source: str = "ui"
    t: float | None = None


Command = KillCommand | ResetCommand


class KillSwitch:
    def __init__(self) -> None:
        self.commands: Subject[Command] = Subject()
        self.now: float | None = None

    def on_frame(self, frame: Frame) -> None:
        if self.now is None or frame.t > self.now:
            self.now = frame.t

    def kill(self, flatten: bool = False, source: str = "ui", t: float | None = None) -> None:
        self.commands.on_next(KillCommand(flatten, source, self.now if t is None else t))

    def reset(self, source: str = "ui", t: float | None = None) -> None:
        self.commands.on_next(ResetCommand(source, self.now if t is None else t))
