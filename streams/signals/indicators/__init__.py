"""Incremental technical indicators: O(1) per bar, TA-Lib's values (including its warm-up), and a
`peek` that evaluates the open candle without touching the closed series. `market` lifts them onto
the stream of every market."""

from streams.signals.indicators.averages import Ema, Sma
from streams.signals.indicators.flow import BookImbalance, FundingZScore
from streams.signals.indicators.market import VALUES, Bar, IndicatorSnapshot, MarketIndicators, SignalInput, indicators
from streams.signals.indicators.oscillators import Macd, MacdValue, Rsi
from streams.signals.indicators.rolling import RollingMoments, RollingSum
from streams.signals.indicators.volatility import Atr, Bands, BollingerBands, RealisedVolatility
from streams.signals.indicators.volume import Vwap

__all__ = [
    "VALUES", "Atr", "Bands", "Bar", "BollingerBands", "BookImbalance", "Ema", "FundingZScore",
    "IndicatorSnapshot", "Macd", "MacdValue", "MarketIndicators", "RealisedVolatility", "RollingMoments",
    "RollingSum", "Rsi", "SignalInput", "Sma", "Vwap", "indicators",
]
