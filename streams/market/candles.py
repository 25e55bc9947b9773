"""Candles per market and resolution, two ways.

`candles()` keeps the venue's own: the v4_candles channel (the `subscribed` history, newest first, then
one candle per update: a repeated `startedAt` revises the open candle, a new one closes it) and REST
`/v4/candles` history, which backfills. A closed candle goes out once and closed candles go out in time
order, so history seen twice (a REST backfill and the channel snapshot, a resubscription) is not
repeated, and history older than what already went out is dropped (consumers only move forward).

`candles_from_trades(resolutions)` builds any resolution from v4_trades (snapshot, updates and REST),
bucketed by each trade's `createdAt`. A trade in a later bucket closes the open candle; buckets with no
trade become flat candles at the last close with zero volume, as the venue's own candles are. The
first candle of a market starts from the trades at hand, so it may be partial.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import cast

from msgspec.structs import replace
from reactivex import Observable

from streams.kernel.stage import NOTHING, Stage, lift
from streams.market import events as ev
from streams.market.parse import REST, channel_keys
from streams.market.state import CandleUpdate
from streams.market.trades import trade_order, trades_in

CANDLES = "v4_candles"
CANDLE_READS = (*channel_keys(CANDLES), REST)
"""The events `VenueCandles` reads (`rx.Routed.only`): the others it ignores."""

RESOLUTIONS = {"1MIN": 60, "5MINS": 300, "15MINS": 900, "30MINS": 1800, "1HOUR": 3600, "4HOURS": 14400,
               "1DAY": 86400}
"""Seconds per Indexer resolution; candles start on whole multiples of it (UTC)."""
_SEEN_OF_HISTORY = 2
"""A REST answer's newest candles that make snapshots (see `CandleSeries.history`)."""


@lru_cache(maxsize=4096)
def _minute(prefix: str) -> int | None:
    if len(prefix) != 16 or prefix[10] != "T":
        return None
    try:
        return int(datetime.fromisoformat(prefix).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


def minute_start(iso: str) -> int | None:
    """Epoch seconds of the minute an Indexer timestamp (`YYYY-MM-DDTHH:MM:SS.mmmZ`) falls in, None if
    it is not one. Candles start on whole minutes, so this is all the candle math needs; it is cached
    by minute, so a stream of trades parses each minute once."""
    return _minute(iso[:16])


@lru_cache(maxsize=4096)
def _iso(start: int) -> str:
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _checked(resolutions: Iterable[str]) -> tuple[str, ...]:
    resolutions = tuple(resolutions)
    unknown = [r for r in resolutions if r not in RESOLUTIONS]
    if unknown:
        raise ValueError(f"unknown candle resolution {unknown[0]!r}: use one of {', '.join(RESOLUTIONS)}")
    return resolutions


# ---------------------------------------------------------------------------------------------------
# The venue's candles


class CandleSeries:
    """The venue's candles of one market at one resolution."""

    def __init__(self, market: str, resolution: str) -> None:
        self.market = market
        self.resolution = resolution
        self.open: ev.Candle | None = None
        self.open_start = -1
        self.closed_start = -1  # start of the newest candle that went out closed

    def history(self, candles: Sequence[ev.Candle], t: float, rest: bool = False) -> list[CandleUpdate]:
        """Candles oldest first: all but the newest are closed, the newest is the open one. `rest`: a REST
        answer's, marked `history` (they warm the indicators silently) but for its last two, which make
        snapshots as before: the last closed one's gives the strategy its volatility and the next one's
        score is its first look at the market, at the answer's time, as when every candle made one."""
        out: list[CandleUpdate] = []
        for candle in candles[:-1]:
            self._close(candle, t, out)
        for newest in candles[-1:]:
            self._revise(newest, t, out)
        if not rest:
            return out
        return [replace(update, history=True) for update in out[:-_SEEN_OF_HISTORY]] + out[-_SEEN_OF_HISTORY:]

    def update(self, candle: ev.Candle, t: float) -> list[CandleUpdate]:
        """One candle from the channel: the open one revised, or a new one that closes it."""
        out: list[CandleUpdate] = []
        self._revise(candle, t, out)
        return out

    def _close(self, candle: ev.Candle, t: float, out: list[CandleUpdate]) -> None:
        start = minute_start(candle.startedAt)
        if start is None or start <= self.closed_start:
            return
        if self.open is not None and self.open_start <= start:
            if self.open_start < start:
                out.append(self._value(self.open, t, closed=True))
            self.open = None
        out.append(self._value(candle, t, closed=True))
        self.closed_start = start

    def _revise(self, candle: ev.Candle, t: float, out: list[CandleUpdate]) -> None:
        start = minute_start(candle.startedAt)
        if start is None or start <= self.closed_start:
            return
        if self.open is not None:
            if start < self.open_start:  # a final version of an older candle
                self._close(candle, t, out)
                return
            if start > self.open_start:
                out.append(self._value(self.open, t, closed=True))
                self.closed_start = self.open_start
        self.open, self.open_start = candle, start
        out.append(self._value(candle, t, closed=False))

    def _value(self, candle: ev.Candle, t: float, closed: bool) -> CandleUpdate:
        return CandleUpdate(t=t, market=self.market, resolution=self.resolution, candle=candle,
                            closed=closed)


class VenueCandles(Stage[ev.Event, CandleUpdate]):
    """Every market and resolution seen on v4_candles or in REST candle history."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], CandleSeries] = {}

    def on_event(self, event: ev.Event) -> Iterable[CandleUpdate]:
        # contents are decoded by channel (`streams.market.parse`): v4_candles' are Candles and a
        # CandlesSnapshot, which the casts say to the type checker
        if type(event) is ev.ChannelData and event.channel == CANDLES:
            candle = cast(ev.Candle, event.contents)
            return self._series_of(candle).update(candle, event.t)
        if type(event) is ev.ChannelBatchData and event.channel == CANDLES:
            out: list[CandleUpdate] = []
            for candle in cast("list[ev.Candle]", event.contents):
                out += self._series_of(candle).update(candle, event.t)
            return out
        if type(event) is ev.Subscribed and event.channel == CANDLES:
            return self._history(cast(ev.CandlesSnapshot, event.contents).candles, event.t)
        if type(event) is ev.RestResponse and type(body := event.body) is ev.CandlesResponse:
            return self._history(body.candles, event.t, rest=True)
        return NOTHING

    def _history(self, candles: list[ev.Candle], t: float, rest: bool = False) -> Iterable[CandleUpdate]:
        """Indexer history comes newest first."""
        if not candles:
            return NOTHING
        return self._series_of(candles[0]).history(candles[::-1], t, rest)

    def _series_of(self, candle: ev.Candle) -> CandleSeries:
        key = (candle.ticker, candle.resolution)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = CandleSeries(candle.ticker, candle.resolution)
        return series


def candles() -> Callable[[Observable[ev.Event]], Observable[CandleUpdate]]:
    """The operator: typed events in, the venue's candles out as `CandleUpdate`s."""
    return lift(VenueCandles)


# ---------------------------------------------------------------------------------------------------
# Candles built from trades


class TradeCandleSeries:
    """Candles of one market at one resolution built from its trades, which must come in time order."""

    start: int | None
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    usd_volume: Decimal
    trades: int

    def __init__(self, market: str, resolution: str) -> None:
        self.market = market
        self.resolution = resolution
        self.seconds = RESOLUTIONS[resolution]
        self._begin(0, Decimal(0))
        self.start: int | None = None  # no trade yet

    def add(self, minute: int, price: Decimal, size: Decimal, t: float, out: list[CandleUpdate]) -> None:
        """Add a trade made in the minute starting at `minute`; candles it closes go to `out`."""
        bucket = minute - minute % self.seconds
        if self.start is None:
            self._begin(bucket, price)
        elif bucket != self.start:
            out.append(self.value(t, closed=True))
            for empty in range(self.start + self.seconds, bucket, self.seconds):
                self._begin(empty, self.close)
                out.append(self.value(t, closed=True))
            self._begin(bucket, price)
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += size
        self.usd_volume += size * price
        self.trades += 1

    def value(self, t: float, closed: bool) -> CandleUpdate:
        assert self.start is not None, "a candle is shown only once a trade has started it"
        candle = ev.Candle(startedAt=_iso(self.start), ticker=self.market, resolution=self.resolution,
                           low=self.low, high=self.high, open=self.open, close=self.close,
                           baseTokenVolume=self.volume, usdVolume=self.usd_volume, trades=self.trades)
        return CandleUpdate(t=t, market=self.market, resolution=self.resolution, candle=candle,
                            closed=closed)

    def _begin(self, start: int, price: Decimal) -> None:
        self.start = start
        self.open = self.high = self.low = self.close = price
        self.volume = self.usd_volume = Decimal(0)
        self.trades = 0


class TradeCandles(Stage[ev.Event, CandleUpdate]):
    """Candles at `resolutions` for every market seen on v4_trades or in REST trades.

    Trades are applied in (`createdAt`, `id`) order (ids are block height, transaction and event index
    in fixed-width hex) and each at most once: anything not after the newest trade applied is a repeat
    (a snapshot on resubscription, an overlapping REST page) or too late for its closed candle.
    """

    def __init__(self, resolutions: Iterable[str] = ("1MIN",)) -> None:
        self.resolutions = _checked(resolutions)
        self._series: dict[str, tuple[TradeCandleSeries, ...]] = {}
        self._newest: dict[str, tuple[str, str]] = {}  # market -> (createdAt, id) of the newest trade

    def on_event(self, event: ev.Event) -> Iterable[CandleUpdate]:
        carried = trades_in(event)
        return NOTHING if carried is None else self._add(*carried, event.t)

    def _add(self, market: str | None, trades: list[ev.Trade], t: float) -> Iterable[CandleUpdate]:
        if not market or not trades:
            return NOTHING
        series = self._series.get(market)
        if series is None:
            series = self._series[market] = tuple(TradeCandleSeries(market, r) for r in self.resolutions)
        newest_at, newest_id = self._newest.get(market, ("", ""))
        out: list[CandleUpdate] = []
        added = False
        for trade in sorted(trades, key=trade_order):
            at = trade.createdAt
            if at < newest_at or (at == newest_at and trade.id <= newest_id):
                continue
            minute = minute_start(at)
            if minute is None:
                continue
            newest_at, newest_id = at, trade.id
            for candle in series:
                candle.add(minute, trade.price, trade.size, t, out)
            added = True
        if added:
            self._newest[market] = (newest_at, newest_id)
            out += [candle.value(t, closed=False) for candle in series]
        return out


def candles_from_trades(resolutions: Iterable[str] = ("1MIN",)
                        ) -> Callable[[Observable[ev.Event]], Observable[CandleUpdate]]:
    """The operator: typed events in, candles built from trades at `resolutions` out."""
    resolutions = _checked(resolutions)  # a bad resolution fails here, not at subscription
    return lift(lambda: TradeCandles(resolutions))
