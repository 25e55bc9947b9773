"""Backoff and request pacing on virtual time: `now` is passed in, randomness is injected."""

from __future__ import annotations

import pytest

from streams.sources.pacing import Backoff, BackoffPolicy, Outbox, TokenBucket


def test_backoff_ceiling_doubles_up_to_the_cap():
    backoff = Backoff(BackoffPolicy(base=0.5, cap=8.0), random=lambda: 0.999999)
    delays = [backoff.next_delay(now=t) for t in range(7)]
    assert [round(d, 3) for d in delays] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.attempt == 7


def test_backoff_is_full_jitter_uniform_below_the_ceiling():
    draws = iter([0.0, 0.5, 0.25])
    backoff = Backoff(BackoffPolicy(base=1.0, cap=60.0), random=lambda: next(draws))
    assert [backoff.next_delay(0.0) for _ in range(3)] == [0.0, 1.0, 1.0]  # 0*1, 0.5*2, 0.25*4


def test_backoff_starts_over_only_after_a_healthy_period():
    backoff = Backoff(BackoffPolicy(base=1.0, cap=60.0, reset_after=60.0), random=lambda: 1.0)
    assert [backoff.next_delay(0.0) for _ in range(3)] == [1.0, 2.0, 4.0]
    backoff.succeeded(now=100.0)
    assert backoff.next_delay(now=130.0) == 8.0  # up 30 s only: a flapping server keeps backing off
    backoff.succeeded(now=200.0)
    assert backoff.next_delay(now=260.0) == 1.0  # up a full minute: start again from base
    assert backoff.attempt == 1


def test_backoff_survives_very_many_attempts():
    backoff = Backoff(BackoffPolicy(base=0.5, cap=30.0), random=lambda: 1.0)
    assert [backoff.next_delay(0.0) for _ in range(2000)][-1] == 30.0


@pytest.mark.parametrize("base, cap", [(0.0, 1.0), (2.0, 1.0)])
def test_backoff_policy_is_checked(base, cap):
    with pytest.raises(ValueError, match="0 < base <= cap"):
        BackoffPolicy(base=base, cap=cap)


def test_token_bucket_spaces_actions_so_no_second_holds_more_than_the_rate():
    bucket = TokenBucket(rate=2.0)
    sent, now = [], 0.0
    while len(sent) < 6:
        wait = bucket.take(now)
        if wait:
            now += wait
        else:
            sent.append(now)
    assert sent == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert all(sum(1 for t in sent if start <= t < start + 1) <= 2 for start in sent)


def test_token_bucket_refills_while_idle_up_to_its_burst():
    bucket = TokenBucket(rate=2.0, burst=2.0)
    assert [bucket.take(0.0), bucket.take(0.0)] == [0.0, 0.0]
    assert bucket.take(0.0) == 0.5
    assert bucket.take(10.0) == 0.0 and bucket.take(10.0) == 0.0 and bucket.take(10.0) == 0.5


@pytest.mark.parametrize("rate, burst", [(0.0, 1.0), (2.0, 0.5)])
def test_token_bucket_parameters_are_checked(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_outbox_releases_in_order_at_the_bucket_pace():
    outbox: Outbox[str] = Outbox(TokenBucket(rate=2.0))
    assert outbox.release(0.0) == ([], None)
    outbox.put(["a", "b", "c"])
    assert outbox.release(0.0) == (["a"], 0.5)
    assert outbox.release(0.2) == ([], pytest.approx(0.3))
    assert outbox.release(0.5) == (["b"], 0.5)
    outbox.put(["d"])
    assert len(outbox) == 2
    assert outbox.release(5.0) == (["c"], 0.5)
    outbox.clear()
    assert outbox.release(9.0) == ([], None)


def test_outbox_schedule_over_a_start_up_plan():
    """Seven subscribes (markets + 2 x orderbook, trades, candles) go out within 3 s, 0.5 s apart."""
    outbox: Outbox[int] = Outbox(TokenBucket(rate=2.0))
    outbox.put(range(7))
    now, sent = 0.0, []
    while True:
        released, wait = outbox.release(now)
        sent += [(item, now) for item in released]
        if wait is None:
            break
        now += wait
    assert sent == [(i, i * 0.5) for i in range(7)]
