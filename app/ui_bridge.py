"""Where the streams meet the screen: graph outputs, produced on the source's thread at any rate, reach
the app's event loop as small batches, at most `hz` a second, never blocking the producer.

`conflate` keeps the latest value per key (or every value, for logs) until a timer flushes them as one
`Batch`; the timer runs on an injected scheduler (the app loop, or virtual time in tests), so an idle
stream costs nothing and a flood costs one dict write per value. The last hop is `observe_on` the app
loop through `AsyncIOThreadSafeScheduler` (STYLE.md: the plain asyncio scheduler waits until the loop
wakes for another reason, and time operators forward completion on the source thread).

End-to-end latency is measured here with a monotonic clock: a batch remembers when the frame behind its
oldest value was received (`FrameMeter`, tapped on the frames), and the UI side subtracts that from the
time it applies the batch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, SerialDisposable

from streams.kernel.frames import Frame

T = TypeVar("T")

Clock = Callable[[], float]


class Batch(NamedTuple, Generic[T]):
    values: list[T]
    since: float
    """The stamp (e.g. receive time) of the oldest value in the batch."""


def conflate(interval: float, scheduler: abc.SchedulerBase, *, key: Callable[[T], Hashable] | None = None,
             limit: int | None = None, stamp: Clock = time.monotonic
             ) -> Callable[[Observable[T]], Observable[Batch[T]]]:
    """Values -> at most one `Batch` per `interval` seconds on `scheduler`, nothing while idle.

    With `key`, a batch holds the latest value per key, in the order the keys first came; without, every
    value in order (the last `limit` of them). The first value after a quiet `interval` is flushed at
    once (a due time of 0), so a slow stream is not delayed. Completion and errors are forwarded on
    `scheduler` too, after the last batch, so every notification comes from one place.
    """

    def operator(source: Observable[T]) -> Observable[Batch[T]]:
        def subscribe(observer: abc.ObserverBase[Batch[T]], subscribe_scheduler: abc.SchedulerBase | None = None
                      ) -> abc.DisposableBase:
            lock = threading.Lock()
            latest: dict[Hashable, T] = {}
            every: deque[T] = deque(maxlen=limit)
            since = 0.0
            last_flush: datetime | None = None
            timer = SerialDisposable()

            def take() -> Batch[T] | None:
                nonlocal last_flush
                with lock:
                    values = list(latest.values()) if key is not None else list(every)
                    latest.clear()
                    every.clear()
                    last_flush = scheduler.now
                    return Batch(values, since) if values else None

            def flush(_scheduler: abc.SchedulerBase, _state: Any = None) -> None:
                if (batch := take()) is not None:
                    observer.on_next(batch)

            def on_next(value: T) -> None:
                nonlocal since
                with lock:
                    first = not latest and not every
                    if first:
                        since = stamp()
                        quiet = None if last_flush is None else (scheduler.now - last_flush).total_seconds()
                        wait = 0.0 if quiet is None else max(0.0, interval - quiet)
                    if key is not None:
                        latest[key(value)] = value
                    else:
                        every.append(value)
                if first:
                    timer.disposable = scheduler.schedule_relative(wait, flush)

            def finish(notify: Callable[[], None]) -> None:
                def last(scheduler_: abc.SchedulerBase, _state: Any = None) -> None:
                    flush(scheduler_)
                    notify()

                timer.disposable = scheduler.schedule(last)

            subscription = source.subscribe(on_next, lambda error: finish(lambda: observer.on_error(error)),
                                            lambda: finish(observer.on_completed), scheduler=subscribe_scheduler)
            return CompositeDisposable(subscription, timer)

        return Observable(subscribe)

    return operator


class FrameMeter:
    """Counts a source's frames and remembers when the latest was received (monotonic seconds). Called on
    the source's thread; readers on other threads see a recent value, which is all a meter needs."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.count = 0
        self.received_at = clock()

    def on_frame(self, _frame: Frame) -> None:
        self.count += 1
        self.received_at = self._clock()


class LatencyGauge:
    """The worst end-to-end latency since it was last read (None when nothing reached the screen)."""

    def __init__(self) -> None:
        self._worst: float | None = None

    def observe(self, seconds: float) -> None:
        self._worst = seconds if self._worst is None else max(self._worst, seconds)

    def take(self) -> float | None:
        worst, self._worst = self._worst, None
        return worst


class UiBridge:
    """Binds streams to UI callbacks: conflated on `timer` (default: the UI scheduler) at most `hz` times a
    second, delivered on `ui`. Latency is measured against `clock` (monotonic; injected in tests)."""

    def __init__(self, ui: abc.SchedulerBase, *, timer: abc.SchedulerBase | None = None, hz: float = 10.0,
                 clock: Clock = time.monotonic) -> None:
        self.ui = ui
        self.timer = timer or ui
        self.interval = 1.0 / hz
        self.clock = clock
        self.latency = LatencyGauge()

    def bind(self, source: Observable[T], on_batch: Callable[[list[T]], None], *,
             key: Callable[[T], Hashable] | None = None, limit: int | None = None, meter: FrameMeter | None = None,
             hz: float | None = None) -> abc.DisposableBase:
        """Deliver `source` to `on_batch` on the UI thread, at most `hz` (default: the bridge's) batches a
        second. With a `meter`, each batch's latency (now minus the receipt of the frame behind its oldest
        value) is recorded."""
        stamp = (lambda: meter.received_at) if meter is not None else self.clock

        def deliver(batch: Batch[T]) -> None:
            if meter is not None:
                self.latency.observe(max(0.0, self.clock() - batch.since))
            on_batch(batch.values)

        return source.pipe(
            conflate(self.interval if hz is None else 1.0 / hz, self.timer, key=key, limit=limit, stamp=stamp),
            ops.observe_on(self.ui),
        ).subscribe(deliver)
