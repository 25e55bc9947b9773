"""The kill switch: cancel every order, optionally flatten, and stay HALTED until someone resets it.

One subject is the only way in, whoever pulls it: the dashboard's key, the headless runner's signal handler,
or the risk engine itself when a configured limit trips. Commands carry no clock of their own: `t` None
means "now" in event time, stamped by the risk engine with the last event it saw.
"""

from __future__ import annotations

from msgspec import Struct
from reactivex.subject import Subject


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

    def kill(self, flatten: bool = False, source: str = "ui", t: float | None = None) -> None:
        self.commands.on_next(KillCommand(flatten, source, t))

    def reset(self, source: str = "ui", t: float | None = None) -> None:
        self.commands.on_next(ResetCommand(source, t))
