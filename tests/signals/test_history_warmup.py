"""REST candle history warms the indicators silently: the real 1000 ETH-USD 1MIN candles served as a REST
answer make two snapshots (the answer's last closed candle, whose snapshot gives the strategy its
volatility, and the open one, whose score is the strategy's first look), where the same candles as a
v4_candles snapshot make one a candle; the snapshot after the next live update is the same either way.
Frames -> parse() -> candles() -> indicators() -> assertions."""

from __future__ import annotations

from typing import Any

import pytest

from streams.market.candles import candles
from streams.market.state import CandleUpdate
from streams.signals.config import SignalsConfig
from streams.signals.indicators.market import IndicatorSnapshot, indicators
from tests.support.builders import load_sample, rest_frame, run_frames, ws_frame

T0 = 1_722_016_680.0  # 2024-07-26 17:58 UTC, just after the newest real candle started
PATH = "/v4/candles/perpetualMarkets/ETH-USD?resolution=1MIN"


@pytest.fixture(scope="module")
def history(samples_dir) -> list[dict[str, Any]]:
    return load_sample(samples_dir, "nautilus-2024/ws/v4_candles.json")["contents"]["candles"]  # newest first


def _live(candle: dict[str, Any]) -> dict[str, Any]:
    """The open candle revised on the channel."""
    return {"type": "channel_data", "connection_id": "c", "message_id": 3, "channel": "v4_candles",
            "id": "ETH-USD/1MIN", "version": "1.0.0", "contents": {**candle, "trades": candle["trades"] + 1}}


def _subscribed(history: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "subscribed", "connection_id": "c", "message_id": 1, "channel": "v4_candles",
            "id": "ETH-USD/1MIN", "contents": {"candles": history}}


def test_rest_history_is_marked_but_for_its_last_closed_and_open_candles(history):
    out = run_frames([rest_frame({"candles": history}, PATH, T0)], candles())

    assert len(out) == len(history)
    assert all(update.history for update in out[:-2])
    assert [(u.candle.startedAt[11:16], u.closed, u.history) for u in out[-2:]] == [
        ("17:56", True, False), ("17:57", False, False)]


def test_the_channel_snapshot_is_not_history(history):
    out = run_frames([ws_frame(_subscribed(history), T0)], candles())

    assert len(out) == len(history) and not any(update.history for update in out)


def test_warmed_indicators_make_the_same_first_live_snapshot(history):
    config = SignalsConfig()
    live = ws_frame(_live(history[0]), T0 + 1)
    warmed = run_frames([rest_frame({"candles": history}, PATH, T0), live], candles(), indicators(config))
    per_candle = run_frames([ws_frame(_subscribed(history), T0), live], candles(), indicators(config))

    assert all(isinstance(snapshot, IndicatorSnapshot) for snapshot in warmed)
    assert len(per_candle) == len(history) + 1
    assert len(warmed) == 3  # the answer's last closed candle, its open one, the live update
    assert warmed[-3:] == per_candle[-3:]
    assert warmed[-1].values["rsi"] is not None and warmed[-1].values["volatility"] is not None


def test_history_keeps_its_candles_for_the_chart(history):
    out = run_frames([rest_frame({"candles": history}, PATH, T0)], candles())

    assert all(isinstance(update, CandleUpdate) for update in out)
    assert len({update.candle.startedAt for update in out}) == len(history)
