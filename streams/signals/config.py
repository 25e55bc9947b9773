"""The `[signals]` config section: the candles scored, the indicators' periods, and how each contributor
weighs in (see `streams.config` for the file as a whole)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from streams.kernel.settings import Section

Resolution = Literal["1MIN", "5MINS", "15MINS", "30MINS", "1HOUR", "4HOURS", "1DAY"]
RESOLUTION_SECONDS: dict[str, int] = {
    "1MIN": 60, "5MINS": 300, "15MINS": 900, "30MINS": 1800, "1HOUR": 3600, "4HOURS": 14400, "1DAY": 86400,
}
Direction = Literal["momentum", "mean_reversion"]
Period = Annotated[int, Meta(ge=2, le=100_000)]
Weight = Annotated[float, Meta(ge=0)]
Positive = Annotated[float, Meta(gt=0)]
Seconds = Annotated[float, Meta(ge=0)]


class IndicatorParams(Section, frozen=True):
    """Periods are in bars of `signals.resolution` unless named otherwise."""

    ema_period: Period = 20
    sma_period: Period = 20
    rsi_period: Period = 14
    macd_fast: Period = 12
    macd_slow: Period = 26
    macd_signal: Period = 9
    bollinger_period: Period = 20
    bollinger_width: Positive = 2.0  # standard deviations
    atr_period: Period = 14
    vwap_period: Period = 60
    volatility_period: Period = 60  # log returns
    imbalance_half_life: Seconds = 10.0  # 0 = the latest book reading as is
    funding_window: Period = 24  # settled hourly rates

    def __post_init__(self) -> None:
        if not self.macd_slow > self.macd_fast:
            raise ValueError(f"macd_slow: must be greater than macd_fast ({self.macd_fast})")


class Weights(Section, frozen=True):
    """Relative weights of the score's contributors; a weight of 0 leaves a contributor out."""

    rsi: Weight = 1.0
    macd: Weight = 1.0
    bollinger: Weight = 1.0
    vwap: Weight = 0.5
    imbalance: Weight = 0.5
    funding: Weight = 0.5

    def __post_init__(self) -> None:
        if not any(getattr(self, name) > 0 for name in self.__struct_fields__):
            raise ValueError("at least one weight must be greater than 0")


class Directions(Section, frozen=True):
    """Whether a contributor follows its reading (momentum) or fades it (mean_reversion)."""

    rsi: Direction = "mean_reversion"
    macd: Direction = "momentum"
    bollinger: Direction = "mean_reversion"
    vwap: Direction = "mean_reversion"
    imbalance: Direction = "momentum"
    funding: Direction = "mean_reversion"  # contrarian: crowded longs pay


class Scales(Section, frozen=True):
    """The reading that maps to tanh(1) ≈ 0.76 for contributors with unbounded readings."""

    macd: Positive = 0.3  # MACD histogram in ATRs
    vwap: Positive = 3.0  # distance of the close from VWAP in ATRs
    funding: Positive = 2.0  # funding z-score


class SignalsConfig(Section, frozen=True):
    resolution: Resolution = "1MIN"  # candles of other resolutions are ignored
    indicators: IndicatorParams = IndicatorParams()
    weights: Weights = Weights()
    directions: Directions = Directions()
    scales: Scales = Scales()
