"""The source switch: which source feeds the graph now (a recording replayed, or the live indexer), and
how the dashboard moves from one to another while it runs.

A `Session` is one source with its own graph built over it; the UI binds to a session before it starts,
so it sees every value from the first frame. Switching starts the new session and, only once it is
running, closes the old one: a recording that cannot be opened or an indexer that cannot be reached is
reported and the current source plays on. State is never carried across (a new source means fresh
snapshots), which is what makes rewiring safe.

Threads: a replay runs its `Replayer` on a scheduler thread of its own, so replaying as fast as possible
never holds up the UI; every control call (pause, step, seek, kill switch) is posted to that thread,
so the graph only ever runs on one thread. The live source emits on the app's event loop (its socket
threads hand over there), so calls to it are made in place. Textual-free: the app gives a thread-safe
`notify` and binds its own subscriptions with `Session.attach`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable
from reactivex.scheduler import EventLoopScheduler

from app.sources import ReplaySource
from app.ui_bridge import Clock, FrameMeter
from streams.execution.broker import Broker
from streams.graph import Graph
from streams.kernel.frames import Frame
from streams.kernel.status import SourceStatus, lost_because, trouble
from streams.market.books import ResyncRequest
from streams.sources.live import LiveConfig, LiveSource
from streams.sources.recording import RecordingError
from streams.sources.replay import Replayer, ReplayStatus
from streams.sources.subscriptions import Staleness

if TYPE_CHECKING:  # the live broker's modules load only when live trading is asked for
    from streams.execution.live_broker import LiveBroker

Severity = Literal["information", "warning", "error"]
Notify = Callable[[str, Severity], None]
"""Tell the user something; callable from any thread."""


class GraphFactory(Protocol):
    """`build_graph` with the configuration bound: the graph over `frames`, whose data health calls a
    stream stale after the source's own `staleness`, trading through `broker` (None: the paper broker)."""

    def __call__(self, frames: Observable[Frame], *, staleness: Staleness, broker: Broker | None = None) -> Graph: ...


ConnectionState = Literal["connecting", "live", "reconnecting", "down"]


@dataclass(frozen=True)
class Connection:
    """What the live source's connection is doing, from its status frames: the status bar shows it."""

    state: ConnectionState = "connecting"
    attempt: int | None = None
    retry_at: float | None = None
    """When (the app's monotonic clock) the next attempt is made, while reconnecting."""
    reason: str | None = None

    def text(self, now: float) -> str:
        """`live`, `connecting`, `reconnecting in 3 s (attempt 2): closed (code 1006)`, `down: ...`."""
        if self.state == "reconnecting":
            wait = max(0, math.ceil((self.retry_at or now) - now))
            attempt = f" (attempt {self.attempt})" if self.attempt else ""
            return f"reconnecting in {wait} s{attempt}: {self.reason or 'connection lost'}"
        if self.state == "down":
            return f"down: {self.reason}" if self.reason else "down"
        return self.state


class Session(Protocol):
    @property
    def kind(self) -> Literal["replay", "live"]:
        """Read-only here, so that each session's narrower literal is one (a plain attribute is invariant)."""

    name: str
    graph: Graph
    meter: FrameMeter

    def attach(self, *subscriptions: abc.DisposableBase) -> None:
        """Keep subscriptions to this session's streams, disposed when it closes."""

    async def start(self) -> str | None:
        """Start; None once the source is running, else why it could not (and it is closed again)."""

    async def close(self) -> None: ...

    def run_on_source(self, action: Callable[[], None]) -> None:
        """Run `action` on the thread the graph runs on (for inputs such as the kill switch)."""


class ReplaySession:
    """A recording replayed through a fresh graph, with pause, step, seek and speed."""

    kind: Literal["replay"] = "replay"

    def __init__(self, source: ReplaySource, graph_factory: GraphFactory, notify: Notify, *,
                 scheduler: abc.SchedulerBase | None = None, at: float | None = None, paused: bool = False,
                 clock: Clock = time.monotonic) -> None:
        self.source = source
        self.name = source.name
        self._notify = notify
        self._own_scheduler: EventLoopScheduler | None = None
        if scheduler is None:
            scheduler = self._own_scheduler = EventLoopScheduler()
        self.scheduler: abc.SchedulerBase = scheduler
        self.replayer = Replayer(self._guarded(source.recording.frames()), self.scheduler, speed=source.speed)
        self.speed = source.speed
        """The speed asked for last (the replayer takes it on its own thread a moment later)."""
        self.meter = FrameMeter(clock)
        self.replayer.frames.subscribe(self.meter.on_frame)  # before the graph: stamped before it runs
        self.graph = graph_factory(self.replayer.frames, staleness=Staleness())
        self._subscriptions = CompositeDisposable()
        self._at, self._paused = at, paused
        manifest = source.recording.manifest or {}
        start, end = manifest.get("start"), manifest.get("end")
        self.span = (start, end) if start is not None and end is not None else None
        """First and last event time, from the manifest (a plain flow file has none)."""

    @property
    def status(self) -> Observable[ReplayStatus]:
        return self.replayer.status

    def progress(self, t: float | None) -> float | None:
        if self.span is None or t is None or self.span[1] <= self.span[0]:
            return None
        return min(1.0, max(0.0, (t - self.span[0]) / (self.span[1] - self.span[0])))

    def _guarded(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """The recording's frames, ending (with a notification) where it turns out to be damaged."""
        try:
            yield from frames
        except RecordingError as exc:
            self._notify(f"replay stopped: {exc}", "error")

    def attach(self, *subscriptions: abc.DisposableBase) -> None:
        for subscription in subscriptions:
            self._subscriptions.add(subscription)

    async def start(self) -> str | None:
        self.attach(self.graph.connect())
        at, paused = self._at, self._paused

        def begin() -> None:
            if at is not None:
                self.replayer.seek(at)
            if not paused:
                self.replayer.start()

        self.run_on_source(begin)
        return None

    async def close(self) -> None:
        self._subscriptions.dispose()
        self.run_on_source(self.replayer.stop)
        if self._own_scheduler is not None:
            self._own_scheduler.dispose()

    def run_on_source(self, action: Callable[[], None]) -> None:
        def run(_scheduler: abc.SchedulerBase, _state: object = None) -> None:
            action()

        self.scheduler.schedule(run)

    # -- playback control, from the UI ----------------------------------------------------------------

    def toggle_pause(self) -> None:
        self.run_on_source(lambda: self.replayer.resume() if self.replayer.paused else self.replayer.pause())

    def step(self, frames: int = 1) -> None:
        def step() -> None:
            self.replayer.pause()
            self.replayer.step(frames)

        self.run_on_source(step)

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        self.run_on_source(lambda: self.replayer.set_speed(speed))

    def seek(self, t: float) -> None:
        self.run_on_source(lambda: self.replayer.seek(t))


class LiveSession:
    """The live indexer through a fresh graph. It counts as started once a socket says `connected`;
    until then it retries as the live source always does (its reconnect backoff, the same policy as
    headless), and `give_up` ends the attempt. With a live `broker` its orders go to the chain, and the
    account is `config`'s subaccount (the backend's owner closes the broker: it outlives sessions)."""

    kind: Literal["live"] = "live"

    def __init__(self, config: LiveConfig, name: str, graph_factory: GraphFactory, notify: Notify, *,
                 clock: Clock = time.monotonic, broker: LiveBroker | None = None) -> None:
        self.config = config
        self.name = name
        self.broker = broker
        self.source = LiveSource(config)
        self._notify = notify
        self._clock = clock
        self.meter = FrameMeter(clock)
        self.source.frames.subscribe(self.meter.on_frame)
        self.graph = (graph_factory(self.source.frames, staleness=config.staleness) if broker is None else
                      graph_factory(self.source.frames, staleness=config.staleness, broker=broker))
        self.connection = Connection()
        self._subscriptions = CompositeDisposable(
            self.graph.resyncs.subscribe(self.resync),
            self.source.status().subscribe(self.on_status),
        )
        self._verdict: asyncio.Future[str | None] | None = None

    def attach(self, *subscriptions: abc.DisposableBase) -> None:
        for subscription in subscriptions:
            self._subscriptions.add(subscription)

    async def start(self) -> str | None:
        self._verdict = asyncio.get_running_loop().create_future()
        self.attach(self.graph.connect())
        await self.source.start()
        problem = await self._verdict
        if problem is not None:
            await self.close()
        return problem

    def give_up(self) -> None:
        """End a start still waiting for a connection (it then says why it stopped)."""
        if self._verdict is not None and not self._verdict.done():
            last = self.connection
            self.connection = Connection("down", last.attempt, reason=last.reason)
            tried = f" after {last.attempt} attempt{'s' if last.attempt > 1 else ''}" if last.attempt else ""
            why = f" (last: {last.reason})" if last.reason else ""
            self._verdict.set_result(f"given up connecting to {self.config.endpoints.ws}{tried}{why}")

    async def close(self) -> None:
        self._subscriptions.dispose()
        await self.source.stop()

    def run_on_source(self, action: Callable[[], None]) -> None:
        action()  # the live source emits on the app loop, where this is called

    def resync(self, request: ResyncRequest) -> None:
        """A book asks for a fresh snapshot: the live source resubscribes."""
        try:
            self.source.resync(request.channel, request.id, request.reason)
        except ValueError as exc:  # a stream the source does not subscribe to: nothing to renew
            self._notify(f"live: {exc}", "warning")

    def on_status(self, status: SourceStatus) -> None:
        """Follows the connection (the status bar shows it), decides when the start succeeded, and tells
        the user once per change of the connection, not once per retry; failed requests each."""
        before, verdict = self.connection.state, self._verdict
        if before == "down":  # given up: the source's last attempts until it is closed change nothing
            return
        if status.event == "connected":
            self.connection = Connection("live")
            if verdict is not None and not verdict.done():
                verdict.set_result(None)
            elif before == "reconnecting":
                self._notify("live: reconnected", "information")
        elif status.event == "reconnecting":
            why = lost_because(status)
            self.connection = Connection("reconnecting", status.attempt, self._clock() + (status.delay or 0.0), why)
            if before != "reconnecting":
                self._notify(f"live: {why}; reconnecting with backoff", "warning")
        elif status.event == "error":
            self._notify(f"live: {trouble(status)}", "error")


class Backend:
    """Owns the current session and opens new ones; the app binds each new session, then `switch`es."""

    def __init__(self, graph_factory: GraphFactory, notify: Notify, *, live: LiveConfig, live_name: str,
                 replay_scheduler: abc.SchedulerBase | None = None, clock: Clock = time.monotonic) -> None:
        """`clock` is the monotonic clock that stamps frames as received (the latency the app shows)."""
        self._graph_factory = graph_factory
        self._notify = notify
        self._live = live
        self._live_name = live_name
        self._replay_scheduler = replay_scheduler
        self._clock = clock
        self.session: Session | None = None
        self.pending: Session | None = None
        """The session a switch is starting (a live one may wait for a connection for long)."""
        self.last_replay: ReplaySource | None = None
        """The recording played last: where a switch back from live goes."""
        self.broker: LiveBroker | None = None
        """Live trading's broker, once connected: live sessions trade through it (replays never do)."""

    def open_replay(self, path: str | Path | None, speed: float | None = 1.0) -> ReplaySession | None:
        """A session on the recording at `path` (None: the bundled one), or None (reported) when it
        cannot be opened."""
        try:
            source = ReplaySource.open(path, speed)
        except RecordingError as exc:
            self._notify(f"cannot open the recording: {exc}", "error")
            return None
        return self.replay(source)

    def replay(self, source: ReplaySource, *, at: float | None = None, paused: bool = False) -> ReplaySession:
        """A session on an opened recording, from its start (each session reads it anew: also how a jump
        back in time is made, since the graph only moves forward)."""
        return ReplaySession(source, self._graph_factory, self._notify, scheduler=self._replay_scheduler,
                             at=at, paused=paused, clock=self._clock)

    def trade_live(self, broker: LiveBroker) -> None:
        """From now on, live sessions trade through `broker`, on its subaccount's account."""
        self.broker = broker
        self._live = replace(self._live, address=broker.address, subaccount_number=broker.subaccount,
                             parent_subaccount=broker.parent)

    def open_live(self) -> LiveSession:
        return LiveSession(self._live, self._live_name, self._graph_factory, self._notify, clock=self._clock,
                           broker=self.broker)

    async def switch(self, session: Session) -> bool:
        """Start `session` (bound by the UI already); it becomes current only if it starts, and then the
        previous one is closed. Otherwise the problem is reported and the current source plays on."""
        self.pending = session
        try:
            problem = await session.start()
        finally:
            self.pending = None
        if problem is not None:
            staying = f"; still on {self.session.name}" if self.session is not None else ""
            self._notify(f"{session.kind} {session.name}: {problem}{staying}", "error")
            return False
        previous, self.session = self.session, session
        if isinstance(session, ReplaySession):
            self.last_replay = session.source
        if previous is not None:
            await previous.close()
        return True

    async def close(self) -> None:
        if isinstance(self.pending, LiveSession):
            self.pending.give_up()
        if self.session is not None:
            await self.session.close()
            self.session = None

