"""The risk engine: the de-risking ladder on the streams, the orders it sends to de-risk, the kill switch,
and the gate every strategy order passes on its way to the broker.

In:  `AccountState` (margin engine), `StreamHealth` (data health), source status frames (connections),
     `OrderUpdate`s (a rejection pauses new risk), `KillCommand` / `ResetCommand`, `MarketInfo` (step sizes,
     oracle prices), the strategy's and the trader's `OrderIntent`s, and the desk's `PauseCommand`s.
Out: a `RiskState` on every ladder change; a cancel-all `CancelIntent` whenever the ladder climbs off
     NORMAL; reduce-only market orders, one round per `derisk_interval` of event time: in REDUCE a
     `reduce_fraction` of the position with the largest maintenance margin, in FLATTEN (and HALTED with
     flatten) every position; the strategy's intents that pass the gate, an `IntentBlocked` for the rest.

The gate stops the strategy's orders in a market the trader paused (the trader's own still pass); past
that it lets through whatever shrinks a position. What adds risk needs NORMAL and must keep the market's
position within `max_position_notional` and the account within `max_leverage`, at oracle prices.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal

from msgspec import Struct
from reactivex import Observable

from streams.kernel.frames import Frame
from streams.kernel.orders import CancelIntent, OrderIntent, OrderUpdate
from streams.kernel.stage import Stage, lift
from streams.kernel.status import read_status
from streams.market.state import MarketInfo, StreamHealth
from streams.risk.config import RiskConfig
from streams.risk.kill_switch import KillCommand, ResetCommand
from streams.risk.ladder import Ladder, RiskState, severity
from streams.risk.manual import PauseCommand, is_manual
from streams.risk.margin import AccountState, PositionState

RISK_CLIENT_IDS = 1 << 31
"""The risk engine numbers its orders from here up; the strategy's stay below (client ids are < 2**32)."""

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class IntentBlocked(Struct, frozen=True):
    """A strategy order the gate stopped, and why."""

    t: float
    market: str
    client_id: int
    reason: str


RiskInput = (AccountState | StreamHealth | Frame | OrderUpdate | KillCommand | ResetCommand | MarketInfo | OrderIntent
             | PauseCommand)
RiskOutput = RiskState | OrderIntent | CancelIntent | IntentBlocked


class RiskEngine(Stage[RiskInput, RiskOutput]):
    def __init__(self, config: RiskConfig = RiskConfig()) -> None:
        self._config = config
        self._ladder = Ladder(config)
        self._infos: dict[str, MarketInfo] = {}
        self._account: AccountState | None = None
        self._t = 0.0
        self._next_round = float("-inf")
        self._client_ids = itertools.count(RISK_CLIENT_IDS)
        self._paused: set[str] = set()  # markets where the strategy may not trade (the desk's pause)

    @property
    def state(self) -> RiskState:
        return self._ladder.state

    def on_event(self, event: RiskInput) -> list[RiskOutput]:
        if event.t is not None:  # kill switch commands come without a time: they act now
            self._t = max(self._t, event.t)
        t = self._t
        if isinstance(event, OrderIntent):
            return [self._gate(event, t)]
        if isinstance(event, PauseCommand):
            (self._paused.add if event.paused else self._paused.discard)(event.market)
            return []
        out: list[RiskOutput] = []
        change = self._observe(event, t)
        if change is not None:
            out.append(change)
            if severity(change.state) > severity(change.previous):
                out.append(CancelIntent(t, reason=f"{change.state}: {change.reason}"))
                self._next_round = t  # a new rung acts at once
        out.extend(self._derisk(t))
        return out

    # -- the ladder's inputs -----------------------------------------------------------------------

    def _observe(self, event: RiskInput, t: float) -> RiskState | None:
        ladder = self._ladder
        if isinstance(event, AccountState):
            self._account = event
            distances = [p.distance_to_liquidation_pct for p in event.positions
                         if p.distance_to_liquidation_pct is not None]
            return ladder.margin(t, event.equity, event.margin_usage, min(distances) / HUNDRED if distances else None)
        if isinstance(event, StreamHealth):
            return ladder.health(event)
        if isinstance(event, Frame) and event.kind == "status":
            status = read_status(event)
            if status.event in ("reconnecting", "connected"):
                return ladder.connection(t, f"conn {status.conn}", status.event == "connected",
                                         status.reason or "reconnecting")
        elif isinstance(event, OrderUpdate) and event.status == "REJECTED":
            return ladder.order_failed(t, f"{event.market} #{event.client_id} rejected: {event.reason}")
        elif isinstance(event, KillCommand):
            return ladder.kill(t, f"kill switch ({event.source}{', flatten' if event.flatten else ''})",
                               event.flatten)
        elif isinstance(event, ResetCommand):
            return ladder.reset(t, f"reset ({event.source})")
        elif isinstance(event, MarketInfo):
            self._infos[event.market] = event
        return ladder.tick(t)

    # -- de-risking --------------------------------------------------------------------------------

    def _derisk(self, t: float) -> list[OrderIntent]:
        state = self._ladder.state
        if not (state.flatten or state.state == "REDUCE") or self._account is None or t < self._next_round:
            return []
        positions = [p for p in self._account.positions if p.size]
        if not positions:
            return []
        self._next_round = t + self._config.derisk_interval
        why = f"{state.state}: {state.reason}"
        if state.flatten:
            return [self._close(p, abs(p.size), t, why) for p in positions]
        largest = max(positions, key=lambda p: p.maintenance_margin)
        return [self._close(largest, self._share(largest), t, why)]

    def _share(self, position: PositionState) -> Decimal:
        """`reduce_fraction` of the position, in whole steps, at least one step and at most all of it."""
        size = abs(position.size)
        info = self._infos.get(position.market)
        if info is None:
            return size
        step = info.step_size
        share = (size * self._config.reduce_fraction / step).to_integral_value(ROUND_FLOOR) * step
        return min(size, max(step, share))

    def _close(self, position: PositionState, size: Decimal, t: float, why: str) -> OrderIntent:
        return OrderIntent(t=t, market=position.market, side="SELL" if position.size > 0 else "BUY", size=size,
                           kind="MARKET", time_in_force="IOC", reduce_only=True,
                           max_slippage=self._config.max_slippage, client_id=next(self._client_ids), reason=why)

    # -- the gate ----------------------------------------------------------------------------------

    def _gate(self, intent: OrderIntent, t: float) -> OrderIntent | IntentBlocked:
        why = self._refusal(intent)
        return intent if why is None else IntentBlocked(t, intent.market, intent.client_id, why)

    def _refusal(self, intent: OrderIntent) -> str | None:
        state, config, account = self._ladder.state, self._config, self._account
        if state.state == "HALTED":
            return f"HALTED: {state.reason}"
        if intent.market in self._paused and not is_manual(intent.client_id):
            return f"automatic trading paused on {intent.market}"
        held = next((p for p in account.positions if p.market == intent.market), None) if account else None
        size = held.size if held is not None else ZERO
        after = size + (intent.size if intent.side == "BUY" else -intent.size)
        if abs(after) <= abs(size):
            return None
        if not state.allows_new_risk:
            return f"{state.state}: {state.reason}"
        info = self._infos.get(intent.market)
        price = held.oracle_price if held is not None else info.oracle_price if info is not None else None
        if account is None or price is None:
            return f"no account state or {intent.market} oracle price yet"
        notional = abs(after) * price
        if notional > config.max_position_notional:
            return f"{intent.market} position {notional:.0f} USDC > max {config.max_position_notional} USDC"
        # NORMAL implies equity > 0: without it margin usage is undefined, which the ladder reads as FLATTEN
        gross = sum((abs(p.notional) for p in account.positions if p.market != intent.market), ZERO) + notional
        leverage = gross / account.equity
        if leverage > config.max_leverage:
            return f"leverage {leverage:.2f}x > max {config.max_leverage}x"
        return None


def risk_engine(config: RiskConfig = RiskConfig()) -> Callable[[Observable[RiskInput]], Observable[RiskOutput]]:
    """The operator: the merged inputs above in, risk states, de-risking orders and gated intents out."""
    return lift(lambda: RiskEngine(config))
