"""Every indicator of every market as one stream graph: market state in, one `IndicatorSnapshot` per
market per update out.

Inputs are the market-state values (`CandleUpdate`, `BookTop`, `MarketInfo`) and settled `FundingRate`
rows from the funding history (fed oldest first, before the live data); anything else is ignored, so
the whole market-state stream can be fed as is. Each market gets its own `MarketIndicators`, so
markets never see each other's data.

Candle indicators advance on closed candles only; an open candle is evaluated with `peek`, as if it
closed now, as often as it updates, and leaves the closed series untouched. Prices become floats here,
once, in `Bar.of` (the one place the Decimal wire values turn into floats for speed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from msgspec import Struct
from reactivex import Observable

from streams.kernel.stage import NOTHING, Stage, lift
from streams.market.events import Candle, FundingRate
from streams.market.state import BookTop, CandleUpdate, MarketInfo
from streams.signals.config import RESOLUTION_SECONDS, SignalsConfig
from streams.signals.indicators.registry import BAR_VALUES, INDICATORS, VALUES

SignalInput = CandleUpdate | BookTop | MarketInfo | FundingRate
SECONDS_PER_YEAR = 365 * 24 * 3600  # crypto trades every day

Due = Callable[[str, float], bool]
"""Is the strategy due to look at this market at this event time?"""


class IndicatorSnapshot(Struct, frozen=True):
    """All indicator values of one market after an update (None while an indicator warms up).
    `closed` is True exactly when a candle closed: the values are then those of the closed series;
    otherwise they include the open candle as if it closed now."""

    t: float
    market: str
    closed: bool
    values: dict[str, float | None]


class Bar(NamedTuple):
    high: float
    low: float
    close: float
    quote_volume: float
    base_volume: float

    @classmethod
    def of(cls, candle: Candle) -> Bar:
        return cls(float(candle.high), float(candle.low), float(candle.close), float(candle.usdVolume),
                   float(candle.baseTokenVolume))


Step = Callable[..., Any]
"""A bar indicator's bound `update` (a closed candle) or `peek` (the open one)."""
Read = Callable[..., tuple[float | None, ...]]


class MarketIndicators:
    """The indicators of one market. A market is followed (emits snapshots) once candles or a book
    arrive for it; v4_markets covers every market and alone does not make one followed."""

    def __init__(self, market: str, config: SignalsConfig) -> None:
        p = config.indicators
        self.market = market
        self.resolution = config.resolution
        bars_per_year = SECONDS_PER_YEAR / RESOLUTION_SECONDS[config.resolution]
        made = [(entry, entry.make(p, bars_per_year)) for entry in INDICATORS]
        bars = [(entry.read, indicator) for entry, indicator in made if entry.feed == "bar"]
        # bound once: per bar, (its read, update) for a closed candle, (its read, peek) for the open one
        self._updates: tuple[tuple[Read, Step], ...] = tuple((read, indicator.update) for read, indicator in bars)
        self._peeks: tuple[tuple[Read, Step], ...] = tuple((read, indicator.peek) for read, indicator in bars)
        self._books = tuple(indicator for entry, indicator in made if entry.feed == "book")
        self._fundings = tuple((entry.read, indicator) for entry, indicator in made if entry.feed == "funding")
        self._others: tuple[tuple[Read, Any], ...] = tuple(  # the event-fed ones, in snapshot order
            (entry.read, indicator) for entry, indicator in made if entry.feed != "bar")
        self._bar_values: list[float | None] = [None] * len(BAR_VALUES)
        self._last_closed: str | None = None  # startedAt of the last closed candle
        self._open: Candle | None = None  # the open candle, until a snapshot evaluates it
        self._followed = False
        self._t, self._closed = 0.0, False  # of the last event that made a snapshot
        self._unsent = False  # `on_demand` held that snapshot back
        self._held: IndicatorSnapshot | None = None  # it, when it had to be made before it was needed

    def on(self, event: SignalInput) -> IndicatorSnapshot | None:
        """The snapshot after `event`, or None when it changed nothing worth emitting."""
        return self.snapshot() if self.apply(event) else None

    def on_demand(self, event: SignalInput, due: Due) -> Sequence[IndicatorSnapshot]:
        """Only the snapshots a strategy acts on: a closed candle's, and, when `due(market, t)` says the
        strategy will look at the market, the new one, preceded by the last one held back (the strategy
        reads the volatility of the snapshot before the score it acts on). Any other is held back and never
        computed: an open candle's eight peeks and a score per book update are most of what this stage and
        the scores cost. The decisions are those of `on`, as long as a held-back snapshot is never the
        only one since the last emitted whose volatility reading is usable (non-zero), which on real
        markets it never is (the golden session's decisions are checked identical)."""
        if isinstance(event, FundingRate):
            if self._unsent and self._held is None:
                self._held = self.snapshot()  # what it said before the settlement changes the z-score
            self.apply(event)
            return NOTHING
        due_now = due(self.market, event.t)
        out: list[IndicatorSnapshot] = []
        if due_now and self._unsent:
            out.append(self._held or self.snapshot())
            self._unsent, self._held = False, None
        if self.apply(event):
            if due_now or self._closed:
                out.append(self.snapshot())
            else:
                self._unsent, self._held = True, None
        return out

    def apply(self, event: SignalInput) -> bool:
        """Take `event` in; True when it makes a new snapshot (`snapshot()`), False when it changed
        nothing worth one."""
        match event:
            case CandleUpdate():
                return self._candle(event)
            case BookTop():
                return self._book(event)
            case MarketInfo():
                return self._market(event)
            case FundingRate():
                t, rate = datetime.fromisoformat(event.effectiveAt).timestamp(), float(event.rate)
                for _, funding in self._fundings:
                    funding.settle(t, rate)
        return False

    def snapshot(self) -> IndicatorSnapshot:
        """The indicators as of the last event that made a snapshot; the open candle is evaluated here,
        once, only when a snapshot is asked for."""
        if self._open is not None:
            self._bar_values = self._evaluate(Bar.of(self._open), False)
            self._open = None
        values = self._bar_values.copy()
        for read, indicator in self._others:
            values += read(indicator)
        return IndicatorSnapshot(t=self._t, market=self.market, closed=self._closed,
                                 values=dict(zip(VALUES, values, strict=True)))

    def _candle(self, update: CandleUpdate) -> bool:
        started = update.candle.startedAt  # ISO-8601 UTC of fixed width: compares as text
        if update.resolution != self.resolution:
            return False
        if self._last_closed is not None and started <= self._last_closed:
            return False  # a closed candle sent again (e.g. in the snapshot after a resubscribe)
        if update.closed:
            self._bar_values = self._evaluate(Bar.of(update.candle), True)
            self._open = None
            self._last_closed = started
        else:
            self._open = update.candle  # the closed series is untouched until the next close
        self._followed = True
        if update.history:  # REST history warms the series silently: the first live update makes a snapshot
            return False
        return self._made(update.t, update.closed)

    def _book(self, top: BookTop) -> bool:
        if top.imbalance is None:  # a side is empty: no reading
            return False
        for book in self._books:
            book.update(top.t, top.imbalance)
        self._followed = True
        return self._made(top.t, False)

    def _market(self, info: MarketInfo) -> bool:
        if info.next_funding_rate is None:
            return False
        before = self._funding_values()
        rate = float(info.next_funding_rate)
        for _, funding in self._fundings:
            funding.observe(info.t, rate)
        if not self._followed or self._funding_values() == before:
            return False  # most v4_markets updates are oracle prices: no news for the signals
        return self._made(info.t, False)

    def _made(self, t: float, closed: bool) -> bool:
        self._t, self._closed = t, closed
        return True

    def _funding_values(self) -> list[tuple[float | None, ...]]:
        return [read(funding) for read, funding in self._fundings]

    def _evaluate(self, bar: Bar, closed: bool) -> list[float | None]:
        values: list[float | None] = [bar.close]
        for read, step in self._updates if closed else self._peeks:
            values += read(step, bar)
        return values


class Indicators(Stage[Any, IndicatorSnapshot]):
    """Every market's `MarketIndicators`, each made when its market first appears; anything that is not
    a `SignalInput` is ignored. With `due`, only the snapshots a strategy acts on (`on_demand`)."""

    def __init__(self, config: SignalsConfig, due: Due | None = None) -> None:
        self._config = config
        self._due = due
        self._markets: dict[str, MarketIndicators] = {}

    def on_event(self, event: Any) -> Iterable[IndicatorSnapshot]:
        if not isinstance(event, SignalInput):
            return NOTHING
        key = _market_of(event)
        market = self._markets.get(key)
        if market is None:
            market = self._markets[key] = MarketIndicators(key, self._config)
        if self._due is not None:
            return market.on_demand(event, self._due)
        snapshot = market.on(event)
        return NOTHING if snapshot is None else (snapshot,)


def indicators(config: SignalsConfig, due: Due | None = None
               ) -> Callable[[Observable[Any]], Observable[IndicatorSnapshot]]:
    """The operator: the merged market-state stream of any number of markets -> their snapshots, in
    input order: every one, or with `due` (is the strategy due to look at this market at this time?)
    only those it acts on. State lives in the subscription, so every subscription (every replay) starts
    fresh."""
    return lift(lambda: Indicators(config, due))


def _market_of(event: SignalInput) -> str:
    return event.ticker if isinstance(event, FundingRate) else event.market
