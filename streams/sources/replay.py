"""In-process replay: a recording becomes the same frame stream the live source gives.

Frames keep their recorded timestamps (the only clock above layer 2), so what the graph computes does
not depend on replay speed. The scheduler is injected: `HistoricalScheduler` in tests (an hour of
traffic in a fraction of a second, identical every run), a thread or event-loop scheduler in the app.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice

import reactivex
from msgspec import Struct
from reactivex import Observable, abc
from reactivex.disposable import SerialDisposable
from reactivex.subject import BehaviorSubject, Subject

from streams.kernel.frames import Frame

MAX = None
"""Speed `None` means as fast as possible."""

CHUNK = 512
"""Frames emitted per scheduled step at max speed, so pause and the host loop get a turn: read from the
recording together and handed to the subscribers one after the other, without a lock or a scheduled
item per frame."""


SPEED_RANGE = (1e-3, 1e6)
"""Speeds a replay accepts: slower than a recorded second per ~17 minutes is a stall, faster than a
million times real time is `max` (and a factor outside this range overflows the schedule's clock)."""


def parse_speed(text: str) -> float | None:
    """`--speed 1`, `--speed 10`, `--speed 0.5` or `--speed max`; refused outside `SPEED_RANGE`."""
    if text.strip().lower() == "max":
        return MAX
    low, high = SPEED_RANGE
    try:
        speed = float(text)
    except ValueError:
        raise ValueError(f"speed must be a positive number or 'max', not {text!r}") from None
    if not low <= speed <= high:  # NaN fails every comparison
        raise ValueError(f"speed must be a positive number from {low:g} to {high:.0f} or 'max', not {text!r}")
    return speed


def replay(frames: Iterable[Frame]) -> Observable[Frame]:
    """As fast as possible on the subscriber's thread: the simplest, fully deterministic replay."""
    return reactivex.from_iterable(frames)


class ReplayStatus(Struct, frozen=True):
    t: float | None  # time of the last frame emitted
    emitted: int
    speed: float | None
    paused: bool
    done: bool


class Replayer:
    """Plays frames on a scheduler at a speed factor or as fast as possible, with pause, step and seek.

    `frames` is hot: subscribe before `start()`. Frame i is due at `anchor + (t_i - t_anchor) / speed`,
    re-anchored on start, resume and speed changes, so there is no drift and no catch-up burst.
    Control methods may be called from any thread.
    """

    def __init__(self, frames: Iterable[Frame], scheduler: abc.SchedulerBase, speed: float | None = 1.0
                 ) -> None:
        self._source: Iterator[Frame] = iter(frames)
        self._scheduler = scheduler
        self._speed = speed
        self._lock = threading.RLock()
        self._ahead: deque[Frame] = deque()  # read from the source, not yet emitted
        self._exhausted = False  # the source has no more
        self._last_t: float | None = None
        self._emitted = 0
        self._paused = True
        self._done = False
        self._anchor_wall = scheduler.now
        self._anchor_t = 0.0
        self._timer = SerialDisposable()
        self.frames: Subject[Frame] = Subject()
        self.status: BehaviorSubject[ReplayStatus] = BehaviorSubject(self._status())

    # -- control ------------------------------------------------------------------------------------

    def start(self) -> None:
        self.resume()

    def resume(self) -> None:
        with self._lock:
            if self._done or not self._paused:
                return
            self._paused = False
            self._reanchor()
        self._publish()
        self._schedule_next()

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            self._timer.disposable = None
        self._publish()

    def set_speed(self, speed: float | None) -> None:
        with self._lock:
            self._speed = speed
            self._reanchor()
            running = not self._paused
        self._publish()
        if running:
            self._schedule_next()

    def step(self, count: int = 1) -> None:
        """Emit the next `count` frames now (typically while paused)."""
        for _ in range(count):
            if not self._emit_one():
                break
        self._publish()

    def seek(self, t: float) -> None:
        """Emit every frame up to time `t` at once (forward only: the past has been applied)."""
        with self._lock:
            while (frame := self._peek()) is not None and frame.t <= t:
                self._emit_one()
            self._reanchor()
            running = not self._paused
        self._publish()
        if running:
            self._schedule_next()

    def stop(self) -> None:
        with self._lock:
            self._paused = True
            self._timer.dispose()
        self._publish()

    @property
    def speed(self) -> float | None:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def position(self) -> float | None:
        return self._last_t

    @property
    def emitted(self) -> int:
        return self._emitted

    # -- internals ----------------------------------------------------------------------------------

    def _peek(self) -> Frame | None:
        ahead = self._ahead
        if not ahead and not self._exhausted:
            frame = next(self._source, None)
            if frame is None:
                self._exhausted = True
            else:
                ahead.append(frame)
        if not ahead:
            self._finish()
            return None
        return ahead[0]

    def _emit_one(self) -> bool:
        with self._lock:
            frame = self._peek()
            if frame is None:
                return False
            self._ahead.popleft()
            self._last_t = frame.t
            self._emitted += 1
        self.frames.on_next(frame)
        return True

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._paused = True
            self._publish()
            self.frames.on_completed()

    def _reanchor(self) -> None:
        self._anchor_wall = self._scheduler.now
        frame = self._peek()
        self._anchor_t = self._last_t if self._last_t is not None else (frame.t if frame else 0.0)

    def _due(self, frame: Frame) -> datetime:
        assert self._speed is not MAX, "a replay at max speed has no due times"
        return self._anchor_wall + timedelta(seconds=max(0.0, frame.t - self._anchor_t) / self._speed)

    def _schedule_next(self) -> None:
        with self._lock:
            if self._paused:
                return
            frame = self._peek()
            if frame is None:
                return
            if self._speed is MAX:
                self._timer.disposable = self._scheduler.schedule(self._run_chunk)
            else:
                self._timer.disposable = self._scheduler.schedule_absolute(self._due(frame), self._run_due)

    def _run_chunk(self, _scheduler: abc.SchedulerBase, _state: object = None) -> None:
        """Up to `CHUNK` frames at once: read together, then each handed straight to the subscribers the
        stream has at the start (all of them: they subscribe before `start`), as `Subject.on_next` would
        but without its two locks and copy of them per frame. Pause and a speed change still stop it
        between two frames; what was read and not emitted stays ahead, in order."""
        ahead = self._ahead
        with self._lock:
            if not self._exhausted and len(ahead) < CHUNK:
                ahead.extend(islice(self._source, CHUNK - len(ahead)))
                self._exhausted = len(ahead) < CHUNK  # islice stops short only at the end
        with self.frames.lock:
            observers = [observer.on_next for observer in self.frames.observers]
        for _ in range(CHUNK):
            if self._paused or self._speed is not MAX:
                break
            try:
                frame = ahead.popleft()
            except IndexError:  # all emitted (or stepped from another thread meanwhile)
                break
            self._last_t = frame.t
            self._emitted += 1
            for on_next in observers:
                on_next(frame)
        self._publish()
        self._schedule_next()

    def _run_due(self, scheduler: abc.SchedulerBase, _state: object = None) -> None:
        now = scheduler.now
        while not self._paused and self._speed is not MAX:
            frame = self._peek()
            if frame is None or self._due(frame) > now:
                break
            self._emit_one()
        self._publish()
        self._schedule_next()

    def _status(self) -> ReplayStatus:
        return ReplayStatus(t=self._last_t, emitted=self._emitted, speed=self._speed, paused=self._paused,
                            done=self._done)

    def _publish(self) -> None:
        self.status.on_next(self._status())
