"""`dydx-bot --no-ui`: the same graph as the dashboard, printed as JSON lines.

stdout gets one object per line, each with `t` (event time) and `kind`: closed candles, signal scores on
closed candles, risk state changes, order intents, order updates, fills and data-health changes, then one
`summary` line. stderr gets human progress. SIGINT/SIGTERM stop cleanly: the summary is still printed.
SIGUSR1 pulls the kill switch (cancel every order, halt new risk); SIGUSR2 also flattens every position.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from reactivex.scheduler import EventLoopScheduler

from app.jsonl import line
from app.sources import ReplaySource
from app.trading import LiveTrading
from streams.config import Config
from streams.execution.ledger import SessionPnl
from streams.execution.live_broker import BrokerSetupError
from streams.execution.secrets import MnemonicUnavailableError
from streams.graph import Graph, build_graph
from streams.kernel import rx
from streams.kernel.orders import Fill, OrderIntent, OrderUpdate
from streams.market.state import CandleUpdate
from streams.risk.derisk import IntentBlocked
from streams.signals.scoring import SignalScore
from streams.sources.live import LiveConfig, LiveSource

PROGRESS_EVERY = 1.0  # seconds of wall time between progress lines


@dataclass
class Printer:
    """Turns the graph's outputs into lines; counts what it printed for the summary."""

    out: IO[bytes]
    counts: Counter[str] = field(default_factory=Counter)
    last_t: float | None = None
    pnl: SessionPnl | None = None
    """The session ledger's latest state, for the summary."""

    def attach(self, graph: Graph) -> list[Any]:
        def emit(kind: str) -> Callable[[Any], None]:
            def write(event: Any) -> None:
                self.out.write(line(kind, event))
                self.out.flush()  # a line is there for a reader (`| jq`, a supervisor) as it happens
                self.counts[kind] += 1
                self.last_t = event.t

            return write

        return [
            graph.candles.pipe(rx.filter(is_closed)).subscribe(emit("candle")),
            graph.scores.pipe(rx.filter(is_closed)).subscribe(emit("score")),
            graph.risk.subscribe(emit("risk")),
            graph.orders.pipe(rx.of_type(OrderIntent)).subscribe(emit("intent")),
            graph.orders.pipe(rx.of_type(IntentBlocked)).subscribe(emit("blocked")),
            graph.orders.pipe(rx.of_type(OrderUpdate)).subscribe(emit("order")),
            graph.orders.pipe(rx.of_type(Fill)).subscribe(emit("fill")),
            graph.health_changes.subscribe(emit("health")),
            graph.pnl.subscribe(self._on_pnl),
        ]

    def _on_pnl(self, pnl: SessionPnl) -> None:
        self.pnl = pnl

    def summary(self, frames: int, reason: str) -> None:
        self.out.write(line("summary", {"t": self.last_t, "frames": frames, "stopped": reason,
                                        "printed": dict(sorted(self.counts.items())), **pnl_fields(self.pnl)}))
        self.out.flush()


def is_closed(value: CandleUpdate | SignalScore) -> bool:
    return value.closed


def pnl_fields(pnl: SessionPnl | None) -> dict[str, Any]:
    """The session's PnL for the summary line (none before the first account state)."""
    if pnl is None:
        return {}
    return {"net_pnl": pnl.net, "realized_pnl": pnl.realized, "unrealized_pnl": pnl.unrealized, "fees": pnl.fees,
            "funding": pnl.funding, "trades": pnl.trades, "round_trips": pnl.round_trips, "win_rate": pnl.win_rate,
            "equity": pnl.equity, "start_equity": pnl.start_equity}


@dataclass
class HeadlessOptions:
    config: Config
    replay: ReplaySource | None = None
    live: LiveConfig | None = None
    trading: LiveTrading | None = None
    out: IO[bytes] = field(default_factory=lambda: sys.stdout.buffer)
    err: IO[str] = field(default_factory=lambda: sys.stderr)


def run_headless(options: HeadlessOptions) -> int:
    if options.live is not None:
        return asyncio.run(_run_live(options))
    return _run_replay(options)


def _progress(err: IO[str], frames: int, t: float | None, started: float) -> None:
    elapsed = max(time.monotonic() - started, 1e-9)
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else "-"
    err.write(f"\r{frames} frames, event time {at} UTC, {frames / elapsed:,.0f} frames/s")
    err.flush()


KILL_SIGNALS = {signal.SIGUSR1: False, signal.SIGUSR2: True}
"""The kill switch from outside: SIGUSR1 cancels every order and halts, SIGUSR2 also flattens."""


def _handle_signals(stop: Callable[[str], None], kill: Callable[[bool], object]) -> Callable[[], None]:
    """SIGINT/SIGTERM stop the run, SIGUSR1/SIGUSR2 pull the kill switch; returns what restores the
    previous handlers. Plain handlers, not `loop.add_signal_handler`: the loop learns of those through its
    wakeup pipe, which a burst of socket hand-overs can fill, and a signal that finds it full is lost."""

    def on_stop(signum: int, _frame: Any) -> None:
        stop(signal.Signals(signum).name)

    def on_kill(signum: int, _frame: Any) -> None:
        kill(KILL_SIGNALS[signal.Signals(signum)])

    previous = {sig: signal.signal(sig, on_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous |= {sig: signal.signal(sig, on_kill) for sig in KILL_SIGNALS}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _run_replay(options: HeadlessOptions) -> int:
    source = options.replay
    assert source is not None
    stop = threading.Event()
    reason = ["end of recording"]
    damage: list[str] = []

    def interrupt(name: str) -> None:
        reason[0] = name
        stop.set()

    def damaged(exc: Exception) -> None:  # everything before the damage was replayed
        damage.append(str(exc))
        reason[0] = f"damaged recording: {exc}"

    scheduler = EventLoopScheduler()  # the graph's one thread: the kill switch is pulled there too
    replayer = source.replayer(scheduler, damaged)
    graph = build_graph(replayer.frames, options.config, health_rates=False)
    printer = Printer(options.out)
    printer.attach(graph)
    restore = _handle_signals(interrupt, lambda flatten: scheduler.schedule(
        lambda *_: graph.kill_switch.kill(flatten=flatten, source="signal")))
    started = time.monotonic()
    options.err.write(f"replaying {source.name} at {source.speed_text}\n")
    graph.connect()
    replayer.frames.subscribe(on_completed=stop.set)  # after the graph's own end
    try:
        replayer.start()
        while not stop.wait(PROGRESS_EVERY):
            _progress(options.err, replayer.emitted, replayer.position, started)
    finally:
        replayer.stop()
        scheduler.dispose()
        restore()
    _progress(options.err, replayer.emitted, replayer.position, started)
    options.err.write(f"\nstopped: {reason[0]}\n")
    for warning in source.recording.warnings:  # e.g. what a killed recorder left half-written
        options.err.write(f"warning: {warning}\n")
    printer.summary(replayer.emitted, reason[0])
    return 1 if damage else 0


async def _run_live(options: HeadlessOptions) -> int:
    assert options.live is not None
    broker, live = None, options.live
    if options.trading is not None:
        try:
            broker = await options.trading.connect()
        except (BrokerSetupError, MnemonicUnavailableError) as exc:
            options.err.write(f"dydx-bot: live trading: {exc}\n")
            return 1
        options.err.write(f"live trading as {broker.address}/{broker.subaccount} on {broker.chain_id}\n")
        live = dataclasses.replace(live, address=broker.address, subaccount_number=broker.subaccount)
    source = LiveSource(live)
    graph = build_graph(source.frames, options.config, broker, staleness=live.staleness, health_rates=False)
    printer = Printer(options.out)
    printer.attach(graph)
    count = [0]
    source.frames.subscribe(lambda _f: count.__setitem__(0, count[0] + 1))
    graph.resyncs.subscribe(lambda r: source.resync(r.channel, r.id, r.reason))
    stop = asyncio.Event()
    reason = ["stopped"]
    loop = asyncio.get_running_loop()

    def interrupt(name: str) -> None:  # on the loop's thread, between two of its steps
        reason[0] = name
        loop.call_soon_threadsafe(stop.set)

    restore = _handle_signals(interrupt, lambda flatten: loop.call_soon_threadsafe(
        lambda: graph.kill_switch.kill(flatten=flatten, source="signal")))
    started = time.monotonic()
    options.err.write(f"live: {options.live.endpoints.rest} {', '.join(options.live.markets)}\n")
    graph.connect()
    try:
        await source.start()
        while True:
            try:
                await asyncio.wait_for(stop.wait(), PROGRESS_EVERY)
                break
            except TimeoutError:
                _progress(options.err, count[0], printer.last_t, started)
    finally:
        await source.stop()
        if broker is not None:
            await broker.close()
        restore()
    options.err.write(f"\nstopped: {reason[0]}\n")
    printer.summary(count[0], reason[0])
    return 0
