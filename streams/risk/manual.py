"""The trading desk: the trader's own orders, cancels and per-market pauses, from the dashboard.

Manual orders take the strategy's road: they enter the risk engine and pass its gate (a refusal comes
back as an `IntentBlocked` with the reason), then go to whichever broker runs, paper or live. Cancels need
no gate and go to the broker. A `PauseCommand` stops the strategy's new orders in one market while the
trader's still pass. Like the kill switch, commands are stamped with the event time of the latest frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from decimal import Decimal

from msgspec import Struct, structs
from reactivex.subject import Subject

from streams.kernel.frames import Frame
from streams.kernel.orders import CancelIntent, OrderIntent
from streams.risk.margin import PositionState

MANUAL_CLIENT_IDS = 1 << 30
"""The trader's orders are numbered from here (the strategy counts from 1, the risk engine from 2**31)."""


def is_manual(client_id: int) -> bool:
    return MANUAL_CLIENT_IDS <= client_id < 2 * MANUAL_CLIENT_IDS


class PauseCommand(Struct, frozen=True):
    """Pause (or resume) the strategy's new orders in `market`."""

    market: str
    paused: bool = True
    t: float | None = None


class ManualDesk:
    def __init__(self) -> None:
        self.commands: Subject[OrderIntent | PauseCommand] = Subject()  # into the risk engine
        self.cancels: Subject[CancelIntent] = Subject()  # to the broker
        self.now: float | None = None
        self._client_ids = itertools.count(MANUAL_CLIENT_IDS)

    def on_frame(self, frame: Frame) -> None:
        if self.now is None or frame.t > self.now:
            self.now = frame.t

    def submit(self, intent: OrderIntent) -> OrderIntent:
        """Send the trader's order (its client id and time are the desk's); returns it as sent."""
        sent = structs.replace(intent, client_id=next(self._client_ids), t=self.now if self.now is not None
                               else intent.t, reason=intent.reason or "manual")
        self.commands.on_next(sent)
        return sent

    def close(self, positions: Iterable[PositionState], max_slippage: Decimal) -> list[OrderIntent]:
        """Close these positions with reduce-only market orders (one position, or all: flatten)."""
        return [self.submit(OrderIntent(0.0, p.market, "SELL" if p.size > 0 else "BUY", abs(p.size), kind="MARKET",
                                        time_in_force="IOC", reduce_only=True, max_slippage=max_slippage,
                                        reason="manual close"))
                for p in positions if p.size]

    def cancel(self, market: str | None = None, client_id: int | None = None) -> None:
        """Cancel one order (`client_id`), or every open order (of `market` if given)."""
        self.cancels.on_next(CancelIntent(self.now or 0.0, market, client_id, "manual"))

    def pause(self, market: str, paused: bool = True) -> None:
        self.commands.on_next(PauseCommand(market, paused, self.now))
