"""The one stream graph: frames in (live or replayed), every layer's output out. The dashboard and the
headless runner both build it with `build_graph` and only subscribe to its outputs; neither knows where
the frames come from.

    frames -> parse -> market state (books, candles, markets, health) -> indicators -> scores
                                  \\-> paper broker -> account -> margin -> risk ladder <- kill switch
                                                                             strategy -> intents -> broker
"""

from __future__ import annotations

from dataclasses import dataclass

from reactivex import Observable

from streams.execution.orders import Fill, OrderIntent, OrderUpdate
from streams.market.books import ResyncRequest
from streams.market.events import Event
from streams.market.state import BookTop, CandleUpdate, MarketInfo, StreamHealth
from streams.risk.kill_switch import KillSwitch
from streams.risk.ladder import RiskState
from streams.risk.margin import AccountState
from streams.signals.indicators.market import IndicatorSnapshot
from streams.signals.scoring import SignalScore


@dataclass
class Graph:
    """Hot observables, one per layer output; `kill_switch` is the one input besides the frames."""

    events: Observable[Event]
    markets: Observable[MarketInfo]
    books: Observable[BookTop]
    candles: Observable[CandleUpdate]
    health: Observable[StreamHealth]
    indicators: Observable[IndicatorSnapshot]
    scores: Observable[SignalScore]
    account: Observable[AccountState]
    risk: Observable[RiskState]
    orders: Observable[OrderIntent | OrderUpdate | Fill]
    resyncs: Observable[ResyncRequest]
    kill_switch: KillSwitch
