"""The de-risking ladder: where the account stands between NORMAL and HALTED, and why.

    NORMAL -> NO_NEW_RISK -> REDUCE -> FLATTEN     driven by margin usage and distance to liquidation,
                                                   each rung with separate enter/exit levels (hysteresis)
    any of: unhealthy data, lost connection, a failed order        -> at least NO_NEW_RISK
    kill switch or the daily loss limit                            -> HALTED until reset

A plain state machine on plain inputs (no Rx, no clock: `t` comes with every input); `streams.risk.derisk`
lifts it onto the streams and turns its states into orders. Every input returns the new `RiskState` when the
state changed and None otherwise, so each change is exactly one event carrying its reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

from msgspec import Struct

from streams.market.state import StreamHealth
from streams.risk.config import RiskConfig, Rung

RiskLevel = Literal["NORMAL", "NO_NEW_RISK", "REDUCE", "FLATTEN", "HALTED"]
LEVELS: tuple[RiskLevel, ...] = get_args(RiskLevel)
"""Least to most severe."""

DAY = 86_400.0


def severity(level: RiskLevel) -> int:
    return LEVELS.index(level)


class RiskState(Struct, frozen=True):
    """The ladder after a change: `reason` says why it is where it is now (not what it left)."""

    t: float
    state: RiskLevel
    reason: str
    previous: RiskLevel
    margin_usage: Decimal | None = None
    liquidation_distance: Decimal | None = None  # nearest liquidation price, fraction of the oracle price
    flatten: bool = False  # HALTED and FLATTEN: positions are being closed

    @property
    def allows_new_risk(self) -> bool:
        return self.state == "NORMAL"


def _pct(x: Decimal) -> str:
    return f"{x * 100:.1f} %"


def _entered(rung: Rung, usage: Decimal, distance: Decimal | None) -> str | None:
    if usage >= rung.enter_usage:
        return f"margin usage {_pct(usage)} >= {_pct(rung.enter_usage)}"
    if distance is not None and distance <= rung.enter_distance:
        return f"nearest liquidation {_pct(distance)} away <= {_pct(rung.enter_distance)}"
    return None


def _held(rung: Rung, usage: Decimal, distance: Decimal | None) -> str | None:
    if usage >= rung.exit_usage:
        return f"margin usage {_pct(usage)}, not yet below {_pct(rung.exit_usage)}"
    if distance is not None and distance <= rung.exit_distance:
        return f"nearest liquidation {_pct(distance)} away, not yet beyond {_pct(rung.exit_distance)}"
    return None


def _calm(usage: Decimal, distance: Decimal | None) -> str:
    where = "no liquidation price" if distance is None else f"nearest liquidation {_pct(distance)} away"
    return f"margin usage {_pct(usage)}, {where}"


def _first(problems: dict[str, str]) -> str:
    """`name (what)` of the first problem by name, and how many more there are."""
    name = min(problems)
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{name} ({problems[name]}){more}"


class Ladder:
    def __init__(self, config: RiskConfig, t: float = 0.0) -> None:
        self._config = config
        self._usage: Decimal | None = None
        self._distance: Decimal | None = None
        self._equity: Decimal | None = None
        self._rung: tuple[RiskLevel, str] = ("NORMAL", "no margin data yet")  # where margin alone puts us
        self._unhealthy: dict[str, str] = {}  # stream -> its state
        self._disconnected: dict[str, str] = {}  # connection -> why it is down
        self._paused: tuple[float, str] | None = None  # (until, why)
        self._halted: tuple[str, bool] | None = None  # (why, flatten)
        self._day: int | None = None
        self._day_open: Decimal = Decimal(0)
        self.state = RiskState(t, "NORMAL", self._rung[1], "NORMAL")

    # -- inputs ------------------------------------------------------------------------------------

    def margin(self, t: float, equity: Decimal, usage: Decimal | None, distance: Decimal | None
               ) -> RiskState | None:
        """An account update: equity, margin usage (None: no equity left, which means FLATTEN) and the
        nearest liquidation distance as a fraction of the oracle price (None: no liquidation price)."""
        self._usage, self._distance, self._equity = usage, distance, equity
        self._rung = self._climb(usage, distance)
        self._watch_daily_loss(t, equity)
        return self._settle(t)

    def health(self, health: StreamHealth) -> RiskState | None:
        if self._unhealthy.get(health.stream, "ok") == health.state and self._paused is None:
            return None  # most reports repeat what the ladder knows, and only a pause runs out with time
        if health.state == "ok":
            self._unhealthy.pop(health.stream, None)
        else:
            self._unhealthy[health.stream] = health.state
        return self._settle(health.t)

    def connection(self, t: float, name: str, connected: bool, why: str = "") -> RiskState | None:
        if connected:
            self._disconnected.pop(name, None)
        else:
            self._disconnected[name] = why or "connection lost"
        return self._settle(t)

    def order_failed(self, t: float, why: str) -> RiskState | None:
        self._paused = (t + self._config.failed_order_pause, f"order failed: {why}")
        return self._settle(t)

    def tick(self, t: float) -> RiskState | None:
        """Time passed (a failed-order pause may have run out)."""
        return None if self._paused is None else self._settle(t)

    def kill(self, t: float, why: str, flatten: bool) -> RiskState | None:
        """Halt until `reset`; a second kill can add flattening but never take it back."""
        if self._halted is not None:
            flatten = flatten or self._halted[1]
        self._halted = (why, flatten)
        return self._settle(t)

    def reset(self, t: float, why: str) -> RiskState | None:
        """Lift a halt. The daily loss limit re-arms from the current equity: resetting is the decision
        to trade on with what is left."""
        if self._halted is None:
            return None
        self._halted = None
        if self._equity is not None:
            self._day_open = self._equity
        return self._settle(t, why)

    # -- the machine -------------------------------------------------------------------------------

    def _climb(self, usage: Decimal | None, distance: Decimal | None) -> tuple[RiskLevel, str]:
        if usage is None:
            return "FLATTEN", "no equity left"
        config, current = self._config, severity(self._rung[0])
        rungs: tuple[tuple[RiskLevel, Rung], ...] = (
            ("FLATTEN", config.flatten), ("REDUCE", config.reduce), ("NO_NEW_RISK", config.no_new_risk))
        for level, rung in rungs:
            why = _entered(rung, usage, distance)
            if why is None and current >= severity(level):
                why = _held(rung, usage, distance)
            if why is not None:
                return level, why
        return "NORMAL", _calm(usage, distance)

    def _watch_daily_loss(self, t: float, equity: Decimal) -> None:
        day = int(t // DAY)
        if day != self._day:
            self._day, self._day_open = day, equity
        loss, limit = self._day_open - equity, self._config.daily_loss_limit
        if loss >= limit and self._halted is None:
            self._halted = (f"daily loss {loss:.2f} USDC >= limit {limit} USDC", self._config.flatten_on_daily_loss)

    def _candidates(self, t: float) -> list[tuple[RiskLevel, str]]:
        """Every condition that holds the ladder up, the most fundamental first (it wins ties)."""
        if self._paused is not None and t >= self._paused[0]:
            self._paused = None
        found: list[tuple[RiskLevel, str]] = []
        if self._halted is not None:
            found.append(("HALTED", self._halted[0]))
        found.append(self._rung)
        if self._disconnected:
            found.append(("NO_NEW_RISK", "disconnected: " + _first(self._disconnected)))
        if self._unhealthy:
            found.append(("NO_NEW_RISK", "data unhealthy: " + _first(self._unhealthy)))
        if self._paused is not None:
            found.append(("NO_NEW_RISK", self._paused[1]))
        return found

    def _settle(self, t: float, why: str | None = None) -> RiskState | None:
        level, reason = max(self._candidates(t), key=lambda c: severity(c[0]))
        flatten = level == "FLATTEN" or (level == "HALTED" and self._halted is not None and self._halted[1])
        if level == self.state.state and flatten == self.state.flatten:
            return None
        self.state = RiskState(t, level, f"{why}; {reason}" if why else reason, self.state.state, self._usage,
                               self._distance, flatten)
        return self.state
