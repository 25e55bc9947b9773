"""The order book as it was kept before fixed-point keys: every level keyed by its `Decimal` price. The
oracle `tests/market/test_book_core.py` holds `streams.market.book_core.OrderBook` to, frame by frame;
written for clarity (a dict per side, sorted on demand), not speed."""

from __future__ import annotations

from decimal import Decimal

from streams.market import events as ev

Levels = tuple[tuple[Decimal, Decimal], ...]


class DecimalBook:
    """Levels by `Decimal` price: (size, seq), snapshot levels seq 0, updates counted from 1. A level set
    again keeps the price it was first set with (a dict keeps its first key), as the view shows it."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[Decimal, tuple[Decimal, int]]] = {"bids": {}, "asks": {}}
        self._seq = 0

    def load(self, bids: list[ev.PriceLevel], asks: list[ev.PriceLevel]) -> None:
        for name, levels in (("bids", bids), ("asks", asks)):
            side = self.sides[name] = {}
            for level in levels:
                if level.size:
                    side[level.price] = (level.size, 0)

    def apply(self, update: ev.OrderbookUpdate, depth: int) -> bool:
        """True when a level set to a new size, or deleted, was among the best `depth` as it was set."""
        changed = False
        for name, levels in (("bids", update.bids), ("asks", update.asks)):
            side = self.sides[name]
            for price, size in levels:
                self._seq += 1
                if not size:
                    if price in side:
                        changed = self._in_top(name, price, depth) or changed
                        del side[price]
                    continue
                old = side.get(price)
                side[price] = (size, self._seq)
                changed = (old is None or old[0] != size) and self._in_top(name, price, depth) or changed
        return changed

    def _in_top(self, name: str, price: Decimal, depth: int) -> bool:
        best = sorted(self.sides[name], reverse=name == "bids")[:depth]
        return price in best

    def uncross(self) -> tuple[int, int]:
        bids, asks = self.sides["bids"], self.sides["asks"]
        dropped = [0, 0]
        while bids and asks:
            bid, ask = max(bids), min(asks)
            if bid < ask:
                break
            bid_seq, ask_seq = bids[bid][1], asks[ask][1]
            if bid_seq <= ask_seq:
                del bids[bid]
                dropped[0] += 1
            if ask_seq <= bid_seq:
                del asks[ask]
                dropped[1] += 1
        return dropped[0], dropped[1]

    def top(self, depth: int) -> tuple[Levels, Levels]:
        bids = sorted(self.sides["bids"].items(), reverse=True)[:depth]
        asks = sorted(self.sides["asks"].items())[:depth]
        return tuple((p, s) for p, (s, _) in bids), tuple((p, s) for p, (s, _) in asks)
