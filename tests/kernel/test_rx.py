"""`streams.kernel.rx` keeps RxPY's semantics where the graph's behaviour depends on them: the same topology,
subscribed in the same order, delivers the same values in the same order as RxPY's own operators. And
the rest of what a shared stream, a merge and the trampoline promise."""

from __future__ import annotations

from collections.abc import Callable
from itertools import permutations
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.scheduler import CurrentThreadScheduler
from reactivex.subject import Subject

from streams.kernel import rx

Kit = dict[str, Callable[..., Any]]
RX: Kit = {"share": ops.share, "merge": reactivex.merge, "map": ops.map, "filter": ops.filter}
FLOW: Kit = {"share": rx.share, "merge": rx.merge, "map": rx.map, "filter": rx.filter}


def diamond(source: Observable[int], kit: Kit) -> dict[str, Observable[Any]]:
    """A small graph shaped like the real one: a shared stream read by several branches that meet again."""
    shared = source.pipe(kit["share"]())
    doubled = shared.pipe(kit["map"](lambda x: 2 * x), kit["share"]())
    odd = shared.pipe(kit["filter"](lambda x: x % 2 == 1), kit["share"]())
    met = kit["merge"](odd, doubled, shared).pipe(kit["map"](lambda x: x + 100), kit["share"]())
    return {"shared": shared, "doubled": doubled, "odd": odd, "met": met}


def run(kit: Kit, order: tuple[str, ...]) -> list[tuple[str, Any]]:
    source: Subject[int] = Subject()
    outputs = diamond(source, kit)
    seen: list[tuple[str, Any]] = []
    for name in order:
        outputs[name].subscribe(lambda value, name=name: seen.append((name, value)),
                                on_completed=lambda name=name: seen.append((name, "done")))
    for value in range(5):
        source.on_next(value)
    source.on_completed()
    return seen


@pytest.mark.parametrize("order", list(permutations(["shared", "doubled", "odd", "met"])), ids=str)
def test_every_subscription_order_delivers_as_rxpy_does(order: tuple[str, ...]) -> None:
    assert run(FLOW, order) == run(RX, order)


def test_a_shared_stream_connects_on_its_first_subscriber_and_disconnects_after_its_last() -> None:
    subscriptions: list[str] = []

    def subscribe(observer: Any, _scheduler: Any = None) -> reactivex.abc.DisposableBase:
        subscriptions.append("subscribed")
        return reactivex.disposable.Disposable(lambda: subscriptions.append("disposed"))

    shared = Observable(subscribe).pipe(rx.share())
    first, second = shared.subscribe(print), shared.subscribe(print)
    first.dispose()
    assert subscriptions == ["subscribed"]
    second.dispose()
    assert subscriptions == ["subscribed", "disposed"]
    shared.subscribe(print)
    assert subscriptions == ["subscribed", "disposed", "subscribed"]


def test_published_values_flow_only_once_connected_and_stop_when_disconnected() -> None:
    source: Subject[int] = Subject()
    published = source.pipe(rx.publish())
    seen: list[int] = []
    published.subscribe(seen.append)
    source.on_next(1)
    connection, again = published.connect(), published.connect()  # again: still one subscription
    source.on_next(2)
    connection.dispose()
    again.dispose()
    source.on_next(3)
    assert seen == [2]


def test_a_subscriber_joining_mid_emission_gets_the_next_value_not_this_one() -> None:
    source: Subject[int] = Subject()
    shared = source.pipe(rx.share())
    late: list[int] = []
    shared.subscribe(lambda value: shared.subscribe(late.append) if value == 1 else None)
    source.on_next(1)
    source.on_next(2)
    assert late == [2]


def test_the_end_and_errors_reach_every_subscriber_and_later_ones_at_once() -> None:
    for end, expected in ((lambda s: s.on_completed(), "done"), (lambda s: s.on_error(ValueError("x")), "x")):
        source: Subject[int] = Subject()
        shared = source.pipe(rx.share())
        said: list[str] = []

        def listen(shared: Observable[int] = shared, said: list[str] = said) -> None:
            shared.subscribe(said.append, lambda error: said.append(str(error)), lambda: said.append("done"))

        listen()
        listen()
        end(source)
        source.on_next(9)  # nothing after the end
        listen()
        assert said == [expected] * 3


def test_an_error_without_a_handler_is_raised_as_rxpy_does() -> None:
    source: Subject[int] = Subject()
    source.pipe(rx.map(lambda x: 1 // x)).subscribe(print)
    with pytest.raises(ZeroDivisionError):
        source.on_next(0)


def test_operators_take_observers_and_pass_the_subscribers_scheduler_upstream() -> None:
    schedulers: list[Any] = []

    def subscribe(observer: Any, scheduler: Any = None) -> reactivex.abc.DisposableBase:
        schedulers.append(scheduler)
        for value in (1, None, 3):
            observer.on_next(value)
        observer.on_completed()
        return reactivex.disposable.Disposable()

    trampoline = CurrentThreadScheduler.singleton()
    seen: list[Any] = []
    done: list[bool] = []
    stream = rx.merge(Observable(subscribe), reactivex.of("a")).pipe(
        ops.map(lambda value: value), rx.filter_map(lambda value: value), rx.of_type(int),
        rx.map(lambda value: value * 10))
    stream.subscribe(reactivex.Observer(seen.append, on_completed=lambda: done.append(True)), scheduler=trampoline)
    assert seen == [10, 30] and done == [True] and schedulers == [trampoline]


def test_a_merge_ends_when_all_its_sources_have() -> None:
    first, second = Subject(), Subject()
    done: list[bool] = []
    rx.merge(first, second).subscribe(on_completed=lambda: done.append(True))
    first.on_completed()
    assert done == []
    second.on_completed()
    assert done == [True]


def test_turns_run_what_is_asked_during_a_turn_after_it_in_order() -> None:
    turns = rx.Turns()
    said: list[str] = []

    def frame() -> None:
        said.append("frame starts")
        turns.run(lambda: said.append("order 1"))
        turns.run(lambda: (said.append("order 2"), turns.run(lambda: said.append("order 3"))))
        said.append("frame ends")

    turns.run(frame)
    turns.run(lambda: said.append("outside a turn: at once"))
    assert said == ["frame starts", "frame ends", "order 1", "order 2", "order 3", "outside a turn: at once"]


def test_a_failing_turn_drops_what_was_queued_behind_it() -> None:
    turns = rx.Turns()
    said: list[str] = []

    def failing() -> None:
        turns.run(lambda: said.append("never"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        turns.run(failing)
    turns.run(lambda: said.append("next turn"))
    assert said == ["next turn"]


def test_a_stream_on_turns_delivers_each_value_errors_and_the_end_as_turns() -> None:
    turns = rx.Turns()
    source: Subject[int] = Subject()
    said: list[Any] = []
    source.pipe(turns.operator()).subscribe(said.append, lambda error: said.append(str(error)),
                                            lambda: said.append("done"))
    turns.run(lambda: (source.on_next(1), said.append("turn ends")))
    source.on_next(2)
    source.on_completed()
    assert said == ["turn ends", 1, 2, "done"]
    failing: Subject[int] = Subject()
    failing.pipe(turns.operator()).subscribe(on_error=lambda error: said.append(str(error)))
    failing.on_error(ValueError("lost"))
    assert said[-1] == "lost"


def fails_on_two(value: int) -> int:
    if value == 2:
        raise ValueError(f"bad value {value}")
    return value


# each operator with a callback that raises on 2, in this kit and in RxPY (filter_map as RxPY's map + filter)
FAILING: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "map": (rx.map(fails_on_two), ops.map(fails_on_two)),
    "filter": (rx.filter(fails_on_two), ops.filter(fails_on_two)),
    "filter_map": (rx.filter_map(fails_on_two), reactivex.compose(ops.map(fails_on_two),
                                                                  ops.filter(lambda x: x is not None))),
}


def told(stream: Observable[Any]) -> tuple[list[Any], Any]:
    said: list[Any] = []
    subscription = stream.subscribe(said.append, lambda error: said.append(f"error: {error}"),
                                    lambda: said.append("done"))
    return said, subscription


@pytest.mark.parametrize("name", FAILING)
def test_a_callbacks_exception_ends_the_stream_with_on_error_and_unsubscribes_as_rxpy_does(name: str) -> None:
    outcomes = []
    for operator in FAILING[name]:
        source: Subject[int] = Subject()
        said, _ = told(source.pipe(operator))
        for value in (1, 2, 3):
            source.on_next(value)  # the producer is not interrupted
        source.on_completed()
        outcomes.append(said)
        assert source.observers == []  # unsubscribed upstream at the error
    assert outcomes[0] == outcomes[1] == [1, "error: bad value 2"]


def test_a_source_emitting_while_subscribing_gets_nothing_through_after_the_failure() -> None:
    for kit in (rx, ops):  # RxPY's, for reference
        calls: list[int] = []

        def counted(value: int, calls: list[int] = calls) -> int:
            calls.append(value)
            return fails_on_two(value)

        said, _ = told(reactivex.of(1, 2, 3, 4).pipe(kit.map(counted), kit.filter(lambda x: x > 0)))
        assert said == [1, "error: bad value 2"] and calls == [1, 2]


def test_catch_isolates_a_failing_branch_of_a_shared_stream() -> None:
    source: Subject[int] = Subject()
    shared = source.pipe(rx.share())
    failing, _ = told(shared.pipe(rx.map(fails_on_two), ops.catch(reactivex.of("fallback"))))
    sibling, _ = told(shared.pipe(rx.map(lambda x: x * 10)))
    for value in (1, 2, 3):
        source.on_next(value)
    assert failing == [1, "fallback", "done"] and sibling == [10, 20, 30]


def test_an_exception_of_a_subscriber_downstream_is_the_producers_as_in_rxpy() -> None:
    for operator in (rx.map(lambda x: x), ops.map(lambda x: x)):
        source: Subject[int] = Subject()
        errors: list[Exception] = []

        def refuse(value: int) -> None:
            raise RuntimeError(f"subscriber refused {value}")

        source.pipe(operator).subscribe(refuse, errors.append)
        with pytest.raises(RuntimeError, match="subscriber refused 1"):
            source.on_next(1)
        assert errors == []


def parity(value: int) -> str:
    return "even" if value % 2 == 0 else "odd"


def test_a_routed_stream_delivers_as_filters_of_a_shared_one_do_in_subscription_order() -> None:
    outcomes = []
    for routed in (True, False):
        source: Subject[int] = Subject()
        said: list[tuple[str, Any]] = []
        if routed:
            stream = source.pipe(rx.routed(parity))
            branches = {"evens": stream.only("even"), "all": stream, "odds": stream.only("odd"),
                        "both": stream.only("odd", "even")}
        else:
            shared = source.pipe(rx.share())
            branches = {"evens": shared.pipe(rx.filter(lambda x: x % 2 == 0)), "all": shared,
                        "odds": shared.pipe(rx.filter(lambda x: x % 2 == 1)), "both": shared}
        subscriptions = {name: branch.subscribe(lambda x, name=name, said=said: said.append((name, x)),
                                                on_completed=lambda name=name, said=said: said.append((name, "done")))
                         for name, branch in branches.items()}
        for value in range(4):
            source.on_next(value)
        subscriptions["evens"].dispose()  # the routes follow the subscriptions
        source.on_next(4)
        source.on_next(5)
        source.on_completed()
        outcomes.append(said)
    assert outcomes[0] == outcomes[1]
    assert ("evens", 4) not in outcomes[0] and ("both", 5) in outcomes[0]
