"""RxPY's `share`, `publish`, `merge`, `map` and `filter`, and a trampoline, for streams that live on one
thread: the same semantics, a plain call per hop.

The graph runs on the thread that delivers its frames (see `streams.graph`), so RxPY's thread safety, a
lock and an observer wrapper on every hop and a scheduled item per frame on the trampoline, buys it
nothing and cost it most of its time (`benchmarks/bench_graph.py`). What is kept, because the graph's
behaviour depends on it: a value reaches the subscribers of a shared stream in the order they
subscribed; an operator subscribes to its source when it is itself subscribed to (so the order of
subscriptions downstream decides the order upstream, exactly as in RxPY); a shared stream connects on
its first subscriber and disconnects after its last; nothing goes out after an error or the end; an
exception of an operator's callback ends that operator's stream with `on_error` (so `catch` can isolate a
failing branch) while one raised by a subscriber propagates to the producer, both as in RxPY.

These are `reactivex.Observable`s: RxPY operators and subscribers take them as they are. Only their
`subscribe` differs, calling back the given functions without RxPY's `AutoDetachObserver`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.internal import default_error, noop

T = TypeVar("T")
U = TypeVar("U")

OnNext = Callable[[Any], None]
OnError = Callable[[Exception], None]
OnCompleted = Callable[[], None]
Attach = Callable[[OnNext, OnError, OnCompleted, "abc.SchedulerBase | None"], abc.DisposableBase]


def _callbacks(on_next: Any, on_error: OnError | None, on_completed: OnCompleted | None
               ) -> tuple[OnNext, OnError, OnCompleted]:
    """`subscribe`'s arguments as RxPY reads them: an observer, or up to three functions."""
    if callable(getattr(on_next, "on_next", None)):
        return on_next.on_next, on_next.on_error, on_next.on_completed
    return on_next or noop, on_error or default_error, on_completed or noop


class Stream(Observable[T], Generic[T]):
    """A cold stream: each subscription runs `attach(on_next, on_error, on_completed, scheduler)`, which
    subscribes upstream and returns that subscription."""

    def __init__(self, attach: Attach) -> None:
        super().__init__()
        self._attach = attach

    def subscribe(self, on_next: Any = None, on_error: OnError | None = None,
                  on_completed: OnCompleted | None = None, *, scheduler: abc.SchedulerBase | None = None
                  ) -> abc.DisposableBase:
        return self._attach(*_callbacks(on_next, on_error, on_completed), scheduler)


class Shared(Observable[T], Generic[T]):
    """A hot stream over `source`: one subscription upstream, each value passed to every subscriber in
    the order they subscribed. It connects on the first subscriber and disconnects after the last (as
    `ops.share()`), or, made with `auto_connect=False`, only when `connect()` is called (as
    `ops.publish()`). After the source ends, a new subscriber is told so at once."""

    def __init__(self, source: Observable[T], auto_connect: bool = True) -> None:
        super().__init__()
        self._source = source
        self._auto_connect = auto_connect
        self._subscribers: list[tuple[OnNext, OnError, OnCompleted]] = []
        self._nexts: tuple[OnNext, ...] = ()
        self._connection: abc.DisposableBase | None = None
        self._ended = False
        self._failure: Exception | None = None  # why the source ended, if it failed

    def subscribe(self, on_next: Any = None, on_error: OnError | None = None,
                  on_completed: OnCompleted | None = None, *, scheduler: abc.SchedulerBase | None = None
                  ) -> abc.DisposableBase:
        return self._join(_callbacks(on_next, on_error, on_completed), scheduler)

    def _join(self, subscriber: tuple[OnNext, OnError, OnCompleted], scheduler: abc.SchedulerBase | None
              ) -> abc.DisposableBase:
        if self._ended:
            if self._failure is not None:
                subscriber[1](self._failure)
            else:
                subscriber[2]()
            return Disposable()
        self._subscribers.append(subscriber)
        self._changed()
        if self._auto_connect and self._connection is None:
            self.connect(scheduler)
        return Disposable(lambda: self._leave(subscriber))

    def connect(self, scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        """Subscribe to the source (once); disposing the result disconnects."""
        if self._connection is None:
            self._connection = Disposable()  # a source that emits while subscribing finds us connected
            upstream = self._source.subscribe(self._next, self._error, self._completed, scheduler=scheduler)
            self._connection = upstream
        return Disposable(self._disconnect)

    def _next(self, value: T) -> None:
        for on_next in self._nexts:
            on_next(value)

    def _error(self, error: Exception) -> None:
        self._end(error)
        for _, on_error, _ in self._subscribers:
            on_error(error)

    def _completed(self) -> None:
        self._end(None)
        for _, _, on_completed in self._subscribers:
            on_completed()

    def _end(self, failure: Exception | None) -> None:
        self._ended, self._failure = True, failure
        self._nexts = ()

    def _leave(self, subscriber: tuple[OnNext, OnError, OnCompleted]) -> None:
        self._subscribers.remove(subscriber)  # once: a Disposable runs its action once
        self._changed()
        if self._auto_connect and not self._subscribers:
            self._disconnect()

    def _changed(self) -> None:
        """The subscribers changed: a new tuple, so that an emission in progress keeps its own."""
        self._nexts = tuple(on_next for on_next, _, _ in self._subscribers)

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.dispose()


class Routed(Shared[T], Generic[T]):
    """A shared stream whose subscribers through `only(*keys)` receive just the values whose `key(value)`
    is one of `keys`, while plain subscribers receive every value; all in the order they subscribed, as
    in a `Shared`. A stage that would ignore most values (a channel's) is then not called for them at
    all: the subscribers of each key are found once and kept until the subscriptions change."""

    def __init__(self, source: Observable[T], key: Callable[[T], Hashable]) -> None:
        self._key = key
        self._wants: dict[int, frozenset[Hashable]] = {}  # id of a subscriber -> its keys
        self._routes: dict[Hashable, tuple[OnNext, ...]] = {}
        super().__init__(source)

    def only(self, *keys: Hashable) -> Stream[T]:
        wanted = frozenset(keys)

        def attach(on_next: OnNext, on_error: OnError, on_completed: OnCompleted,
                   scheduler: abc.SchedulerBase | None) -> abc.DisposableBase:
            subscriber = (on_next, on_error, on_completed)
            self._wants[id(subscriber)] = wanted
            joined = self._join(subscriber, scheduler)

            def leave() -> None:
                joined.dispose()
                self._wants.pop(id(subscriber), None)

            return Disposable(leave)

        return Stream(attach)

    def _next(self, value: T) -> None:
        key = self._key(value)
        nexts = self._routes.get(key)
        if nexts is None:
            wants = self._wants
            nexts = self._routes[key] = tuple(
                subscriber[0] for subscriber in self._subscribers
                if (wanted := wants.get(id(subscriber))) is None or key in wanted)
        for on_next in nexts:
            on_next(value)

    def _changed(self) -> None:
        super()._changed()
        self._routes = {}

    def _end(self, failure: Exception | None) -> None:
        super()._end(failure)
        self._key, self._routes = _nowhere, {None: ()}  # as `Shared`: nothing goes out after the end


def _nowhere(_value: object) -> None:
    return None


def share() -> Callable[[Observable[T]], Shared[T]]:
    return Shared


def routed(key: Callable[[T], Hashable]) -> Callable[[Observable[T]], Routed[T]]:
    """`share`, with subscribers that may take only some keys (`Routed.only`)."""
    return lambda source: Routed(source, key)


def publish() -> Callable[[Observable[T]], Shared[T]]:
    return lambda source: Shared(source, auto_connect=False)


class Hop:
    """One subscription of an operator to its source, as RxPY's operators keep it: an exception of the
    operator's callback goes downstream as `on_error` (not up into the producer), the source is then
    unsubscribed from, and nothing more goes out, even from a source still emitting inside `subscribe`.
    An exception raised downstream is not the operator's: it propagates to the producer, as in RxPY."""

    __slots__ = ("stopped", "_subscription", "_on_error", "_on_completed")

    def __init__(self, on_error: OnError, on_completed: OnCompleted) -> None:
        self.stopped = False
        self._subscription: abc.DisposableBase | None = None
        self._on_error, self._on_completed = on_error, on_completed

    def subscribe(self, source: Observable[Any], on_value: OnNext,
                  scheduler: abc.SchedulerBase | None) -> abc.DisposableBase:
        subscription = source.subscribe(on_value, self.error, self.completed, scheduler=scheduler)
        self._subscription = subscription
        if self.stopped:  # it failed while subscribing
            subscription.dispose()
        return subscription

    def fail(self, error: Exception) -> None:
        """The operator's callback raised `error`."""
        if self._subscription is not None:
            self._subscription.dispose()
        self.error(error)

    def error(self, error: Exception) -> None:
        if not self.stopped:
            self.stopped = True
            self._on_error(error)

    def completed(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._on_completed()


Step = Callable[[OnNext, Hop], OnNext]
"""An operator's work for one subscription: given where its values go and its `Hop`, the function that
takes each value from upstream. Each operator writes its own out, guard included: a shared one would cost
a call per value on every hop of the graph."""


def _operator(step: Step) -> Callable[[Observable[Any]], Stream[Any]]:
    def operator(source: Observable[Any]) -> Stream[Any]:
        def attach(on_next: OnNext, on_error: OnError, on_completed: OnCompleted,
                   scheduler: abc.SchedulerBase | None) -> abc.DisposableBase:
            hop = Hop(on_error, on_completed)
            return hop.subscribe(source, step(on_next, hop), scheduler)

        return Stream(attach)

    return operator


def map(mapper: Callable[[T], U]) -> Callable[[Observable[T]], Stream[U]]:  # noqa: A001 - as RxPY names it
    def step(on_next: OnNext, hop: Hop) -> OnNext:
        def mapped(value: T) -> None:
            if hop.stopped:
                return
            try:
                result = mapper(value)
            except Exception as error:
                hop.fail(error)
            else:
                on_next(result)

        return mapped

    return _operator(step)


def filter(predicate: Callable[[T], bool]) -> Callable[[Observable[T]], Stream[T]]:  # noqa: A001
    def step(on_next: OnNext, hop: Hop) -> OnNext:
        def wanted(value: T) -> None:
            if hop.stopped:
                return
            try:
                keep = predicate(value)
            except Exception as error:
                hop.fail(error)
            else:
                if keep:
                    on_next(value)

        return wanted

    return _operator(step)


def filter_map(mapper: Callable[[T], U | None]) -> Callable[[Observable[T]], Stream[U]]:
    """`map`, keeping only the results that are not None (one hop where map + filter take two)."""

    def step(on_next: OnNext, hop: Hop) -> OnNext:
        def mapped(value: T) -> None:
            if hop.stopped:
                return
            try:
                result = mapper(value)
            except Exception as error:
                hop.fail(error)
            else:
                if result is not None:
                    on_next(result)

        return mapped

    return _operator(step)


def of_type(*kinds: type) -> Callable[[Observable[Any]], Stream[Any]]:
    """Keep the values that are instances of `kinds`."""
    return filter(lambda value: isinstance(value, kinds))


def merge(*sources: Observable[T]) -> Stream[T]:
    """Every source's values as they come; subscribes to the sources in order, ends when all have."""

    def attach(on_next: OnNext, on_error: OnError, on_completed: OnCompleted,
               scheduler: abc.SchedulerBase | None) -> abc.DisposableBase:
        running = [len(sources)]

        def one_completed() -> None:
            running[0] -= 1
            if running[0] == 0:
                on_completed()

        return CompositeDisposable(*(source.subscribe(on_next, on_error, one_completed, scheduler=scheduler)
                                     for source in sources))

    return Stream(attach)


class Turns:
    """A trampoline without a clock, for one thread: `run(action)` runs it at once, unless another action
    is running, in which case it runs after that one and everything queued before it. The graph takes
    each frame as a turn, so what a frame causes to be done later (an order) is done once the frame has
    reached every subscriber. An error drops what was queued, as RxPY's trampoline does."""

    def __init__(self) -> None:
        self._queue: deque[Callable[[], None]] = deque()
        self._running = False

    def run(self, action: Callable[[], None]) -> None:
        if self._running:
            self._queue.append(action)
            return
        self._running = True
        try:
            action()
            queue = self._queue
            while queue:
                queue.popleft()()
        finally:
            self._running = False
            self._queue.clear()

    def operator(self) -> Callable[[Observable[T]], Stream[T]]:
        """Deliver each value of a stream as a turn."""

        def operator(source: Observable[T]) -> Stream[T]:
            def attach(on_next: OnNext, on_error: OnError, on_completed: OnCompleted,
                       scheduler: abc.SchedulerBase | None) -> abc.DisposableBase:
                run = self.run
                return source.subscribe(lambda value: run(lambda: on_next(value)),
                                        lambda error: run(lambda: on_error(error)),
                                        lambda: run(on_completed), scheduler=scheduler)

            return Stream(attach)

        return operator
