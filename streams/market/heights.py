"""The chain's block height as the Indexer tells it: v4_block_height (`height` in its `subscribed`
snapshot, `blockHeight` in its updates, one per block, batched or not), and the `blockHeight` that
v4_subaccounts and v4_parent_subaccounts messages carry. A `BlockHeight` goes out each time the height
moves on (a height older than one already heard, from a slower channel, says nothing new), with the mean
block time since the first height heard, in event time: what "GTB in N blocks (~S s)" counts with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reactivex import Observable

from streams.kernel.stage import NOTHING, Stage, lift
from streams.market import events as ev
from streams.market.parse import channel_keys
from streams.market.state import BlockHeight

HEIGHT_READS = (*channel_keys("v4_block_height"), *channel_keys("v4_subaccounts"),
                *channel_keys("v4_parent_subaccounts"))
"""The events `BlockHeights` reads (`rx.Routed.only`)."""


def _heights(contents: Any) -> Iterable[str]:
    for message in contents if isinstance(contents, list) else (contents,):
        match message:
            case ev.BlockHeightSnapshot(height=height) | ev.BlockHeightUpdate(blockHeight=height):
                yield height
            case ev.SubaccountSnapshot(blockHeight=str() as height) | ev.ParentSubaccountSnapshot(
                    blockHeight=str() as height) | ev.SubaccountUpdate(blockHeight=str() as height):
                yield height


class BlockHeights(Stage[ev.Event, BlockHeight]):
    def __init__(self) -> None:
        self._first: tuple[int, float] | None = None
        self._height: int | None = None

    def on_event(self, event: ev.Event) -> Iterable[BlockHeight]:
        contents = getattr(event, "contents", None)
        if contents is None:
            return NOTHING
        out: list[BlockHeight] = []
        for text in _heights(contents):
            if not text.isdigit():  # the parser let a string through; a height it is not
                continue
            height = int(text)
            if self._height is not None and height <= self._height:
                continue
            self._height = height
            if self._first is None:
                self._first = (height, event.t)
            first, since = self._first
            seconds = (event.t - since) / (height - first) if height > first else None
            out.append(BlockHeight(event.t, height, seconds))
        return out


def block_heights() -> Callable[[Observable[ev.Event]], Observable[BlockHeight]]:
    """The operator: typed events in, the chain's height out each time it moves on."""
    return lift(BlockHeights)
