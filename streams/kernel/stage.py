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

from streams.kernel.rx import Hop, OnCompleted, OnError, OnNext, Stream

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

            def finish() -> None:
                try:
                    values = stage.on_end()
                except Exception as error:
                    on_error(error)
                    return
                for value in values:
                    emit(value)
                on_completed()

            hop = Hop(on_error, finish)  # a bug in a stage ends its stream, as in RxPY's own operators

            def on_next(event: In) -> None:
                if hop.stopped:
                    return
                try:
                    values = stage.on_event(event)
                except Exception as error:
                    hop.fail(error)
                    return
                for value in values:
                    emit(value)

            return hop.subscribe(source, on_next, scheduler)

        return Stream(attach)

    return operator
