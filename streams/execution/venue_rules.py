"""The chain's limits on how orders may be sent, shared by the paper and the live broker so that both
refuse the same orders with the same reason, before anything reaches the chain.

Short-term window. The chain accepts a short-term order or cancel whose good-til-block is at most
`ShortBlockWindow` blocks past the next block (x/clob/keeper `validateGoodTilBlock`). That window was 20
and became 40 in v4-chain PR #3226 (Nov 2025); the official clients send height + 15. Twenty blocks past
the height read from the node is valid on chains before and after the change (the read height is at most
the next block's, so a node one block behind the validator still passes), and it is the one window this
bot uses for orders and cancels alike, so a cancel always outlives the order it cancels.

Block rate limits (x/clob `BlockRateLimitConfiguration`, per account: subaccounts of one address share
them). Each rule is "at most `limit` attempts in any `num_blocks` consecutive blocks", attempts counting
whether the chain then accepts them or not, and all rules apply at once. Stateful (long-term and
conditional) placements count against `max_stateful_orders_per_n_blocks`; short-term placements and
short-term cancels together against `max_short_term_orders_and_cancels_per_n_blocks`; stateful cancels
are not limited (the chain's cancel limiter skips them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from msgspec import Struct

SHORT_BLOCK_WINDOW = 20
"""Blocks past the current height a short-term order or cancel is good for, at most: see above."""


class BlockRateLimit(Struct, frozen=True):
    """At most `limit` attempts in any `num_blocks` consecutive blocks."""

    num_blocks: int
    limit: int

    def __post_init__(self) -> None:
        if self.num_blocks < 1 or self.limit < 1:
            raise ValueError(f"a block rate limit needs num_blocks and limit >= 1, not {self.num_blocks}/{self.limit}")


class BlockRateLimits(Struct, frozen=True):
    """The chain's configuration (query `dydxprotocol.clob.Query/BlockRateLimitConfiguration`); the
    defaults are mainnet's as documented (docs.dydx.xyz, concepts/trading/limits/rate-limits)."""

    stateful: tuple[BlockRateLimit, ...] = (BlockRateLimit(1, 2), BlockRateLimit(100, 20))
    short_term: tuple[BlockRateLimit, ...] = (BlockRateLimit(5, 2000),)

    @classmethod
    def of(cls, config: Any) -> BlockRateLimits:
        """From the chain's `BlockRateLimitConfiguration` proto (its active fields only)."""
        def rules(entries: Iterable[Any]) -> tuple[BlockRateLimit, ...]:
            return tuple(BlockRateLimit(int(e.num_blocks), int(e.limit)) for e in entries)
        return cls(stateful=rules(config.max_stateful_orders_per_n_blocks),
                   short_term=rules(config.max_short_term_orders_and_cancels_per_n_blocks))


MAINNET_LIMITS = BlockRateLimits()


class _Window:
    """Attempts per block height for one class of messages, kept as long as the longest rule needs."""

    def __init__(self, rules: tuple[BlockRateLimit, ...], what: str) -> None:
        self._rules = rules
        self._what = what
        self._span = max((rule.num_blocks for rule in rules), default=0)
        self._counts: Counter[int] = Counter()

    def refusal(self, height: int) -> str | None:
        for height_seen in [h for h in self._counts if h <= height - self._span]:
            del self._counts[height_seen]
        for rule in self._rules:
            first = height - rule.num_blocks + 1
            sent = sum(n for h, n in self._counts.items() if h >= first)
            if sent >= rule.limit:
                free_at = self._free_at(rule, height)
                return (f"block rate limit: {sent} {self._what} in the last {rule.num_blocks} block(s), the chain "
                        f"allows {rule.limit}; not sent (possible again at block {free_at})")
        return None

    def count(self, height: int) -> None:
        self._counts[height] += 1

    def _free_at(self, rule: BlockRateLimit, height: int) -> int:
        """The first height at which the attempts within `rule`'s window fall below its limit."""
        excess = sum(n for h, n in self._counts.items() if h > height - rule.num_blocks) - rule.limit + 1
        for seen in sorted(h for h in self._counts if h > height - rule.num_blocks):
            excess -= self._counts[seen]
            if excess <= 0:
                return seen + rule.num_blocks
        return height + 1


class BlockRateLimiter:
    """Counts what one account sent, by block height, and says why the next message would break a rule.

    `admit` both checks and, when the message may go, counts it: call it once per message actually sent
    (the chain counts failed attempts too, so a message counts even if the chain then refuses it)."""

    def __init__(self, limits: BlockRateLimits = MAINNET_LIMITS) -> None:
        self.limits = limits
        self._stateful = _Window(limits.stateful, "stateful orders")
        self._short_term = _Window(limits.short_term, "short-term orders and cancels")

    def admit(self, height: int, *, stateful: bool) -> str | None:
        """None when a message sent at chain height `height` keeps within the limits (it is counted),
        else the reason it would not."""
        window = self._stateful if stateful else self._short_term
        refusal = window.refusal(height)
        if refusal is None:
            window.count(height)
        return refusal
