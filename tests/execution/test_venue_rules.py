"""The chain's order limits as the brokers keep them: the short-term window and the block rate limits."""

from __future__ import annotations

import pytest
from v4_proto.dydxprotocol.clob.block_rate_limit_config_pb2 import BlockRateLimitConfiguration

from streams.execution.venue_rules import SHORT_BLOCK_WINDOW, BlockRateLimit, BlockRateLimiter, BlockRateLimits
from tests.support.dydx_node import mainnet_rate_limits

PRE_3226, POST_3226 = 20, 40  # the chain's ShortBlockWindow before and after v4-chain PR #3226


@pytest.mark.parametrize("chain_window", [PRE_3226, POST_3226])
@pytest.mark.parametrize("node_lag", [0, 1])
def test_the_short_term_window_is_valid_on_chains_before_and_after_pr_3226(chain_window, node_lag):
    """x/clob validateGoodTilBlock: next block <= good-til-block <= next block + window. The height is
    read from a node that may be a block behind the validator."""
    read = 66_624_085
    next_block = read + 1 + node_lag
    good_til = read + SHORT_BLOCK_WINDOW
    assert next_block <= good_til <= next_block + chain_window


def test_the_documented_mainnet_limits_are_the_default_and_read_from_the_chain_config():
    assert BlockRateLimits.of(mainnet_rate_limits()) == BlockRateLimits()
    assert BlockRateLimits().stateful == (BlockRateLimit(1, 2), BlockRateLimit(100, 20))
    assert BlockRateLimits.of(BlockRateLimitConfiguration()) == BlockRateLimits(stateful=(), short_term=())


def test_two_stateful_orders_per_block():
    limiter = BlockRateLimiter()
    assert limiter.admit(100, stateful=True) is None
    assert limiter.admit(100, stateful=True) is None
    assert limiter.admit(100, stateful=True) == (
        "block rate limit: 2 stateful orders in the last 1 block(s), the chain allows 2; "
        "not sent (possible again at block 101)")
    assert limiter.admit(100, stateful=False) is None  # short-term ones are counted apart
    assert limiter.admit(101, stateful=True) is None


def test_twenty_stateful_orders_per_hundred_blocks_counting_from_the_oldest():
    limiter = BlockRateLimiter()
    for height in range(1_000, 1_020):  # one a block: within 2/block, 20 in 20 blocks
        assert limiter.admit(height, stateful=True) is None
    refusal = limiter.admit(1_050, stateful=True)
    assert refusal == ("block rate limit: 20 stateful orders in the last 100 block(s), the chain allows 20; "
                       "not sent (possible again at block 1100)")
    assert limiter.admit(1_099, stateful=True) is not None  # the one of block 1000 is still in the window
    assert limiter.admit(1_100, stateful=True) is None  # ... and now out of it
    assert limiter.admit(1_100, stateful=True) is not None  # that made 20 again


def test_refused_messages_are_not_counted_and_empty_rules_limit_nothing():
    limiter = BlockRateLimiter(BlockRateLimits(stateful=(BlockRateLimit(3, 1),), short_term=()))
    assert limiter.admit(10, stateful=True) is None
    assert limiter.admit(11, stateful=True) is not None
    assert limiter.admit(12, stateful=True) is not None  # the refusals did not keep the window full
    assert limiter.admit(13, stateful=True) is None
    assert all(limiter.admit(10, stateful=False) is None for _ in range(10_000))


def test_a_rule_that_allows_nothing_is_refused_at_load():
    with pytest.raises(ValueError, match="num_blocks and limit >= 1, not 5/0"):
        BlockRateLimit(5, 0)
