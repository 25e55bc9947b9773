"""A stage: a plain state machine (one value in, zero or more values out) and the operator that lifts it
onto a stream.

The market math lives in stages, testable without Rx. `lift` builds a fresh stage per subscription, so
two subscribers never share, or apply twice, one book; put `ops.share()` after it to fan one out.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterable, TypeVar

from reactivex import Observable, abc

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
        def subscribe(observer: abc.ObserverBase[Out], scheduler: abc.SchedulerBase | None = None
                      ) -> abc.DisposableBase:
            stage = make()
            emit = observer.on_next

            def on_next(event: In) -> None:
                try:
                    values = stage.on_event(event)
                except Exception as exc:  # a bug in a stage ends its stream, as in RxPY's own operators
                    observer.on_error(exc)
                    return
                for value in values:
                    emit(value)

            def on_completed() -> None:
                for value in stage.on_end():
                    emit(value)
                observer.on_completed()

            return source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
