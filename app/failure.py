"""How the headless run learns that its graph failed, whichever thread it failed on.

An exception raised in the graph's thread (a component's bug, a number that overflows, stdout that can
no longer be written) used to end that thread silently while the main thread went on printing progress
for ever. Here the first one is kept, the run is told to stop, and what failed is named in one line.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.scheduler import EventLoopScheduler

from streams.kernel import rx

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


class Failure:
    """The first exception the graph raised; `on_failure` is called once, from the failing thread."""

    def __init__(self, on_failure: Callable[[], object]) -> None:
        self._on_failure = on_failure
        self._lock = threading.Lock()
        self.exception: BaseException | None = None

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            first, self.exception = self.exception is None, self.exception or exc
        if first:
            self._on_failure()

    def guard(self, action: Callable[[], None]) -> Callable[[], None]:
        """`action`, with its exception (if any) kept as the failure instead of raised."""

        def guarded() -> None:
            try:
                action()
            except Exception as exc:
                self.fail(exc)

        return guarded

    def frames(self, source: Observable[T]) -> Observable[T]:
        """`source`, each value's way through the graph guarded; once failed, nothing more goes in (what
        the graph holds may be half-updated)."""

        def attach(on_next: Any, on_error: Any, on_completed: Any, scheduler: abc.SchedulerBase | None
                   ) -> abc.DisposableBase:
            def next_value(value: T) -> None:
                if self.exception is None:
                    self.guard(lambda: on_next(value))()

            return source.subscribe(next_value, self.fail, on_completed, scheduler=scheduler)

        return rx.Stream(attach)

    def describe(self) -> str:
        """`ZeroDivisionError: division by zero (streams/signals/scoring.py:88 in score)`: where in the
        project's own code it was raised (a library's frame names the library, not what misused it)."""
        exc = self.exception
        if exc is None:
            return "no failure"
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [frame for frame in frames if _ours(Path(frame.filename))]
        if not (ours or frames):
            return text
        where = (ours or frames)[-1]
        path = Path(where.filename)
        return f"{text} ({path.relative_to(ROOT) if _ours(path) else path}:{where.lineno} in {where.name})"


def _ours(path: Path) -> bool:
    return path.is_relative_to(ROOT) and "site-packages" not in path.parts


class GraphThread(EventLoopScheduler):
    """The graph's one thread. An action that raises is the run's failure, not the thread's end: the
    thread lives on to run what the stop schedules."""

    def __init__(self, failure: Failure) -> None:
        super().__init__()
        self._failure = failure

    def invoke_action(self, action: abc.ScheduledAction[Any], state: Any = None) -> abc.DisposableBase:
        try:
            return super().invoke_action(action, state)
        except Exception as exc:
            self._failure.fail(exc)
            return Disposable()
