"""The Rx -> Textual bridge: conflation in virtual time (marble-style, on a TestScheduler), delivery on
the app loop from a producer thread, latency and rate measurement."""

from __future__ import annotations

import asyncio
import threading

from reactivex.scheduler import HistoricalScheduler
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler

from app.ui_bridge import Batch, FrameMeter, LatencyGauge, UiBridge, conflate
from streams.kernel.frames import Frame

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error


def seconds(scheduler: TestScheduler) -> float:
    return scheduler.to_seconds(scheduler.now)


def run(messages: list, **options) -> list[tuple[float, object]]:
    """(time, (values, since) or 'done' or the error) of `conflate(0.1, ...)` over hot `messages`; the
    TestScheduler's clock counts seconds."""
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(*messages)
    out: list[tuple[float, object]] = []
    source.pipe(conflate(0.1, scheduler, stamp=lambda: seconds(scheduler), **options)).subscribe(
        lambda batch: out.append((round(seconds(scheduler), 3), (batch.values, round(batch.since, 3)))),
        lambda error: out.append((round(seconds(scheduler), 3), error)),
        lambda: out.append((round(seconds(scheduler), 3), "done")))
    scheduler.start()
    return out


def test_the_latest_value_per_key_at_most_ten_times_a_second() -> None:
    out = run([on_next(1.00, ("a", 1)), on_next(1.02, ("b", 1)), on_next(1.03, ("a", 2)),
               on_next(1.05, ("a", 3)), on_next(1.30, ("b", 2)), on_completed(2.0)],
              key=lambda v: v[0])
    assert out == [
        (1.0, ([("a", 1)], 1.0)),  # the first value after a quiet spell goes at once
        (1.1, ([("b", 1), ("a", 3)], 1.02)),  # then at most one batch per 0.1 s, the latest per key
        (1.3, ([("b", 2)], 1.3)),  # quiet for 0.2 s: at once again
        (2.0, "done"),
    ]


def test_without_a_key_every_value_in_order_up_to_a_limit() -> None:
    out = run([on_next(1.00, 1), on_next(1.01, 2), on_next(1.02, 3), on_next(1.03, 4),
               on_next(1.04, 5), on_completed(1.05)], limit=3)
    assert out == [(1.0, ([1], 1.0)), (1.05, ([3, 4, 5], 1.01)), (1.05, "done")]


def test_an_error_follows_the_last_batch() -> None:
    boom = ValueError("boom")
    out = run([on_next(1.0, 1), on_next(1.01, 2), on_error(1.02, boom)])
    assert out == [(1.0, ([1], 1.0)), (1.02, ([2], 1.01)), (1.02, boom)]


def test_a_flood_becomes_ten_batches_a_second() -> None:
    messages = [on_next(1.0 + i / 50_000, i % 7) for i in range(50_000)]
    out = run(messages, key=lambda v: v)
    assert len(out) == 11  # one at once, then every 0.1 s for a second
    assert all(sorted(values) == list(range(7)) for _, (values, _) in out[1:])


def test_nothing_is_scheduled_while_idle_and_disposing_cancels_the_timer() -> None:
    scheduler = TestScheduler()
    source: Subject[int] = Subject()
    out: list[Batch[int]] = []
    subscription = source.pipe(conflate(0.1, scheduler)).subscribe(out.append)
    source.on_next(1)
    scheduler.advance_by(1.0)
    source.on_next(2)
    subscription.dispose()
    scheduler.advance_by(1.0)
    assert [batch.values for batch in out] == [[1]]


def test_the_meter_counts_frames_and_stamps_the_latest() -> None:
    clock = iter([5.0, 6.0, 7.5])
    meter = FrameMeter(lambda: next(clock))
    frame = Frame(t=1.0, kind="ws", data=b"{}")
    meter.on_frame(frame)
    meter.on_frame(frame)
    assert (meter.count, meter.received_at) == (2, 7.5)


def test_the_latency_gauge_keeps_the_worst_since_it_was_read() -> None:
    gauge = LatencyGauge()
    assert gauge.take() is None
    for seconds_ in (0.02, 0.05, 0.01):
        gauge.observe(seconds_)
    assert (gauge.take(), gauge.take()) == (0.05, None)


async def test_batches_from_a_producer_thread_arrive_on_the_app_loop_with_their_latency() -> None:
    loop = asyncio.get_running_loop()
    timer = HistoricalScheduler()
    now = [100.0]
    bridge = UiBridge(AsyncIOThreadSafeScheduler(loop), timer=timer, clock=lambda: now[0])
    meter = FrameMeter(lambda: now[0])
    source: Subject[tuple[str, int]] = Subject()
    received: list[tuple[list, bool]] = []
    done = loop.create_future()

    def deliver(values: list) -> None:
        received.append((values, threading.current_thread() is threading.main_thread()))
        if values[-1][1] == 999:
            done.set_result(None)

    bridge.bind(source, deliver, key=lambda v: v[0], meter=meter)

    def produce() -> None:
        for i in range(1000):
            meter.on_frame(Frame(t=float(i), kind="ws", data=b""))
            source.on_next(("BTC-USD" if i % 2 else "ETH-USD", i))

    producer = threading.Thread(target=produce)
    producer.start()
    await asyncio.to_thread(producer.join)
    now[0] = 100.25  # the UI applies the batch a quarter of a second after the frames were received
    timer.advance_by(1.0)
    await asyncio.wait_for(done, 10)
    assert received[-1] == ([("ETH-USD", 998), ("BTC-USD", 999)], True)
    assert all(on_loop for _, on_loop in received)
    assert bridge.latency.take() == 0.25
