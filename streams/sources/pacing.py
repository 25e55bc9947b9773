"""When the live source may next act: reconnect/retry backoff and subscribe-request pacing.

Pure, on explicit time (`now` in seconds on any monotonic clock) and an injectable random source, so
tests are deterministic on virtual time.
"""

from __future__ import annotations

import math
import random as _random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class BackoffPolicy:
    """Delays grow `base * 2**attempt` up to `cap`; a connection that stayed up `reset_after` seconds
    starts again from `base`."""

    base: float = 0.5
    cap: float = 30.0
    reset_after: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError(f"backoff needs 0 < base <= cap, got base={self.base} cap={self.cap}")


class Backoff:
    """Capped exponential backoff with full jitter: each delay is uniform in [0, ceiling), which spreads
    many clients' reconnects after an outage instead of synchronising them."""

    def __init__(self, policy: BackoffPolicy = BackoffPolicy(),
                 random: Callable[[], float] = _random.random) -> None:
        self.policy = policy
        self.attempt = 0
        self._random = random
        self._up_since: float | None = None

    def succeeded(self, now: float) -> None:
        """The connection (or request) works again, as of `now`."""
        self._up_since = now

    def next_delay(self, now: float) -> float:
        """Seconds to wait before the next attempt; `attempt` counts them from 1."""
        if self._up_since is not None and now - self._up_since >= self.policy.reset_after:
            self.attempt = 0
        self._up_since = None
        ceiling = min(self.policy.cap, math.ldexp(self.policy.base, min(self.attempt, 64)))
        self.attempt += 1
        return self._random() * ceiling


class TokenBucket:
    """At most `rate` actions per second on average, `burst` at once. With the default burst of 1 the
    actions are spaced 1/rate apart, so no one-second window holds more than `rate` of them."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp: float | None = None

    def take(self, now: float) -> float:
        """Take a token if there is one (returns 0.0); otherwise the seconds until there will be."""
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


class Outbox(Generic[T]):
    """Items waiting to be sent, released in order no faster than the bucket allows."""

    def __init__(self, bucket: TokenBucket) -> None:
        self._bucket = bucket
        self._queue: deque[T] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, items: Iterable[T]) -> None:
        self._queue.extend(items)

    def clear(self) -> None:
        self._queue.clear()

    def release(self, now: float) -> tuple[list[T], float | None]:
        """The items that may go now, and the seconds until the next one may (None when empty)."""
        released: list[T] = []
        while self._queue:
            wait = self._bucket.take(now)
            if wait:
                return released, wait
            released.append(self._queue.popleft())
        return released, None
