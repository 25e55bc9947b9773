"""A stage lifted onto a stream: fresh state per subscription, values in order, its last values at the
end, and a failing stage ends its stream with the error (as RxPY's own operators do)."""

from __future__ import annotations

import reactivex

from streams.kernel.stage import Stage, lift


class RunningSum(Stage[int, int]):
    def __init__(self) -> None:
        self.total = 0

    def on_event(self, event: int) -> list[int]:
        if event < 0:
            raise ValueError(f"negative: {event}")
        self.total += event
        return [self.total] * (event % 2)  # only odd inputs say something

    def on_end(self) -> list[int]:
        return [-self.total]


def test_each_subscription_runs_its_own_stage_and_ends_with_its_last_values():
    summed = reactivex.of(1, 2, 3).pipe(lift(RunningSum))
    first, second, done = [], [], []
    summed.subscribe(first.append, on_completed=lambda: done.append(True))
    summed.subscribe(second.append)

    assert first == second == [1, 6, -6] and done == [True]


def test_a_failing_stage_ends_the_stream_with_its_error():
    seen, errors = [], []
    reactivex.of(1, -2, 3).pipe(lift(RunningSum)).subscribe(seen.append, errors.append)

    assert seen == [1] and [str(e) for e in errors] == ["negative: -2"]


def test_the_sources_error_passes_through_and_nothing_follows_a_failed_stage():
    errors, ended = [], []
    reactivex.throw(ValueError("source broke")).pipe(lift(RunningSum)).subscribe(on_error=errors.append)
    failing = reactivex.concat(reactivex.of(-1), reactivex.throw(ValueError("after")))
    failing.pipe(lift(RunningSum)).subscribe(on_error=errors.append, on_completed=lambda: ended.append(True))
    reactivex.of(-1, 1).pipe(lift(RunningSum)).subscribe(on_error=errors.append,
                                                         on_completed=lambda: ended.append(True))

    assert [str(e) for e in errors] == ["source broke", "negative: -1", "negative: -1"] and ended == []


class FailsAtTheEnd(RunningSum):
    def on_end(self) -> list[int]:
        raise ValueError("no final report")


def test_a_stage_failing_at_the_end_ends_its_stream_with_the_error():
    seen, errors, ended = [], [], []
    reactivex.of(1, 2).pipe(lift(FailsAtTheEnd)).subscribe(seen.append, errors.append, lambda: ended.append(True))

    assert seen == [1] and [str(e) for e in errors] == ["no final report"] and ended == []
