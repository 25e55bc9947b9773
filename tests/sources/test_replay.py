"""In-process replay: recorded order and timestamps, at speed 1, any factor or as fast as possible, on
virtual time, with pause, step and seek - and the same frames every run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from reactivex.scheduler import HistoricalScheduler

from streams.kernel.frames import Frame
from streams.sources.replay import CHUNK, Replayer, parse_speed, replay

T0 = 1_721_800_000.0
EPOCH = datetime(2024, 7, 24, tzinfo=UTC)


def frames(gaps: list[float]) -> list[Frame]:
    out, t = [], T0
    for i, gap in enumerate(gaps):
        t += gap
        out.append(Frame(t=t, kind="ws", data=b'{"n":%d}' % i, conn=1))
    return out


def run(recorded: list[Frame], speed: float | None):
    scheduler = HistoricalScheduler(EPOCH)
    replayer = Replayer(recorded, scheduler, speed=speed)
    seen: list[tuple[float, Frame]] = []
    done: list[bool] = []
    replayer.frames.subscribe(lambda f: seen.append(((scheduler.now - EPOCH).total_seconds(), f)),
                              on_completed=lambda: done.append(True))
    return scheduler, replayer, seen, done


@pytest.mark.parametrize("speed", [1.0, 10.0, 0.5])
def test_frames_arrive_in_recorded_order_on_the_recorded_schedule_scaled_by_speed(speed):
    recorded = frames([0, 1.0, 0.25, 0.0, 2.0])
    scheduler, replayer, seen, done = run(recorded, speed)
    replayer.start()
    scheduler.start()
    assert [f for _, f in seen] == recorded
    expected = [(f.t - recorded[0].t) / speed for f in recorded]
    assert [round(at, 9) for at, _ in seen] == [round(x, 9) for x in expected]
    assert done == [True] and replayer.status.value.done


def test_max_speed_emits_everything_without_advancing_virtual_time():
    recorded = frames([0.5] * (3 * CHUNK + 7))
    scheduler, replayer, seen, done = run(recorded, None)
    replayer.start()
    scheduler.start()
    assert [f for _, f in seen] == recorded and {at for at, _ in seen} == {0.0}
    assert done == [True]


def test_pause_step_resume_and_speed_change_keep_order_and_reanchor():
    recorded = frames([0, 1, 1, 1, 1, 1])
    scheduler, replayer, seen, _ = run(recorded, 1.0)
    replayer.start()
    scheduler.advance_by(timedelta(seconds=1.5))  # frames 0 and 1 are due
    assert len(seen) == 2
    replayer.pause()
    scheduler.advance_by(timedelta(seconds=10))
    assert len(seen) == 2, "nothing plays while paused"
    replayer.step()
    assert len(seen) == 3 and replayer.position == recorded[2].t
    replayer.set_speed(2.0)
    replayer.resume()
    scheduler.advance_by(timedelta(seconds=0.5))  # next frame is 1 s of data later = 0.5 s at speed 2
    assert len(seen) == 4
    replayer.set_speed(None)
    scheduler.advance_by(timedelta(microseconds=1))  # max speed: the rest at once
    assert [f for _, f in seen] == recorded


def test_at_max_speed_a_pause_in_the_middle_of_a_chunk_holds_the_rest_in_order_for_step_seek_and_resume():
    recorded = frames([0.5] * (2 * CHUNK + 3))
    scheduler, replayer, seen, done = run(recorded, None)
    replayer.frames.subscribe(lambda _frame: replayer.pause() if replayer.emitted == CHUNK // 2 else None)
    replayer.start()
    scheduler.start()
    assert [f for _, f in seen] == recorded[:CHUNK // 2] and replayer.paused
    assert replayer.status.value.emitted == CHUNK // 2 and replayer.position == recorded[CHUNK // 2 - 1].t
    replayer.step(3)  # the frames read with the chunk come first
    assert [f for _, f in seen] == recorded[:CHUNK // 2 + 3]
    replayer.seek(recorded[CHUNK + 100].t)  # past what the chunk read: from it, then from the recording
    assert [f for _, f in seen] == recorded[:CHUNK + 101] and replayer.paused
    replayer.resume()
    scheduler.start()
    assert [f for _, f in seen] == recorded and done == [True] and replayer.emitted == len(recorded)


def test_at_max_speed_a_pause_in_a_chunk_then_resume_loses_and_repeats_nothing():
    recorded = frames([0.5] * (2 * CHUNK + 3))
    scheduler, replayer, seen, done = run(recorded, None)
    replayer.frames.subscribe(lambda _frame: replayer.pause() if replayer.emitted == CHUNK - 7 else None)
    replayer.start()
    scheduler.start()
    assert len(seen) == CHUNK - 7 and not done
    replayer.resume()
    scheduler.start()
    assert [f for _, f in seen] == recorded and done == [True] and replayer.emitted == len(recorded)


def test_seek_forward_emits_the_skipped_frames_at_once_then_continues_on_schedule():
    recorded = frames([0, 1, 1, 1, 10, 1])
    scheduler, replayer, seen, _ = run(recorded, 1.0)
    replayer.start()
    replayer.seek(recorded[3].t)
    assert [f for _, f in seen] == recorded[:4] and scheduler.now == EPOCH
    scheduler.advance_by(timedelta(seconds=9.999))
    assert len(seen) == 4
    scheduler.advance_by(timedelta(seconds=0.002))
    assert len(seen) == 5


def test_stop_ends_playback_and_step_at_the_end_is_harmless():
    recorded = frames([0, 1, 1])
    scheduler, replayer, seen, done = run(recorded, 1.0)
    replayer.start()
    replayer.stop()
    scheduler.advance_by(timedelta(seconds=5))
    assert seen == [] and replayer.paused
    replayer.step(10)
    assert [f for _, f in seen] == recorded and done == [True]
    replayer.resume()  # finished: nothing more happens
    replayer.seek(T0 + 100)
    assert len(seen) == 3 and replayer.speed == 1.0


def test_an_empty_recording_completes():
    scheduler, replayer, seen, done = run([], 1.0)
    replayer.start()
    scheduler.start()
    assert seen == [] and done == [True]


def test_replaying_twice_gives_identical_frames():
    recorded = frames([0, 0.1, 0.2, 0.3])
    first, second = [], []
    replay(recorded).subscribe(first.append)
    replay(recorded).subscribe(second.append)
    assert first == second == recorded


@pytest.mark.parametrize(("text", "speed"), [("1", 1.0), ("10", 10.0), ("0.5", 0.5), ("max", None), (" MAX ", None)])
def test_parse_speed(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0", "-1", "fast", "nan", "", "inf", "-inf", "1e-300", "1e999", "0.0001", "2e6"])
def test_parse_speed_refuses_nonsense(text):
    with pytest.raises(ValueError, match="speed must be a positive number (from 0.001 to 1000000 )?or 'max'"):
        parse_speed(text)


@pytest.mark.parametrize("text", ["0.001", "1e6"])
def test_parse_speed_takes_the_ends_of_its_range(text):
    assert parse_speed(text) == float(text)
