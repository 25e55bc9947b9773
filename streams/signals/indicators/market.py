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

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from msgspec import Struct
from reactivex import Observable

from streams.kernel.stage import NOTHING, Stage, lift
from streams.market.events import Candle, FundingRate
from streams.market.state import BookTop, CandleUpdate, MarketInfo
from streams.signals.config import RESOLUTION_SECONDS, SignalsConfig
from streams.signals.indicators.averages import Ema, Sma
from streams.signals.indicators.flow import BookImbalance, FundingZScore
from streams.signals.indicators.oscillators import Macd, Rsi
from streams.signals.indicators.volatility import Atr, BollingerBands, RealisedVolatility
from streams.signals.indicators.volume import Vwap

SignalInput = CandleUpdate | BookTop | MarketInfo | FundingRate
SECONDS_PER_YEAR = 365 * 24 * 3600  # crypto trades every day

BAR_VALUES = ("close", "ema", "sma", "rsi", "macd", "macd_signal", "macd_hist", "bb_upper", "bb_middle",
              "bb_lower", "atr", "vwap", "volatility")
VALUES = (*BAR_VALUES, "imbalance", "funding_rate", "funding_z")
"""The keys of `IndicatorSnapshot.values`, in order. `volatility` is annualised realised volatility."""


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


class MarketIndicators:
    """The indicators of one market. A market is followed (emits snapshots) once candles or a book
    arrive for it; v4_markets covers every market and alone does not make one followed."""

    def __init__(self, market: str, config: SignalsConfig) -> None:
        p = config.indicators
        self.market = market
        self.resolution = config.resolution
        self._ema = Ema(p.ema_period)
        self._sma = Sma(p.sma_period)
        self._rsi = Rsi(p.rsi_period)
        self._macd = Macd(p.macd_fast, p.macd_slow, p.macd_signal)
        self._bollinger = BollingerBands(p.bollinger_period, p.bollinger_width)
        self._atr = Atr(p.atr_period)
        self._vwap = Vwap(p.vwap_period)
        bars_per_year = SECONDS_PER_YEAR / RESOLUTION_SECONDS[config.resolution]
        self._volatility = RealisedVolatility(p.volatility_period, bars_per_year)
        self._imbalance = BookImbalance(p.imbalance_half_life)
        self._funding = FundingZScore(p.funding_window)
        candle_indicators = (self._ema, self._sma, self._rsi, self._macd, self._bollinger, self._atr, self._vwap,
                             self._volatility)
        self._updates = tuple(indicator.update for indicator in candle_indicators)  # a closed candle
        self._peeks = tuple(indicator.peek for indicator in candle_indicators)  # the open one
        self._bar_values: dict[str, float | None] = dict.fromkeys(BAR_VALUES)
        self._last_closed: str | None = None  # startedAt of the last closed candle
        self._followed = False

    def on(self, event: SignalInput) -> IndicatorSnapshot | None:
        """The snapshot after `event`, or None when it changed nothing worth emitting."""
        match event:
            case CandleUpdate():
                return self.on_candle(event)
            case BookTop():
                return self.on_book(event)
            case MarketInfo():
                return self.on_market(event)
            case FundingRate():
                self._funding.settle(datetime.fromisoformat(event.effectiveAt).timestamp(), float(event.rate))
        return None

    def on_candle(self, update: CandleUpdate) -> IndicatorSnapshot | None:
        started = update.candle.startedAt  # ISO-8601 UTC of fixed width: compares as text
        if update.resolution != self.resolution:
            return None
        if self._last_closed is not None and started <= self._last_closed:
            return None  # a closed candle sent again (e.g. in the snapshot after a resubscribe)
        self._bar_values = self._evaluate(Bar.of(update.candle), update.closed)
        if update.closed:
            self._last_closed = started
        self._followed = True
        return self._snapshot(update.t, update.closed)

    def on_book(self, top: BookTop) -> IndicatorSnapshot | None:
        if top.imbalance is None:  # a side is empty: no reading
            return None
        self._imbalance.update(top.t, top.imbalance)
        self._followed = True
        return self._snapshot(top.t, False)

    def on_market(self, info: MarketInfo) -> IndicatorSnapshot | None:
        if info.next_funding_rate is None:
            return None
        before = (self._funding.rate, self._funding.zscore)
        self._funding.observe(info.t, float(info.next_funding_rate))
        if not self._followed or (self._funding.rate, self._funding.zscore) == before:
            return None  # most v4_markets updates are oracle prices: no news for the signals
        return self._snapshot(info.t, False)

    def _evaluate(self, bar: Bar, closed: bool) -> dict[str, float | None]:
        ema, sma, rsi, macd, bollinger, atr, vwap, volatility = self._updates if closed else self._peeks
        close = bar.close
        lines = macd(close)
        bands = bollinger(close)
        return {
            "close": close,
            "ema": ema(close),
            "sma": sma(close),
            "rsi": rsi(close),
            "macd": None if lines is None else lines.macd,
            "macd_signal": None if lines is None else lines.signal,
            "macd_hist": None if lines is None else lines.histogram,
            "bb_upper": None if bands is None else bands.upper,
            "bb_middle": None if bands is None else bands.middle,
            "bb_lower": None if bands is None else bands.lower,
            "atr": atr(bar.high, bar.low, close),
            "vwap": vwap(bar.quote_volume, bar.base_volume),
            "volatility": volatility(close),
        }

    def _snapshot(self, t: float, closed: bool) -> IndicatorSnapshot:
        values = {**self._bar_values, "imbalance": self._imbalance.value, "funding_rate": self._funding.rate,
                  "funding_z": self._funding.zscore}
        return IndicatorSnapshot(t=t, market=self.market, closed=closed, values=values)


class Indicators(Stage[Any, IndicatorSnapshot]):
    """Every market's `MarketIndicators`, each made when its market first appears; anything that is not
    a `SignalInput` is ignored."""

    def __init__(self, config: SignalsConfig) -> None:
        self._config = config
        self._markets: dict[str, MarketIndicators] = {}

    def on_event(self, event: Any) -> Iterable[IndicatorSnapshot]:
        if not isinstance(event, SignalInput):
            return NOTHING
        key = _market_of(event)
        market = self._markets.get(key)
        if market is None:
            market = self._markets[key] = MarketIndicators(key, self._config)
        snapshot = market.on(event)
        return NOTHING if snapshot is None else (snapshot,)


def indicators(config: SignalsConfig) -> Callable[[Observable[Any]], Observable[IndicatorSnapshot]]:
    """The operator: the merged market-state stream of any number of markets -> their snapshots, in
    input order. State lives in the subscription, so every subscription (every replay) starts fresh."""
    return lift(lambda: Indicators(config))


def _market_of(event: SignalInput) -> str:
    return event.ticker if isinstance(event, FundingRate) else event.market
