"""Indicators follow `signals.resolution`: the venue's candles when the sources subscribe to that
resolution, otherwise candles the graph builds from the trades (any resolution can be derived)."""

from __future__ import annotations

from msgspec import structs
from reactivex.subject import Subject

from app.sources import DEFAULT_RECORDING
from streams.config import Config
from streams.graph import build_graph
from streams.signals.config import SignalsConfig
from streams.sources.recording import open_recording


def run(resolution: str) -> tuple[list, list]:
    config = structs.replace(Config(), signals=structs.replace(SignalsConfig(), resolution=resolution))
    frames: Subject = Subject()
    graph = build_graph(frames, config)
    candles, scores = [], []
    graph.candles.subscribe(candles.append)
    graph.scores.subscribe(scores.append)
    graph.connect()
    for frame in open_recording(DEFAULT_RECORDING).frames():
        frames.on_next(frame)
    return candles, scores


def test_a_resolution_the_venue_does_not_send_is_built_from_trades():
    candles, scores = run("5MINS")
    closed = [c for c in candles if c.resolution == "5MINS" and c.closed]
    assert {c.market for c in closed} == {"BTC-USD", "ETH-USD"}
    assert len(closed) >= 2 * 11  # an hour of trades: at least eleven whole 5-minute candles per market
    assert scores and {s.market for s in scores} == {"BTC-USD", "ETH-USD"}


def test_the_venue_resolution_uses_the_venue_candles_only():
    candles, _ = run("1MIN")
    assert {c.resolution for c in candles} == {"1MIN"}
