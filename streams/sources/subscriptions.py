"""What the live source subscribes to, on which connection, and when a subscription must be renewed.

Pure decisions on explicit time (`now` in seconds on any monotonic clock), so they are tested on
virtual time; `live.py` only carries them out on real sockets.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Literal, NamedTuple

from dydx_v4_client.indexer.candles_resolution import CandlesResolution

RESOLUTIONS = tuple(resolution.value for resolution in CandlesResolution)
RESOLUTION_SECONDS = dict(zip(RESOLUTIONS, (60, 300, 900, 1800, 3600, 14400, 86400), strict=False))

SUBSCRIPTION_LIMIT = 32
"""The Indexer's per-connection cap for each of the markets, orderbook, trades and candles channels."""
SUBSCRIPTION_LIMITS = {"v4_subaccounts": 256, "v4_parent_subaccounts": 256}

StreamKey = tuple[str, str | None]
"""(channel, id) as the server names a subscription in its frames; v4_markets has no id."""


@dataclass(frozen=True)
class Subscription:
    channel: str
    id: str | None = None
    batched: bool = True

    @property
    def key(self) -> StreamKey:
        return (self.channel, self.id)

    def __str__(self) -> str:
        return f"{self.channel}:{self.id}" if self.id else self.channel


class Request(NamedTuple):
    type: Literal["subscribe", "unsubscribe"]
    subscription: Subscription

    @property
    def payload(self) -> str:
        """The same JSON the library's channel helpers send (sent here so the pacer picks the moment)."""
        sub = self.subscription
        message: dict[str, object] = {"type": self.type, "channel": sub.channel}
        if sub.id is not None:
            message["id"] = sub.id
        if self.type == "subscribe" and sub.batched:
            message["batched"] = True
        return json.dumps(message)


def plan_subscriptions(markets: Iterable[str], *, orderbook: bool = True, trades: bool = True,
                       candles: Iterable[str] = ("1MIN",), address: str | None = None,
                       subaccount_number: int = 0, parent: bool = False) -> list[Subscription]:
    """The markets channel; per market its orderbook, trades and candles at each resolution; and, when an
    address is given, the subaccount (never batched, like the library) and the block height (each block:
    what its short-term orders count down to their good-til-block with). With `parent`, the subaccount is
    followed as a parent, with its isolated children `128·k + n` (v4_parent_subaccounts)."""
    resolutions = list(dict.fromkeys(candles))
    if unknown := [r for r in resolutions if r not in RESOLUTIONS]:
        raise ValueError(f"unknown candle resolution {unknown[0]!r} (choose from {' '.join(RESOLUTIONS)})")
    plan = [Subscription("v4_markets")]
    for market in dict.fromkeys(markets):
        if orderbook:
            plan.append(Subscription("v4_orderbook", market))
        if trades:
            plan.append(Subscription("v4_trades", market))
        plan += [Subscription("v4_candles", f"{market}/{resolution}") for resolution in resolutions]
    if address:
        channel = "v4_parent_subaccounts" if parent else "v4_subaccounts"
        plan.append(Subscription(channel, f"{address}/{subaccount_number}", batched=False))
        plan.append(Subscription("v4_block_height"))
    return plan


def shard(subscriptions: Iterable[Subscription]) -> list[list[Subscription]]:
    """Spread subscriptions over as few connections as the per-channel caps allow (first fit, so the
    plan's order is kept within each connection)."""
    connections: list[tuple[list[Subscription], Counter[str]]] = []
    for sub in subscriptions:
        limit = SUBSCRIPTION_LIMITS.get(sub.channel, SUBSCRIPTION_LIMIT)
        for members, counts in connections:  # noqa: B007 - the first with room is kept past the break
            if counts[sub.channel] < limit:
                break
        else:
            members, counts = [], Counter()
            connections.append((members, counts))
        members.append(sub)
        counts[sub.channel] += 1
    return [members for members, _ in connections]


@dataclass(frozen=True)
class Staleness:
    """Seconds a subscription may stay silent before it is renewed (None: never).

    The markets channel carries oracle prices every few seconds and a liquid book changes many times a
    second, so half a minute of silence means the subscription is dead. A candle is re-sent at least
    once per period, so candles get their period plus `candles_grace`. Trades on a calm market and an
    idle subaccount can be quiet for long, so they are not watched by default. Whatever the channel, a
    subscribe that gets no `subscribed` answer within `answer` seconds is sent again (the server gives
    up its initial fetch after 20 s), and a socket that says no `connected` within it is replaced.

    `oracle` is for data health alone (no subscription is renewed for it): how long a followed market's
    oracle price may go without an update. The chain moves an oracle price only when it changes by at
    least the market's `min_price_change_ppm`, so a calm market's oracle can rest for minutes.
    Data health reads these same limits, so what it calls stale is what the source renews.
    """

    markets: float | None = 30.0
    orderbook: float | None = 30.0
    trades: float | None = None
    candles_grace: float | None = 30.0
    subaccounts: float | None = None
    answer: float = 30.0
    oracle: float | None = 300.0

    def limit(self, sub: Subscription) -> float | None:
        if sub.channel == "v4_candles":
            seconds = RESOLUTION_SECONDS.get(str(sub.id).rsplit("/", 1)[-1])
            if self.candles_grace is None or seconds is None:  # a resolution the plan never asks for
                return None
            return seconds + self.candles_grace
        return {"v4_markets": self.markets, "v4_orderbook": self.orderbook, "v4_trades": self.trades,
                "v4_subaccounts": self.subaccounts, "v4_parent_subaccounts": self.subaccounts
                }.get(sub.channel)


class State(Enum):
    QUEUED = "queued"  # a subscribe is waiting in the outbox
    PENDING = "pending"  # subscribe sent, no `subscribed` yet
    ACTIVE = "active"  # snapshot received; `since` is the last message


@dataclass
class _Entry:
    subscription: Subscription
    state: State = State.QUEUED
    since: float = 0.0


class SubscriptionTracker:
    """The subscriptions of one connection: their state and which of them are due for renewal."""

    def __init__(self, subscriptions: Iterable[Subscription], staleness: Staleness) -> None:
        self._entries = {sub.key: _Entry(sub) for sub in subscriptions}
        self._staleness = staleness

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def subscriptions(self) -> list[Subscription]:
        return [entry.subscription for entry in self._entries.values()]

    def state(self, key: StreamKey) -> State:
        return self._entries[key].state

    def restart(self) -> list[Request]:
        """A new socket: everything is subscribed afresh, in plan order."""
        for entry in self._entries.values():
            entry.state = State.QUEUED
        return [Request("subscribe", sub) for sub in self.subscriptions]

    def sent(self, request: Request, now: float) -> None:
        entry = self._entries.get(request.subscription.key)
        if entry is not None and request.type == "subscribe":
            entry.state, entry.since = State.PENDING, now

    def seen(self, kind: str, key: StreamKey, now: float) -> None:
        """A server frame for `key`: `subscribed` activates it, data keeps an active one fresh. Frames of
        a subscription being renewed (queued, or pending its new snapshot) change nothing."""
        entry = self._entries.get(key)
        if entry is None:
            return
        if (kind == "subscribed" and entry.state is State.PENDING) or entry.state is State.ACTIVE:
            entry.state, entry.since = State.ACTIVE, now

    def renew(self, key: StreamKey) -> list[Request]:
        """Requests for a fresh snapshot: unsubscribe + subscribe when active, subscribe again when the
        server never answered, nothing when a subscribe is already queued."""
        entry = self._entries[key]
        if entry.state is State.QUEUED:
            return []
        requests = [Request("unsubscribe", entry.subscription)] if entry.state is State.ACTIVE else []
        entry.state = State.QUEUED
        return requests + [Request("subscribe", entry.subscription)]

    def due(self, now: float) -> list[tuple[Subscription, str]]:
        """Subscriptions to renew now, each with the reason."""
        due = []
        answer = self._staleness.answer
        for entry in self._entries.values():
            quiet = now - entry.since
            if entry.state is State.PENDING and quiet > answer:
                due.append((entry.subscription, f"no answer to subscribe within {answer:g} s"))
            elif entry.state is State.ACTIVE:
                limit = self._staleness.limit(entry.subscription)
                if limit is not None and quiet > limit:
                    due.append((entry.subscription, f"silent for {quiet:.0f} s (limit {limit:g} s)"))
        return due
