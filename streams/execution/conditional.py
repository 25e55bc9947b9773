"""Conditional (stop) orders as the chain holds them: untriggered until the oracle price reaches the
trigger (at or below it for a sell stop, at or above it for a buy stop), then placed as an IOC order
limited `max_slippage` past the trigger. The paper broker keeps its stops here, so a replay fills them
the way the chain would."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from streams.kernel.orders import OrderIntent, StopIntent


def triggered_by(stop: StopIntent, oracle_price: Decimal) -> bool:
    return oracle_price <= stop.trigger_price if stop.side == "SELL" else oracle_price >= stop.trigger_price


def as_order(stop: StopIntent, t: float, tick: Decimal) -> OrderIntent:
    """The order a triggered stop becomes: reduce-only IOC, its limit the slippage bound on the tick grid
    (rounded so that the bound is never widened)."""
    if stop.side == "SELL":
        limit = (stop.trigger_price * (1 - stop.max_slippage) / tick).to_integral_value(ROUND_CEILING) * tick
    else:
        limit = (stop.trigger_price * (1 + stop.max_slippage) / tick).to_integral_value(ROUND_FLOOR) * tick
    return OrderIntent(t, stop.market, stop.side, stop.size, price=max(limit, tick), time_in_force="IOC",
                       reduce_only=True, client_id=stop.client_id, reason=f"stop triggered at {stop.trigger_price}")


class ConditionalOrders:
    """Untriggered stops by client id."""

    def __init__(self) -> None:
        self._stops: dict[int, StopIntent] = {}

    def __contains__(self, client_id: int) -> bool:
        return client_id in self._stops

    def add(self, stop: StopIntent) -> None:
        self._stops[stop.client_id] = stop

    def remove(self, market: str | None, client_id: int | None) -> list[StopIntent]:
        """Take out the stops a cancel of (`market`, `client_id`) covers (None: any)."""
        gone = [s for s in self._stops.values() if market in (None, s.market) and client_id in (None, s.client_id)]
        for stop in gone:
            del self._stops[stop.client_id]
        return gone

    def trigger(self, market: str, oracle_price: Decimal) -> list[StopIntent]:
        """Take out and return the stops of `market` this oracle price triggers, oldest first."""
        fired = [s for s in self._stops.values() if s.market == market and triggered_by(s, oracle_price)]
        for stop in fired:
            del self._stops[stop.client_id]
        return fired
