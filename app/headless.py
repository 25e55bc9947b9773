"""`dydx-bot --no-ui`: the same graph as the dashboard, printed as JSON lines.

stdout gets one object per line, each with `t` (event time) and `kind`: closed candles, signal scores on
closed candles, risk state changes, order intents, order updates, fills, the account (equity and the
session's PnL) at the start and after each fill or funding payment, and data-health changes, then one
`summary` line. stderr gets human progress. SIGINT/SIGTERM stop cleanly: the summary is still printed.
SIGUSR1 pulls the kill switch (cancel every order, halt new risk); SIGUSR2 also flattens every position.
An exception in the graph ends the run: "stopped:" names it, the summary follows, the exit is 1. A reader
that closes stdout (`| head -1`) is a clean stop (exit 0); stdout that cannot be written is a failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from reactivex import Observable

from app.failure import Failure, GraphThread
from app.jsonl import line
from app.sources import ReplaySource
from streams.config import Config
from streams.execution.ledger import SessionPnl
from streams.graph import Graph, build_graph
from streams.kernel import rx
from streams.kernel.orders import Fill, OrderIntent, OrderUpdate
from streams.kernel.status import SourceStatus, trouble
from streams.market.state import CandleUpdate
from streams.risk.derisk import IntentBlocked
from streams.signals.scoring import SignalScore

if TYPE_CHECKING:  # the live path's modules are imported by it alone: a replay starts without them
    from app.trading import LiveTrading
    from streams.sources.live import LiveConfig

PROGRESS_EVERY = 1.0  # seconds of wall time between progress lines


class OutputError(Exception):
    """stdout could not be written; `closed` when its reader went away (a clean stop, not a failure)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(f"stdout: {cause.strerror or cause}")
        self.closed = isinstance(cause, BrokenPipeError)


@dataclass
class Printer:
    """Turns the graph's outputs into lines; counts what it printed for the summary."""

    out: IO[bytes]
    counts: Counter[str] = field(default_factory=Counter)
    last_t: float | None = None
    pnl: SessionPnl | None = None
    """The session ledger's latest state, for the summary."""

    def write(self, kind: str, event: Any) -> None:
        self._write(line(kind, event))
        self.counts[kind] += 1
        self.last_t = event["t"] if isinstance(event, dict) else event.t

    def attach(self, graph: Graph, on_error: Callable[[Exception], None] | None = None) -> list[Any]:
        """Print the graph's outputs; an error any of them ends with goes to `on_error`."""

        def emit(kind: str) -> Callable[[Any], None]:
            return lambda event: self.write(kind, event)

        printed: list[tuple[str, Observable[Any]]] = [
            ("candle", graph.candles.pipe(rx.filter(_live_closed))),
            ("score", graph.scores.pipe(rx.filter(_closed))),
            ("risk", graph.risk),
            ("intent", graph.orders.pipe(rx.of_type(OrderIntent))),
            ("blocked", graph.orders.pipe(rx.of_type(IntentBlocked))),
            ("order", graph.orders.pipe(rx.of_type(OrderUpdate))),
            ("fill", graph.orders.pipe(rx.of_type(Fill))),
            ("health", graph.health_changes),
        ]
        return [*(stream.subscribe(emit(kind), on_error) for kind, stream in printed),
                graph.pnl.subscribe(self._on_pnl, on_error)]

    def _on_pnl(self, pnl: SessionPnl) -> None:
        """An `account` line at the start and after each change a fill or a funding payment made (equity
        moving with prices alone is not a line: it would be one per oracle update)."""
        last, self.pnl = self.pnl, pnl
        if last is None or (pnl.trades, pnl.fees, pnl.funding) != (last.trades, last.fees, last.funding):
            self.write("account", {"t": pnl.t, **pnl_fields(pnl)})

    def summary(self, frames: int, reason: str) -> None:
        """The last line; not written (nor tried again) once stdout has failed."""
        self._write(line("summary", {"t": self.last_t, "frames": frames, "stopped": reason,
                                     "printed": dict(sorted(self.counts.items())), **pnl_fields(self.pnl)}))

    def _write(self, data: bytes) -> None:
        try:
            self.out.write(data)
            self.out.flush()  # a line is there for a reader (`| jq`, a supervisor) as it happens
        except OSError as exc:
            _discard(self.out)
            raise OutputError(exc) from exc


def _closed(event: SignalScore) -> bool:
    return event.closed


def _live_closed(event: CandleUpdate) -> bool:
    """A closed candle, not REST history's (the chart keeps those; the output begins with the live ones)."""
    return event.closed and not event.history


def _discard(out: IO[bytes]) -> None:
    """Point a failed stdout at /dev/null, so that what it still buffers is not written again at exit
    (Python's "Exception ignored ... BrokenPipeError" after the run)."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a file (a test's BytesIO), or closed
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def _ending(failure: Failure, reason: str) -> tuple[str, int]:
    """Why the run stopped and its exit code, given what (if anything) failed."""
    exc = failure.exception
    if isinstance(exc, OutputError):
        return ("stdout closed", 0) if exc.closed else (str(exc), 1)
    if exc is not None:
        return f"graph failed: {failure.describe()}", 1
    return reason, 0


def _finish(printer: Printer, failure: Failure, frames: int, reason: str, progress: Progress) -> int:
    """The summary line (unless stdout is what failed), then why the run stopped on stderr; the exit code."""
    if not isinstance(failure.exception, OutputError):
        try:
            printer.summary(frames, _ending(failure, reason)[0])
        except OutputError as exc:  # failed only now: said on stderr, as a failure during the run is
            failure.fail(exc)
    stopped, code = _ending(failure, reason)  # again: the summary's own write may have failed
    progress.say(f"stopped: {stopped}")
    return code


USDC = Decimal("0.000001")
"""USDC's quantum on the chain: realised and unrealised PnL are printed to it."""


def pnl_fields(pnl: SessionPnl | None) -> dict[str, Any]:
    """The session's PnL for the account and summary lines (none before the first account state); `net_pnl`
    is the sum of the printed parts, so the line adds up exactly."""
    if pnl is None:
        return {}
    # fees and funding are exact sums; the PnLs are marked against an average entry, whose division leaves noise
    realized, unrealized = pnl.realized.quantize(USDC), pnl.unrealized.quantize(USDC)
    return {"net_pnl": realized + unrealized - pnl.fees + pnl.funding, "realized_pnl": realized,
            "unrealized_pnl": unrealized, "fees": pnl.fees, "funding": pnl.funding, "trades": pnl.trades,
            "round_trips": pnl.round_trips,
            "win_rate": pnl.win_rate, "equity": pnl.equity, "start_equity": pnl.start_equity}


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


def progress_line(frames: int, t: float | None, elapsed: float, span: tuple[float, float] | None) -> str:
    """`1,200 frames, event time 2024-07-26 17:04:43 UTC, 23,101 frames/s`, and for a replay whose time span
    is known, how far it is and when it should end: `, 42% (ETA 0:12)`."""
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else "-"
    text = f"{frames:,} frames, event time {at} UTC, {frames / max(elapsed, 1e-9):,.0f} frames/s"
    if span is None or t is None or span[1] <= span[0]:
        return text
    done = min(1.0, max(0.0, (t - span[0]) / (span[1] - span[0])))
    if done <= 0:
        return f"{text}, 0%"
    left = round(elapsed * (1 - done) / done)
    return f"{text}, {done:.0%} (ETA {left // 3600:d}:{left // 60 % 60:02d}:{left % 60:02d})"


class Progress:
    """Progress on stderr: rewritten in place on a terminal, one line each otherwise (a log file or a pipe gets
    whole lines, never `\r`); and whole lines said between two of its updates."""

    def __init__(self, err: IO[str], span: tuple[float, float] | None = None) -> None:
        self._err, self._span = err, span
        self._started = time.monotonic()
        self._terminal = err.isatty()
        self._open = False  # a progress line is on the terminal, not yet ended

    def show(self, frames: int, t: float | None) -> None:
        line = progress_line(frames, t, time.monotonic() - self._started, self._span)
        self._err.write(f"\r{line}" if self._terminal else f"{line}\n")
        self._err.flush()
        self._open = self._terminal

    def say(self, text: str) -> None:
        self._err.write(("\n" if self._open else "") + text + "\n")
        self._err.flush()
        self._open = False


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

    failure = Failure(stop.set)
    scheduler = GraphThread(failure)  # the graph's one thread: the kill switch is pulled there too
    replayer = source.replayer(scheduler, damaged)
    graph = build_graph(replayer.frames, options.config, health_rates=False, all_snapshots=False)
    printer = Printer(options.out)
    printer.attach(graph, failure.fail)
    restore = _handle_signals(interrupt, lambda flatten: scheduler.schedule(
        lambda *_: graph.kill_switch.kill(flatten=flatten, source="signal")))
    manifest = source.recording.manifest or {}
    span = (manifest["start"], manifest["end"]) if "start" in manifest and "end" in manifest else None
    progress = Progress(options.err, span)
    progress.say(f"replaying {source.name} at {source.speed_text}")
    graph.connect()
    replayer.frames.subscribe(on_completed=stop.set)  # after the graph's own end
    try:
        failure.guard(replayer.start)()  # schedules the first frame: its time may not be schedulable
        while not stop.wait(PROGRESS_EVERY):
            progress.show(replayer.emitted, replayer.position)
    finally:
        replayer.stop()
        scheduler.dispose()
        restore()
    progress.show(replayer.emitted, replayer.position)
    code = _finish(printer, failure, replayer.emitted, reason[0], progress)
    for warning in source.recording.warnings:  # e.g. what a killed recorder left half-written
        progress.say(f"warning: {warning}")
    return max(code, 1 if damage else 0)


def _say_trouble(progress: Progress, status: SourceStatus) -> None:
    """A lost connection or a failed request on stderr too, not only in stdout's health lines."""
    if (problem := trouble(status)) is not None:
        progress.say(f"dydx-bot: live: {problem}")


async def _run_live(options: HeadlessOptions) -> int:
    from streams.execution.live_broker import BrokerSetupError
    from streams.execution.secrets import MnemonicUnavailableError
    from streams.sources.live import LiveSource

    assert options.live is not None
    broker, live = None, options.live
    if options.trading is not None:
        try:
            broker = await options.trading.connect()
        except (BrokerSetupError, MnemonicUnavailableError) as exc:
            options.err.write(f"dydx-bot: live trading: {exc}\n")
            return 1
        options.err.write(f"live trading as {broker.address}/{broker.subaccount} on {broker.chain_id}\n")
        live = dataclasses.replace(live, address=broker.address, subaccount_number=broker.subaccount,
                                   parent_subaccount=broker.parent)
    source = LiveSource(live)
    stop = asyncio.Event()
    reason = ["stopped"]
    loop = asyncio.get_running_loop()
    failure = Failure(lambda: loop.call_soon_threadsafe(stop.set))
    graph = build_graph(failure.frames(source.frames), options.config, broker, staleness=live.staleness,
                        health_rates=False, all_snapshots=False)
    printer = Printer(options.out)
    printer.attach(graph, failure.fail)
    count = [0]
    source.frames.subscribe(lambda _f: count.__setitem__(0, count[0] + 1))
    graph.resyncs.subscribe(lambda r: source.resync(r.channel, r.id, r.reason))

    def interrupt(name: str) -> None:  # on the loop's thread, between two of its steps
        reason[0] = name
        loop.call_soon_threadsafe(stop.set)

    restore = _handle_signals(interrupt, lambda flatten: loop.call_soon_threadsafe(
        failure.guard(lambda: graph.kill_switch.kill(flatten=flatten, source="signal"))))
    progress = Progress(options.err)
    progress.say(f"live: {options.live.endpoints.rest} {', '.join(options.live.markets)}")
    source.status().subscribe(lambda status: _say_trouble(progress, status))
    graph.connect()
    try:
        await source.start()
        while True:
            try:
                await asyncio.wait_for(stop.wait(), PROGRESS_EVERY)
                break
            except TimeoutError:
                progress.show(count[0], printer.last_t)
    finally:
        await source.stop()
        if broker is not None:
            await broker.close()
        restore()
    return _finish(printer, failure, count[0], reason[0], progress)
