"""A stage: a plain state machine (one value in, zero or more values out) and the operator that lifts it
onto a stream.

The market math lives in stages, testable without Rx. `lift` builds a fresh stage per subscription, so
two subscribers never share, or apply twice, one book; put `ops.share()` after it to fan one out. Each
value it emits is a plain call to the subscriber (see `streams.kernel.rx`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from reactivex import Observable, abc

from streams.kernel.rx import OnCompleted, OnError, OnNext, Stream

In = TypeVar("In")
Out = TypeVar("Out")

NOTHING: tuple = ()
"""What a stage returns for a value that changes nothing (no allocation on the hot path)."""


class Stage(Generic[In, Out]):
    def on_event(self, event: In) -> Iterable[Out]:
        raise NotImplementedError

    def on_end(self) -> Iterable[Out]:
        """Last values when the input completes (e.g. a final report at the end of a replay)."""
        return NOTHING


def lift(make: Callable[[], Stage[In, Out]]) -> Callable[[Observable[In]], Observable[Out]]:
    def operator(source: Observable[In]) -> Observable[Out]:
        def attach(emit: OnNext, on_error: OnError, on_completed: OnCompleted,
                   scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            stage = make()
            failed = False

            def on_next(event: In) -> None:
                nonlocal failed
                if failed:
                    return
                try:
                    values = stage.on_event(event)
                except Exception as exc:  # a bug in a stage ends its stream, as in RxPY's own operators
                    failed = True
                    on_error(exc)
                    return
                for value in values:
                    emit(value)

            def on_source_error(error: Exception) -> None:
                if not failed:
                    on_error(error)

            def on_end() -> None:
                if not failed:
                    for value in stage.on_end():
                        emit(value)
                    on_completed()

            return source.subscribe(on_next, on_source_error, on_end, scheduler=scheduler)

        return Stream(attach)

    return operator
