"""A replay recovers from a resync as live does, though nobody can answer its request: the book that kept
crossing asks for a fresh snapshot, data health says "resyncing" and the ladder holds new risk, until the
next snapshot in the recording or, without one, until the book stops crossing. Then the bot trades again.

On the graph test's generated recording (`tests.test_graph_golden.build_recording`, SYNTHETIC), with
crosses injected into six ETH-USD book updates in a row, as an indexer's drifting book would send them.
"""

from __future__ import annotations

import json

import msgspec
import pytest
from reactivex.subject import Subject

from streams.graph import build_graph
from streams.kernel.frames import Frame
from streams.kernel.orders import OrderIntent
from streams.market.state import StreamHealth
from streams.risk.ladder import RiskState
from streams.sources.recording import open_recording
from tests.test_graph_golden import T0, build_recording

BOOK = b'"v4_orderbook","id":"ETH-USD"'
CROSSED = 6  # more than the books' 5 crossed updates in a row that ask for a resync


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[Frame]:
    return list(open_recording(build_recording(tmp_path_factory.mktemp("recovery") / "recording")).frames())


def crossed(frames: list[Frame], after: float) -> tuple[list[Frame], int]:
    """`frames` with the first `CROSSED` ETH-USD book updates after `after` each bidding 5 % over the
    price (the older asks below it are dropped: a cross on every one); and the index of the last."""
    out, changed, last = list(frames), 0, -1
    for i, frame in enumerate(frames):
        if changed < CROSSED and frame.t > after and b'"channel_batch_data"' in frame.data and BOOK in frame.data:
            message = json.loads(frame.data)
            message["contents"][0].setdefault("bids", []).append([str(3400 * 1.05 + changed), "1"])
            out[i] = msgspec.structs.replace(frame, data=json.dumps(message).encode())
            changed, last = changed + 1, i
    return out, last


def run(frames: list[Frame]) -> list[object]:
    source: Subject[Frame] = Subject()
    graph = build_graph(source)
    log: list[object] = []
    for output in (graph.risk, graph.orders, graph.health_changes):
        output.subscribe(log.append)
    graph.connect()
    for frame in frames:
        source.on_next(frame)
    source.on_completed()
    return log


def halted_and_resumed(log: list[object]) -> tuple[RiskState, RiskState]:
    states = [value for value in log if isinstance(value, RiskState)]
    halted = next(state for state in states if "v4_orderbook:ETH-USD (resyncing)" in state.reason)
    resumed = next(state for state in states[states.index(halted):] if state.state == "NORMAL")
    assert halted.state == "NO_NEW_RISK"
    # and it trades again: new risk goes out after the recovery
    after = log[log.index(resumed):]
    assert [value for value in after if isinstance(value, OrderIntent) and not value.reduce_only]
    return halted, resumed


def book_health(log: list[object]) -> list[StreamHealth]:
    return [value for value in log if isinstance(value, StreamHealth) and value.stream == "v4_orderbook:ETH-USD"]


def test_without_a_snapshot_the_book_that_stops_crossing_ends_the_halt(frames):
    faulty, last = crossed(frames, after=T0 + 300)
    log = run(faulty)
    halted, resumed = halted_and_resumed(log)
    assert T0 + 300 < halted.t <= faulty[last].t  # on the crosses (several in a row, or over 2 s)
    recovered = next(report for report in book_health(log) if report.t > halted.t and report.state == "ok")
    assert resumed.t == recovered.t and recovered.resyncs == 1


def test_the_next_snapshot_in_the_recording_ends_the_halt(frames):
    faulty, last = crossed(frames, after=T0 + 300)
    snapshot = next(f for f in frames if b'"subscribed"' in f.data and BOOK in f.data)
    at = faulty[last + 1].t
    faulty.insert(last + 1, msgspec.structs.replace(snapshot, t=at))  # before any update could clear it
    log = run(faulty)
    halted, resumed = halted_and_resumed(log)
    recovered = next(report for report in book_health(log) if report.t > halted.t and report.state == "ok")
    assert recovered.t == at == resumed.t and recovered.resyncs == 1
