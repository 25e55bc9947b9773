"""The graph on a stream of several markets: one snapshot and score per update, markets independent,
open candles never disturbing the closed series, and replays identical to the byte."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import numpy as np
import pytest
import reactivex
import talib
from reactivex import operators as ops
from signal_cases import FRACTIONS, T0, book_top, candle_updates, forming, iso, market_info, synthetic_candles

from streams.market.events import Candle, FundingRate, ParseError
from streams.market.state import CandleUpdate
from streams.signals.config import IndicatorParams, SignalsConfig
from streams.signals.indicators import IndicatorSnapshot, indicators
from streams.signals.scoring import SignalScore, scores

HOUR = 3600.0
CONFIG = SignalsConfig()
SECOND_MARKET = "SOL-USD"


def funding_history(market: str) -> list[FundingRate]:
    """The 24 hourly rates settled before T0, oldest first (the REST answer reversed)."""
    first_tick = (T0 // HOUR - 23) * HOUR
    return [FundingRate(ticker=market, rate=Decimal(2 * (1 + hour % 5)) / 10**6, price=Decimal("3000"),
                        effectiveAt=iso(first_tick + hour * HOUR)) for hour in range(24)]


def market_stream(candles: list[Candle], forming_steps: tuple[float, ...] = FRACTIONS) -> list[Any]:
    """One market's state stream: candles (open updates, then closed), a book every minute (now and then
    one side empty), v4_markets every five minutes (the funding estimate moving now and then)."""
    market = candles[0].ticker
    events: list[Any] = candle_updates(candles, forming_steps)
    for i, candle in enumerate(candles):
        t = datetime.fromisoformat(candle.startedAt).timestamp()
        events.append(book_top(market, t + 30, None if i % 50 == 7 else round(math.sin(i / 3) * 0.8, 6)))
        if i % 5 == 0:
            events.append(market_info(market, t + 10, f"{1 + (i // 20) % 4}e-6"))
    events.sort(key=lambda event: event.t)
    return [*funding_history(market), *events]


def merged(*streams: list[Any]) -> list[Any]:
    """Several markets' streams as one, in time order (the funding history first)."""
    return sorted((event for stream in streams for event in stream), key=lambda event: getattr(event, "t", -1.0))


def run(events: list[Any], config: SignalsConfig = CONFIG) -> tuple[list[IndicatorSnapshot], list[SignalScore]]:
    snapshots: list[IndicatorSnapshot] = []
    signals: list[SignalScore] = []
    reactivex.from_iterable(events).pipe(
        indicators(config), ops.do_action(snapshots.append), scores(config),
    ).subscribe(signals.append)
    return snapshots, signals


@pytest.fixture(scope="module")
def streams(candles) -> dict[str, list[Any]]:
    second = synthetic_candles(len(candles), seed=3, market=SECOND_MARKET, price=180.0, tick="0.01")
    return {candles[0].ticker: market_stream(candles), SECOND_MARKET: market_stream(second)}


@pytest.fixture(scope="module")
def together(streams) -> tuple[list[IndicatorSnapshot], list[SignalScore]]:
    return run(merged(*streams.values()))


def test_every_market_runs_as_if_it_were_alone(streams, together):
    snapshots, signals = together
    assert {s.market for s in snapshots} == set(streams)
    for market, stream in streams.items():
        alone_snapshots, alone_signals = run(stream)
        assert [s for s in snapshots if s.market == market] == alone_snapshots
        assert [s for s in signals if s.market == market] == alone_signals


def test_closed_snapshots_are_the_closed_series(candles, streams, together):
    market = candles[0].ticker
    closed = [s for s in together[0] if s.market == market and s.closed]
    without_open_candles = run(market_stream(candles, forming_steps=()))[0]
    assert closed == [s for s in without_open_candles if s.closed]
    closes = np.array([float(candle.close) for candle in candles])
    rsi = np.array([math.nan if s.values["rsi"] is None else s.values["rsi"] for s in closed])
    np.testing.assert_allclose(rsi, talib.RSI(closes, 14), rtol=1e-9, equal_nan=True)


def test_every_contributor_has_a_value_once_warmed_up(together):
    last = together[1][-1]
    assert all(c.value is not None for c in last.contributors), last
    assert last.score == pytest.approx(math.fsum(c.contribution for c in last.contributors))
    assert -1.0 <= min(s.score for s in together[1]) < 0 < max(s.score for s in together[1]) <= 1.0


def test_a_replay_gives_the_same_bytes(streams):
    events = merged(*streams.values())
    encode = msgspec.json.Encoder()
    first, second = (encode.encode(run(events)) for _ in range(2))
    assert first == second


# -- what does not make a snapshot

SMALL = SignalsConfig(indicators=IndicatorParams(ema_period=2, sma_period=2, rsi_period=2, macd_fast=2, macd_slow=3,
                                                 macd_signal=2, bollinger_period=2, atr_period=2, vwap_period=2,
                                                 volatility_period=2, funding_window=2))
CANDLES = synthetic_candles(4, market="ETH-USD", price=3000.0, tick="0.1")


def snapshots_of(events: list[Any]) -> list[IndicatorSnapshot]:
    return run(events, SMALL)[0]


def test_an_open_candle_reads_as_if_it_closed_now():
    candles = synthetic_candles(12, market="ETH-USD", price=3000.0, tick="0.1")
    for i, candle in enumerate(candles):
        for fraction in FRACTIONS:
            [as_closed] = candle_updates([forming(candle, fraction)])
            *_, live = snapshots_of([*candle_updates(candles[:i]), msgspec.structs.replace(as_closed, closed=False)])
            *_, closed = snapshots_of([*candle_updates(candles[:i]), as_closed])
            assert (live.closed, closed.closed) == (False, True)
            assert live.values == closed.values


def test_a_closed_candle_sent_again_changes_nothing():
    updates = candle_updates(CANDLES[:3])
    again = msgspec.structs.replace(updates[1], t=updates[-1].t + 1)
    reopened = msgspec.structs.replace(again, closed=False)
    assert snapshots_of([*updates, again, reopened]) == snapshots_of(updates)


def test_other_resolutions_and_other_events_are_ignored():
    updates = candle_updates(CANDLES)
    hourly = msgspec.structs.replace(updates[2], resolution="1HOUR")
    noise = [hourly, ParseError(where="ws", what="bad", size=1, t=1.0), "not an event"]
    assert snapshots_of([*updates[:3], *noise, *updates[3:]]) == snapshots_of(updates)


def test_a_book_with_an_empty_side_is_no_reading():
    assert snapshots_of([book_top("ETH-USD", 1.0, None)]) == []
    [snapshot] = snapshots_of([book_top("ETH-USD", 1.0, 0.25)])
    assert snapshot.values["imbalance"] == 0.25
    assert snapshot.values["close"] is None and not snapshot.closed


def test_funding_is_tracked_for_every_market_but_only_followed_ones_emit():
    info = [market_info("ETH-USD", HOUR * h + 1, rate) for h, rate in enumerate(("1e-6", "3e-6", "4e-6"))]
    assert snapshots_of(info) == []  # v4_markets covers every market: no candles, no book, no output
    [snapshot] = snapshots_of([*info, book_top("ETH-USD", 3 * HOUR, 0.0)])
    assert snapshot.values["funding_rate"] == 4e-6
    assert snapshot.values["funding_z"] == pytest.approx(2.0)  # hours 0 and 1 settled: mean 2e-6, sd 1e-6


def test_funding_news_makes_a_snapshot_and_oracle_only_updates_do_not():
    follow = book_top("ETH-USD", 0.0, 0.0)
    events = [follow, market_info("ETH-USD", 1.0, "1e-6"), market_info("ETH-USD", 2.0, "1e-6"),
              market_info("ETH-USD", 3.0, None), market_info("ETH-USD", 4.0, "2e-6")]
    assert [s.values["funding_rate"] for s in snapshots_of(events)] == [None, 1e-6, 2e-6]


def test_settled_history_feeds_the_funding_zscore():
    history = funding_history("ETH-USD")[-2:]
    live = market_info("ETH-USD", T0, "8e-6")
    [snapshot] = snapshots_of([*history, book_top("ETH-USD", T0 - 1, 0.0), live])[1:]
    rates = [float(row.rate) for row in history]
    assert snapshot.values["funding_z"] == pytest.approx((8e-6 - np.mean(rates)) / np.std(rates))


def test_on_demand_makes_only_the_snapshots_a_strategy_acts_on_each_as_every_update_would(streams):
    """Due now and then (as a strategy rebalancing every few minutes is), with funding settling in the
    middle of the stream: each closed snapshot and each due one come out, the due one right after the one
    of its market before it (whose volatility a strategy reads), and each is exactly what it is with every update."""
    def due(market: str, t: float) -> bool:
        return int(t) // 60 % 7 == 0  # one minute in seven

    events = merged(*streams.values())
    rates = funding_history(SECOND_MARKET)[:3]
    for hour, rate in enumerate(rates):  # each settles while a snapshot is held back, just before it is due
        at = next(i for i, event in enumerate(events) if isinstance(event, CandleUpdate) and event.closed
                  and event.market == SECOND_MARKET and event.t > T0 + HOUR * (1 + hour) and due("", event.t))
        ahead = iso((events[at].t // HOUR + 1) * HOUR)  # a tick not settled yet, so that it counts
        events.insert(at, msgspec.structs.replace(rate, effectiveAt=ahead))

    every = run(events)[0]
    demanded: list[IndicatorSnapshot] = []
    reactivex.from_iterable(events).pipe(indicators(CONFIG, due)).subscribe(demanded.append)

    wanted = [i for i, s in enumerate(every) if s.closed or due(s.market, s.t)]
    assert set(wanted) <= {every.index(s) for s in demanded}
    for i in wanted:
        if not every[i].closed:
            market = every[i].market
            previous = max(j for j in range(i) if every[j].market == market)
            in_market = [s for s in demanded if s.market == market]
            assert in_market[in_market.index(every[i]) - 1] == every[previous]
    assert all(s in every for s in demanded) and len(demanded) < len(every) / 2
