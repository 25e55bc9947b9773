"""The trades tape stage: on the bundled recording through the whole graph (frames in -> `graph.trades` out)
every trade the recording carries comes out once, oldest first per market, the large ones marked; nothing
reads it headless, and then the stage is never called. On hand-built frames: a resubscription's snapshot
and an overlapping REST page are not repeated, a snapshot's newest-first order is put right."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import reactivex

from app.sources import DEFAULT_RECORDING
from streams.config import Config
from streams.graph import build_graph
from streams.kernel.frames import Frame
from streams.market import trades as tape_module
from streams.market.trades import MarketTrade, TapeConfig, tape
from streams.sources.recording import open_recording
from tests.support.builders import rest_frame, run_frames, ws_frame

LARGE = Decimal(50_000)


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    return list(open_recording(DEFAULT_RECORDING).frames())


def recorded_trades(frames: list[Frame]) -> dict[str, set[tuple[str, str, str, str, str]]]:
    """Every trade in the recording's v4_trades messages, read straight from their JSON: market ->
    (id, side, size, price, createdAt)."""
    found: dict[str, set[tuple[str, str, str, str, str]]] = {}
    for frame in frames:
        if frame.kind != "ws" or b'"v4_trades"' not in frame.data:
            continue
        message = json.loads(frame.data)
        contents = message.get("contents")
        batches = contents if isinstance(contents, list) else [contents]
        for batch in batches:
            for trade in batch["trades"]:
                found.setdefault(message["id"], set()).add(
                    (trade["id"], trade["side"], trade["size"], trade["price"], trade["createdAt"]))
    return found


@pytest.fixture(scope="module")
def taped(frames: list[Frame]) -> list[MarketTrade]:
    graph = build_graph(reactivex.from_iterable(frames), Config(tape=TapeConfig(large_notional=LARGE)),
                        all_snapshots=False)
    out: list[MarketTrade] = []
    graph.trades.subscribe(out.append)
    graph.connect()
    return out


def test_every_recorded_trade_comes_out_once_oldest_first(frames: list[Frame], taped: list[MarketTrade]) -> None:
    recorded = recorded_trades(frames)
    assert set(recorded) == {"BTC-USD", "ETH-USD"} and all(len(trades) > 100 for trades in recorded.values())
    for market, trades in recorded.items():
        out = [trade for trade in taped if trade.market == market]
        assert {(t.id, t.side, str(t.size), str(t.price), t.created_at) for t in out} == trades
        assert len(out) == len(trades)  # each once
        order = [(t.created_at, t.id) for t in out]
        assert order == sorted(order)
    assert [t.t for t in taped] == sorted(t.t for t in taped)  # stamped with the frames that carried them


def test_large_trades_are_those_of_a_notional_at_or_above_the_threshold(taped: list[MarketTrade]) -> None:
    large = [trade for trade in taped if trade.large]
    assert large and len(large) < len(taped)
    assert all((trade.size * trade.price >= LARGE) == trade.large for trade in taped)
    assert all(isinstance(trade.notional, Decimal) for trade in taped)


def test_nothing_calls_the_stage_while_nothing_reads_the_tape(frames: list[Frame],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    on_event = tape_module.Tape.on_event
    monkeypatch.setattr(tape_module.Tape, "on_event", lambda self, event: calls.append(1) or on_event(self, event))
    headless = build_graph(reactivex.from_iterable(frames[:3000]), all_snapshots=False)
    headless.pnl.subscribe(lambda _: None)
    headless.orders.subscribe(lambda _: None)
    headless.connect()
    assert calls == []
    read = build_graph(reactivex.from_iterable(frames[:3000]), all_snapshots=False)
    read.trades.subscribe(lambda _: None)
    read.connect()
    assert calls  # the same frames, with a reader: called, for the trades' messages only
    assert len(calls) < 3000


def _trade(n: int, side: str = "BUY", size: str = "0.5", price: str = "3000.1") -> dict:
    return {"id": f"{n:08x}", "side": side, "size": size, "price": price, "type": "LIMIT",
            "createdAt": f"2024-07-26T16:{n // 60:02d}:{n % 60:02d}.000Z"}


def _subscribed(trades: list[dict], t: float) -> Frame:
    return ws_frame({"type": "subscribed", "connection_id": "c", "message_id": 1, "channel": "v4_trades",
                     "id": "ETH-USD", "contents": {"trades": trades}}, t)


def _update(trades: list[dict], t: float) -> Frame:
    return ws_frame({"type": "channel_data", "connection_id": "c", "message_id": 2, "channel": "v4_trades",
                     "id": "ETH-USD", "version": "2.2.0", "contents": {"trades": trades}}, t)


def test_a_resubscription_and_an_overlapping_rest_page_repeat_nothing() -> None:
    frames = [
        _subscribed([_trade(3), _trade(2), _trade(1)], 1.0),  # newest first, as the venue sends them
        _update([_trade(4, "SELL", "40", "3001")], 2.0),  # 120,040 USDC: large
        _subscribed([_trade(4, "SELL", "40", "3001"), _trade(3), _trade(2)], 3.0),  # after a reconnect
        _update([_trade(5)], 4.0),
        rest_frame({"trades": [_trade(6), _trade(5), _trade(4, "SELL", "40", "3001")]},
                   "/v4/trades/perpetualMarket/ETH-USD?limit=3", 5.0),
    ]
    out = run_frames(frames, tape(TapeConfig()))
    assert [(trade.id, trade.t) for trade in out] == [(f"{n:08x}", t) for n, t in
                                                      ((1, 1.0), (2, 1.0), (3, 1.0), (4, 2.0), (5, 4.0), (6, 5.0))]
    assert [trade.large for trade in out] == [False, False, False, True, False, False]
    assert out[3] == MarketTrade(2.0, "ETH-USD", "00000004", "SELL", Decimal("40"), Decimal("3001"),
                                 "2024-07-26T16:00:04.000Z", "LIMIT", True)
