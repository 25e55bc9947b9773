"""The synthetic generator's books are what the indexer sends: never crossed and left so. A price that
walks through the levels of the subscription snapshot deletes them, as it deletes its own, so a client's
book built from the snapshot and the generated updates needs no correction and no fresh snapshot (on the
250-market scale recording, books crossing for good held the ladder at NO_NEW_RISK for the whole replay)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from streams.kernel.frames import Frame
from streams.market.books import ResyncRequest, Uncrossed, order_books
from streams.market.state import BookTop
from tests.support.builders import run_frames
from tools.synthetic import BookShape, MarketTape, MessageIds, batched, initial_book, market_updates, synthetic_candles

T0 = 1_722_000_000.0
HISTORY, MINUTES = 5, 12
TICK, STEP = Decimal("0.1"), Decimal("0.001")
DEEP = BookShape(bids=[(level, Decimal(2)) for level in range(100)],
                 asks=[(level, Decimal(2)) for level in range(100)], spread_ticks=1)
"""100 levels a side, as a real snapshot holds (the scale recording's shape): far more than the
generator moves."""


def book_frames(drift: float, seed: int) -> list[Frame]:
    """One market's book snapshot and generated updates, the price trending by `drift` a minute."""
    candles = synthetic_candles("ETH-USD", T0 - 60 * HISTORY, HISTORY + MINUTES, Decimal(3000), TICK, STEP,
                                random.Random(seed), returns=[drift])
    tape = MarketTape("ETH-USD", candles, TICK, STEP, DEEP, rng=random.Random(seed + 1))
    ids = MessageIds(random.Random(seed + 2))
    frames = [Frame(t=T0 - 1, kind="ws", conn=1, data=ids.subscribed(
        "v4_orderbook", "ETH-USD", initial_book(tape, Decimal(candles[HISTORY]["open"]))))]
    for t, channel, ident, contents in batched(market_updates(tape, HISTORY)):
        if channel == "v4_orderbook":
            frames.append(Frame(t=t, kind="ws", conn=1, data=ids.batch(channel, ident, contents)))
    return frames


@pytest.mark.parametrize("drift", [0.004, -0.004, 0.0], ids=["rising", "falling", "flat"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_generated_book_never_crosses(drift, seed):
    out = run_frames(book_frames(drift, seed), order_books(depth=100))
    tops = [value for value in out if isinstance(value, BookTop)]
    moved = abs(tops[-1].bids[0][0] - tops[0].bids[0][0])
    assert drift == 0.0 or moved > 20 * TICK, "the price walked through the snapshot's levels"
    assert [value for value in out if isinstance(value, Uncrossed | ResyncRequest)] == []
    assert all(top.spread is None or top.spread > 0 for top in tops)
