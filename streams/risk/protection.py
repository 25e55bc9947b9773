"""Protective stops: one conditional stop-market order per open position, resting on the chain a
configurable distance before the margin engine's liquidation price, so that the position is closed by the
chain itself before the protocol liquidates it, even when the bot is not running.

In:  `AccountState` (margin engine), `MarketInfo` (tick sizes), `OrderUpdate` (a stop the venue refused).
Out: `StopIntent` to place a stop, `CancelIntent` to remove one; a stop is replaced by placing the new one
     first and then cancelling the old, so the position is never unprotected in between, and it is
     cancelled when its position closes (or no longer has a liquidation price).

The trigger sits `distance` of the liquidation price before it (above it for a long, below for a short),
rounded away from it onto the tick grid. It moves only when the liquidation price moved more than
`replace_move` of it, or the size or side changed: every placement counts against the chain's stateful
order limit (20 per 100 blocks), so a stop is not chased tick by tick.

Client ids are idempotent: a stop's id is a function of its market, side, size and trigger, so the same
stop sent twice (a retry, a restart that finds the position unchanged) is one order on the chain, never
two. They lie in `STOP_CLIENT_IDS`..2**32, above the risk engine's ids.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from reactivex import Observable

from streams.kernel.orders import CancelIntent, OrderUpdate, Side, StopIntent
from streams.kernel.stage import Stage, lift
from streams.market.state import MarketInfo
from streams.risk.config import ProtectionConfig
from streams.risk.margin import AccountState, PositionState

ZERO = Decimal(0)
STOP_CLIENT_IDS = 3 << 30
"""Protective stops take client ids from here to 2**32 - 1; the risk engine counts up from 2**31."""


def stop_client_id(market: str, side: Side, size: Decimal, trigger: Decimal) -> int:
    """The client id of this exact stop: the same inputs always give the same id."""
    key = f"{market}|{side}|{size.normalize():f}|{trigger.normalize():f}".encode()
    return STOP_CLIENT_IDS + zlib.crc32(key) % (2**32 - STOP_CLIENT_IDS)


def stop_trigger(position: PositionState, distance: Decimal, tick: Decimal) -> Decimal | None:
    """Where the stop of `position` triggers, on the tick grid; None without a liquidation price, or when
    the oracle price is already past it (the stop would fire at once: de-risking is the ladder's job)."""
    liquidation = position.liquidation_price
    if liquidation is None:
        return None
    long = position.size > 0
    raw = liquidation * (1 + distance) if long else liquidation * (1 - distance)
    trigger = (raw / tick).to_integral_value(ROUND_CEILING if long else ROUND_FLOOR) * tick
    safe = trigger < position.oracle_price if long else trigger > position.oracle_price
    return trigger if safe and trigger > 0 else None


ProtectionInput = AccountState | MarketInfo | OrderUpdate
ProtectionOutput = StopIntent | CancelIntent


class ProtectiveStops(Stage[ProtectionInput, ProtectionOutput]):
    """Keeps the stops in step with the account; see the module's docstring."""

    def __init__(self, config: ProtectionConfig) -> None:
        self._config = config
        self._ticks: dict[str, Decimal] = {}
        self._stops: dict[str, StopIntent] = {}  # by market: the stop believed to rest on the chain
        self._refused_until: dict[str, float] = {}

    @property
    def stops(self) -> dict[str, StopIntent]:
        return dict(self._stops)

    def on_event(self, event: ProtectionInput) -> list[ProtectionOutput]:
        if isinstance(event, MarketInfo):
            self._ticks[event.market] = event.tick_size
            return []
        if isinstance(event, OrderUpdate):
            return self._on_update(event)
        return self._on_account(event)

    def _on_update(self, update: OrderUpdate) -> list[ProtectionOutput]:
        stop = self._stops.get(update.market)
        ours = stop is not None and stop.client_id == update.client_id
        if ours and update.status in ("REJECTED", "CANCELED", "EXPIRED", "FILLED"):
            del self._stops[update.market]
            if update.status == "REJECTED":
                self._refused_until[update.market] = update.t + self._config.retry_after
        elif not ours and update.client_id >= STOP_CLIENT_IDS and update.status in ("OPEN", "PARTIALLY_FILLED"):
            # a stop resting on the venue from before (a restart): adopt it, so that it is kept if it is
            # the one wanted and replaced otherwise; a second one for the market goes
            if stop is not None:
                return [CancelIntent(update.t, update.market, update.client_id, "protective stop: a duplicate")]
            self._stops[update.market] = StopIntent(update.t, update.market, "SELL", ZERO, ZERO, update.client_id,
                                                    reason="adopted from the venue")
        return []

    def _on_account(self, state: AccountState) -> list[ProtectionOutput]:
        out: list[ProtectionOutput] = []
        held = {row.market: row for row in state.positions}
        for market in [m for m in self._stops if m not in held]:
            out.append(self._cancel(state.t, market, "its position closed"))
        for row in state.positions:
            wanted = self._wanted(state.t, row)
            current = self._stops.get(row.market)
            if wanted is None:  # a stop in place stays while the price is past where a new one would go
                if current is not None and row.liquidation_price is None:
                    out.append(self._cancel(state.t, row.market, "no liquidation price to protect against"))
                continue
            if current is not None and not self._moved(current, wanted):
                continue
            if state.t < self._refused_until.get(row.market, float("-inf")):
                continue
            out.append(wanted)
            if current is not None and current.client_id != wanted.client_id:
                out.append(CancelIntent(state.t, row.market, current.client_id, "protective stop replaced"))
            self._stops[row.market] = wanted
        return out

    def _wanted(self, t: float, row: PositionState) -> StopIntent | None:
        tick, liquidation = self._ticks.get(row.market), row.liquidation_price
        trigger = None if tick is None else stop_trigger(row, self._config.distance, tick)
        if trigger is None or tick is None or liquidation is None:
            return None
        side: Side = "SELL" if row.size > 0 else "BUY"
        size = abs(row.size)
        return StopIntent(t, row.market, side, size, trigger, stop_client_id(row.market, side, size, trigger),
                          good_til_seconds=self._config.good_til_seconds, max_slippage=self._config.max_slippage,
                          reason=f"protective stop ahead of liquidation at {liquidation.quantize(tick)}")

    def _moved(self, current: StopIntent, wanted: StopIntent) -> bool:
        if current.client_id == wanted.client_id:  # the very same stop (an adopted one included)
            return False
        if (current.side, current.size) != (wanted.side, wanted.size):
            return True
        return abs(wanted.trigger_price - current.trigger_price) > self._config.replace_move * current.trigger_price

    def _cancel(self, t: float, market: str, why: str) -> CancelIntent:
        stop = self._stops.pop(market)
        return CancelIntent(t, market, stop.client_id, f"protective stop cancelled: {why}")


def protective_stops(config: ProtectionConfig) -> Callable[[Observable[ProtectionInput]], Observable[ProtectionOutput]]:
    """The operator: account states, market infos and order updates in, stop placements and cancels out."""
    return lift(lambda: ProtectiveStops(config))
