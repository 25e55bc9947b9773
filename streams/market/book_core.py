"""One order book's price levels, best first, kept in exact fixed-point integers: the core of
`streams.market.books`, which feeds it and checks the feed.

Plain Python with nothing but the standard library and the event types, so that mypyc can compile this
very file: `benchmarks/bench_book_core.py` does (opt-in, in a temporary directory, where a C compiler is)
and checks that the compiled core gives the interpreted one's output on every update of the recording.
The interpreted module is what the product runs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from decimal import Decimal

from streams.market import events as ev
from streams.market.state import BookTop

Levels = tuple[tuple[Decimal, Decimal], ...]

MAX_DECIMALS = 30
"""The most decimals a book price may have (dYdX's finest tick has 12): more would make every key huge."""
MAX_DENOMINATOR = 10**MAX_DECIMALS


class BadLevelError(ValueError):
    """A level the book cannot order: its price is not a finite number."""


class _Side:
    """One side of a book, keyed by exact fixed-point integers (`OrderBook.key`): the size, setter (`seq`)
    and price as received by key, and the keys sorted ascending. Integer keys hash and compare several
    times faster than `Decimal`s; the `Decimal` each level was first set with is what the view shows,
    so the events are the same to the digit."""

    __slots__ = ("sizes", "seqs", "names", "keys")

    def __init__(self) -> None:
        self.sizes: dict[int, Decimal] = {}
        self.seqs: dict[int, int] = {}
        self.names: dict[int, Decimal] = {}
        self.keys: list[int] = []

    def set(self, key: int, price: Decimal, size: Decimal, seq: int, depth: int) -> bool:
        """Set one level to an absolute size (0 deletes it); True when that changed the best `depth`."""
        if not size:
            if key not in self.sizes:
                return False
            in_top = self.in_top(key, depth)
            self.remove(key)
            return in_top
        old = self.sizes.get(key)
        if old is None:
            keys = self.keys
            keys.insert(bisect_left(keys, key), key)
            self.names[key] = price
        self.sizes[key] = size
        self.seqs[key] = seq  # a level sent again is fresh again, even at the same size
        return old != size and self.in_top(key, depth)

    def remove(self, key: int) -> None:
        del self.sizes[key], self.seqs[key], self.names[key]
        del self.keys[bisect_left(self.keys, key)]

    def clear(self) -> None:
        self.sizes.clear()
        self.seqs.clear()
        self.names.clear()
        self.keys.clear()

    def rescale(self, factor: int) -> None:
        """Every key times `factor` (the book's unit grew): order and levels are unchanged."""
        self.sizes = {key * factor: size for key, size in self.sizes.items()}
        self.seqs = {key * factor: seq for key, seq in self.seqs.items()}
        self.names = {key * factor: price for key, price in self.names.items()}
        self.keys = [key * factor for key in self.keys]

    def in_top(self, key: int, depth: int) -> bool:
        raise NotImplementedError

    def top(self, depth: int) -> Levels:
        raise NotImplementedError


class _Bids(_Side):
    __slots__ = ()

    def in_top(self, key: int, depth: int) -> bool:
        keys = self.keys
        return len(keys) <= depth or key >= keys[-depth]

    def top(self, depth: int) -> Levels:
        sizes, names = self.sizes, self.names
        return tuple([(names[key], sizes[key]) for key in reversed(self.keys[-depth:])])


class _Asks(_Side):
    __slots__ = ()

    def in_top(self, key: int, depth: int) -> bool:
        keys = self.keys
        return len(keys) <= depth or key <= keys[depth - 1]

    def top(self, depth: int) -> Levels:
        sizes, names = self.sizes, self.names
        return tuple([(names[key], sizes[key]) for key in self.keys[:depth]])


class OrderBook:
    """One market's price levels. `depth` is the size of the view: `apply` says whether it changed.

    Prices are kept as exact integers `price × unit`, `unit` a power of ten that starts at 1 and grows
    (every key rescaled) the first time a price has more decimals than it holds: no tick size is needed,
    and a price off the market's tick grid is as exact as any other. A price that is not a finite number
    raises `BadLevelError`, as does one with more than `MAX_DECIMALS` decimals."""

    def __init__(self, depth: int = 10) -> None:
        self.depth = depth
        self.bids: _Side = _Bids()
        self.asks: _Side = _Asks()
        self._seq = 0  # counts applied levels; snapshot levels are 0, the oldest
        self._unit = 1
        self._factors: dict[int, int] = {1: 1}  # unit / denominator, by a price's denominator

    def key(self, price: Decimal) -> int:
        """`price × unit`, exactly."""
        try:
            numerator, denominator = price.as_integer_ratio()
        except (ValueError, OverflowError):
            raise BadLevelError(f"price {price} is not a finite number") from None
        factor = self._factors.get(denominator)
        if factor is None:
            if denominator > MAX_DENOMINATOR:  # every key would grow with it
                raise BadLevelError(f"price {price} has more than {MAX_DECIMALS} decimals")
            factor = self._widen(denominator)
        return numerator * factor

    def _widen(self, denominator: int) -> int:
        """The factor for a new denominator (a power of ten's divisor: 2^a 5^b), growing the unit to the
        next power of ten it divides if it does not already."""
        unit = self._unit
        while unit % denominator:
            unit *= 10
        if unit != self._unit:
            factor = unit // self._unit
            self.bids.rescale(factor)
            self.asks.rescale(factor)
            self._unit = unit
            self._factors = {}
        self._factors[denominator] = unit // denominator
        return unit // denominator

    def load(self, bids: Iterable[ev.PriceLevel], asks: Iterable[ev.PriceLevel]) -> None:
        """Replace everything with a snapshot."""
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            side.clear()
            for level in levels:
                side.set(self.key(level.price), level.price, level.size, 0, self.depth)

    def apply(self, update: ev.OrderbookUpdate) -> bool:
        """Apply one update's levels in order; True when the top `depth` levels changed."""
        changed = False
        depth = self.depth
        factors = self._factors
        price = None
        try:
            for side, levels in ((self.bids, update.bids), (self.asks, update.asks)):
                for price, size in levels:
                    numerator, denominator = price.as_integer_ratio()  # `key`, written out: once per level
                    factor = factors.get(denominator)
                    if factor is None:  # a new denominator: `key` widens the unit if it must
                        self.key(price)
                        factors = self._factors
                        factor = factors[denominator]
                    self._seq += 1
                    changed = side.set(numerator * factor, price, size, self._seq, depth) or changed
        except (ValueError, OverflowError):  # a NaN's or an infinity's ratio
            if price is not None:
                self.key(price)  # raises the BadLevelError that says why
            raise
        return changed

    def uncross(self) -> tuple[int, int]:
        """While best bid >= best ask, drop the older of the two (both if equally old, which only
        snapshot levels can be). Returns the levels dropped from (bids, asks)."""
        bids, asks = self.bids, self.asks
        dropped_bids = dropped_asks = 0
        while bids.keys and asks.keys:
            bid, ask = bids.keys[-1], asks.keys[0]
            if bid < ask:
                break
            bid_seq, ask_seq = bids.seqs[bid], asks.seqs[ask]
            if bid_seq <= ask_seq:
                bids.remove(bid)
                dropped_bids += 1
            if ask_seq <= bid_seq:
                asks.remove(ask)
                dropped_asks += 1
        return dropped_bids, dropped_asks

    def top(self, depth: int | None = None) -> tuple[Levels, Levels]:
        """The best `depth` levels of each side (default: the book's), best first."""
        depth = depth or self.depth
        return self.bids.top(depth), self.asks.top(depth)

    def view(self, t: float, market: str, message_id: int) -> BookTop:
        bids, asks = self.top()
        mid = spread = imbalance = None
        if bids and asks:
            best_bid, best_ask = bids[0][0], asks[0][0]
            mid = (best_bid + best_ask) / 2
            spread = best_ask - best_bid
        bid_size = sum([size for _, size in bids])
        ask_size = sum([size for _, size in asks])
        if bid_size or ask_size:
            imbalance = float(bid_size - ask_size) / float(bid_size + ask_size)
        return BookTop(t=t, market=market, bids=bids, asks=asks, mid=mid, spread=spread,
                       imbalance=imbalance, message_id=message_id)
