"""The whole graph's behaviour, pinned: every output of `build_graph` over a small deterministic recording,
encoded as `--no-ui` encodes it (`app.jsonl.line`), is the golden file's (`tests/golden/graph-*.jsonl.gz`,
see `tests.support.golden`: a failure names the first event that differs), and two runs give the same
bytes. Any change to what any layer emits, or to the order in which it emits it, fails it; a change that
only makes the graph faster passes. Re-pin deliberately: `pytest --update-golden tests/test_graph_golden.py`.

The recording is SYNTHETIC and built here (seeded random-walk candles for two markets, traffic around them
from `tools.synthetic`), so every checkout can run this. The frame stream then gets the faults
a live session meets: a malformed frame, a replayed book message (the book resyncs, then a fresh snapshot
comes), a lost and regained connection, and the kill switch pulled (with flatten) and reset.

`graph_lines` is the reusable part: the same check runs on any recording's frames.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from reactivex.subject import Subject

from app.jsonl import line
from app.sources import DEFAULT_RECORDING
from streams.config import Config
from streams.graph import Graph, build_graph
from streams.kernel.frames import Frame
from streams.kernel.status import SourceStatus, status_frame
from streams.sources.recording import open_recording
from streams.sources.recording_writer import RecordingWriter
from tests.support.golden import check_golden, compare_golden
from tools.synthetic import (
    BookShape,
    MarketTape,
    MessageIds,
    batched,
    initial_book,
    merge_markets,
    synthetic_candles,
    text,
)

OUTPUTS = ("events", "markets", "books", "candles", "health", "indicators", "scores", "targets", "account",
           "risk", "orders", "resyncs")
HEADLESS_FIRST = ("candles", "scores", "risk", "orders", "health")
"""What `--no-ui` subscribes to, in its order; the graph wires itself in the order it is subscribed."""
HEADLESS = (*HEADLESS_FIRST, *(name for name in OUTPUTS if name not in HEADLESS_FIRST))

Step = Callable[[Graph], None]
"""Something done to the graph between two frames (the kill switch)."""


def graph_lines(frames: Iterable[Frame], order: Sequence[str] = HEADLESS, config: Config = Config(),
                between: dict[int, Step] | None = None, all_snapshots: bool = True) -> list[bytes]:
    """Every output of one graph over `frames`, as JSON lines `{"t", "kind": <output>, ...}` in the order
    they were emitted; outputs are subscribed in `order`. `between[i]` runs before frame `i`."""
    lines: list[bytes] = []
    source: Subject[Frame] = Subject()
    graph = build_graph(source, config, all_snapshots=all_snapshots)
    for name in order:
        getattr(graph, name).subscribe(lambda event, kind=name: lines.append(line(kind, event)))
    graph.connect()
    steps = between or {}
    for index, frame in enumerate(frames):
        if index in steps:
            steps[index](graph)
        source.on_next(frame)
    source.on_completed()
    return lines


# ---------------------------------------------------------------------------------------------------
# The recording

T0 = 1_735_812_000.0  # 2025-01-02 10:00:00 UTC
HISTORY, LIVE = 80, 24  # minutes of candle history (REST and snapshot), minutes of live traffic
REST_URL = "https://indexer.dydx.trade"
# market -> (price, tick, step, IMF, MMF, hourly funding, base volume per minute)
MARKETS = {
    "BTC-USD": (Decimal(97_000), Decimal(1), Decimal("0.0001"), Decimal("0.05"), Decimal("0.03"),
                Decimal("0.0000125"), Decimal(3)),
    "ETH-USD": (Decimal(3_400), Decimal("0.1"), Decimal("0.001"), Decimal("0.05"), Decimal("0.03"),
                Decimal("-0.0000031"), Decimal(40)),
}


def _market(ticker: str, clob: int, price: Decimal) -> dict[str, Any]:
    _, tick, step, imf, mmf, funding, _ = MARKETS[ticker]
    return {"ticker": ticker, "clobPairId": str(clob), "status": "ACTIVE", "oraclePrice": text(price),
            "nextFundingRate": text(funding), "initialMarginFraction": text(imf),
            "maintenanceMarginFraction": text(mmf), "openInterest": "1234.5", "atomicResolution": -9,
            "quantumConversionExponent": -9, "tickSize": text(tick), "stepSize": text(step),
            "stepBaseQuantums": 1_000_000, "subticksPerTick": 100_000, "marketType": "CROSS",
            "openInterestLowerCap": "0", "openInterestUpperCap": "0"}


def _tape(index: int, ticker: str) -> MarketTape:
    price, tick, step, _, _, funding, volume = MARKETS[ticker]
    candles = synthetic_candles(ticker, T0 - 60 * HISTORY, HISTORY + LIVE, price, tick, step,
                                random.Random(index), volatility=0.002, trades_per_minute=40.0,
                                base_volume=volume)
    book = BookShape(bids=[(level, volume / 8) for level in range(15)],
                     asks=[(level, volume / 8) for level in range(15)], spread_ticks=1)
    return MarketTape(ticker, candles, tick, step, book, funding,
                      rng=random.Random(10 + index))


def build_recording(out: Path) -> Path:
    """REST markets and candle history, then one WebSocket session: subscriptions, snapshots and `LIVE`
    minutes of batched updates. The same every time, byte for byte."""
    tapes = [_tape(i, ticker) for i, ticker in enumerate(MARKETS)]
    markets = {tape.ticker: _market(tape.ticker, i, Decimal(tape.candles[HISTORY]["open"]))
               for i, tape in enumerate(tapes)}
    past = {tape.ticker: tape.candles[:HISTORY][::-1] for tape in tapes}  # newest first, as the indexer sends
    writer = RecordingWriter(out)
    bodies = [("/v4/perpetualMarkets", {"markets": markets})] + [
        (f"/v4/candles/perpetualMarkets/{ticker}?resolution=1MIN&limit={HISTORY}", {"candles": candles})
        for ticker, candles in past.items()]
    for i, (path, body) in enumerate(bodies):
        writer.add_rest(REST_URL + path, 200, json.dumps(body).encode(), T0 - 5 + i, T0 - 4.9 + i)
    session = MessageIds(random.Random(1))
    writer.ws_open(1, T0 - 2, "/v4/ws")
    writer.ws_message(1, T0 - 1.9, False, session.connected())
    subscriptions: list[tuple[str, str | None, Any]] = [("v4_markets", None, {"markets": markets})]
    for tape in tapes:
        subscriptions += [
            ("v4_orderbook", tape.ticker, initial_book(tape, Decimal(tape.candles[HISTORY]["open"]))),
            ("v4_trades", tape.ticker, {"trades": []}),
            ("v4_candles", f"{tape.ticker}/1MIN", {"candles": past[tape.ticker][:20]}),
        ]
    for i, (channel, ident, contents) in enumerate(subscriptions):
        request = {"type": "subscribe", "channel": channel, **({"id": ident} if ident else {}), "batched": True}
        writer.ws_message(1, T0 - 1.8 + 0.1 * i, True, json.dumps(request).encode())
        writer.ws_message(1, T0 - 1.75 + 0.1 * i, False, session.subscribed(channel, ident, contents))
    end = T0
    for t, channel, batch_id, updates in batched(merge_markets(tapes, HISTORY)):
        writer.ws_message(1, t, False, session.batch(channel, batch_id, updates))
        end = t
    writer.ws_close(1, end + 1.0, 1000, True)
    writer.close(network="mainnet", upstream=REST_URL, provenance={"synthetic": "SYNTHETIC: every figure"})
    return out


def _moved(frame: Frame, t: float) -> Frame:
    return msgspec.structs.replace(frame, t=t)


def with_faults(frames: list[Frame]) -> tuple[list[Frame], dict[int, Step]]:
    """The recording's frames with live-session faults spliced in, and the kill switch's moments."""
    book = next(i for i, f in enumerate(frames) if b'"channel_batch_data"' in f.data
                and b'"v4_orderbook","id":"ETH-USD"' in f.data and f.t > T0 + 300)
    snapshot = next(f for f in frames if b'"subscribed"' in f.data and b'"v4_orderbook","id":"ETH-USD"' in f.data)
    malformed = Frame(t=0.0, kind="ws", conn=1, data=b'{"type":"channel_data","connection_id":"c","message_id":'
                      b'99999,"channel":"v4_trades","id":"ETH-USD","contents":{"trades":[{"size":"1"}]}}')
    out = list(frames)
    splices = [  # from the back, so the indices before each splice stay put
        (int(len(out) * 0.6), malformed),
        (book + 40, snapshot),  # the fresh snapshot the resync asked for
        (book + 1, frames[book]),  # the same book message again: its message_id does not increase
        # a second connection of the source drops and comes back (it carries no subscription, so no
        # snapshot has to follow: that cascade is data health's own tests' business)
        (book - 100, status_frame(0.0, SourceStatus("connected", conn=2))),
        (book - 160, status_frame(0.0, SourceStatus("reconnecting", conn=2, reason="connection reset"))),
    ]
    for index, frame in splices:
        out.insert(index, _moved(frame, out[index].t))
    kill = int(len(out) * 0.8)
    return out, {kill: lambda graph: graph.kill_switch.kill(flatten=True, source="test"),
                 kill + 300: lambda graph: graph.kill_switch.reset(source="test")}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Frame], dict[int, Step]]:
    recording = build_recording(tmp_path_factory.mktemp("golden") / "recording")
    return with_faults(list(open_recording(recording).frames()))


# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("order", "golden"), [(HEADLESS, "graph-headless-order"), (OUTPUTS, "graph-field-order")],
                         ids=["headless-order", "field-order"])
def test_outputs_are_pinned(request: pytest.FixtureRequest, session: tuple[list[Frame], dict[int, Step]],
                            order: tuple[str, ...], golden: str) -> None:
    frames, steps = session
    check_golden(request, golden, graph_lines(frames, order, between=steps))


def test_two_runs_give_the_same_bytes(session: tuple[list[Frame], dict[int, Step]]) -> None:
    frames, steps = session
    assert graph_lines(frames, between=steps) == graph_lines(frames, between=steps)


def test_the_session_reaches_every_layer(session: tuple[list[Frame], dict[int, Step]]) -> None:
    """The golden means something only if the session drives every layer, faults included."""
    frames, steps = session
    events = [json.loads(encoded) for encoded in graph_lines(frames, between=steps)]
    assert {event["kind"] for event in events} == set(OUTPUTS)
    reasons = " | ".join(event["reason"] for event in events if event["kind"] == "risk")
    for fault in ("disconnected: conn 2", "(resyncing)", "v4_trades:ETH-USD (error)",
                  "kill switch (test, flatten)", "reset (test)"):
        assert fault in reasons
    flattened = [event for event in events if event["kind"] == "orders" and event.get("status") == "FILLED"
                 and event["client_id"] >= 1 << 31]
    assert {event["market"] for event in flattened} == set(MARKETS)


def decisions_and_printed(lines: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Every line but the indicators' and the scores', and the closed scores (`--no-ui` prints those)."""
    events = [(encoded, json.loads(encoded)) for encoded in lines]
    return ([encoded for encoded, event in events if event["kind"] not in ("indicators", "scores")],
            [encoded for encoded, event in events if event["kind"] == "scores" and event["closed"]])


@pytest.mark.parametrize("frames_of", ["golden session", "bundled recording"])
def test_only_the_snapshots_the_strategy_acts_on_leave_every_decision_as_it_was(
        session: tuple[list[Frame], dict[int, Step]], frames_of: str) -> None:
    frames, steps = session if frames_of == "golden session" else (
        list(open_recording(DEFAULT_RECORDING).frames()), {})
    every = graph_lines(frames, between=steps)
    demanded = graph_lines(frames, between=steps, all_snapshots=False)
    assert decisions_and_printed(demanded) == decisions_and_printed(every)
    assert b'"kind":"orders"' in b"".join(decisions_and_printed(every)[0])  # decisions were taken
    snapshots = [sum(b'"kind":"indicators"' in encoded for encoded in lines) for lines in (demanded, every)]
    assert snapshots[0] < snapshots[1] / 2  # and most snapshots were never made


def test_a_run_that_differs_is_shown_from_its_first_different_event(
        session: tuple[list[Frame], dict[int, Step]]) -> None:
    frames, steps = session
    lines = graph_lines(frames, between=steps)
    event = json.loads(lines[1000])
    changed = [*lines[:1000], json.dumps({**event, "t": event["t"] + 1}).encode() + b"\n", *lines[1001:]]
    with pytest.raises(pytest.fail.Exception) as failed:
        compare_golden("graph-headless-order", changed)
    said = str(failed.value).splitlines()
    assert said[0] == f"golden graph-headless-order: event 1001 differs ({len(lines)} events, the golden has " \
                      f"{len(lines)})"
    assert said[1:4] == [f"  {i + 1}: {lines[i].decode().rstrip()}" for i in range(997, 1000)]  # what led there
    assert said[4] == f"- 1001: {lines[1000].decode().rstrip()}" and said[5].startswith("+ 1001: ")
    assert said[6] == "  fields that differ: t"

    with pytest.raises(pytest.fail.Exception) as failed:
        compare_golden("graph-headless-order", lines[:-1])
    assert f"+ {len(lines)}: (the run ended here)" in str(failed.value)
