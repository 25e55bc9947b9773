"""The source switch without the UI: sessions on recordings in virtual time, what a switch keeps and
closes, control calls posted to the replay's thread, and problems reported rather than raised."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reactivex.scheduler import HistoricalScheduler

from app.backend import Backend, LiveSession
from streams.graph import build_graph
from streams.kernel.status import SourceStatus
from streams.market.books import ResyncRequest
from streams.sources.endpoints import Endpoints
from streams.sources.live import LiveConfig
from streams.sources.recording import FLOWS
from streams.sources.recording_writer import RecordingWriter
from tests.support.dashboard import TICK
from tests.support.dashboard_recording import LIVE, T0, build_recording
from tests.support.servers import replay_server

GUARD = 10.0  # seconds: a hang guard, never a measurement


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording", minutes=2)


class Notes(list):
    def __call__(self, message: str, severity: str) -> None:
        self.append((severity, message))


def backend(notes: Notes, scheduler: HistoricalScheduler, live: LiveConfig = LIVE, **options: Any) -> Backend:
    return Backend(build_graph, notes, live=live, live_name="test", replay_scheduler=scheduler, **options)


async def test_a_switch_starts_the_new_session_then_closes_the_old(recording: Path) -> None:
    notes, scheduler = Notes(), HistoricalScheduler()
    switch = backend(notes, scheduler)
    first = switch.open_replay(recording)
    assert await switch.switch(first) and switch.session is first and switch.last_replay is first.source
    scheduler.advance_by(30)
    assert first.replayer.position > T0 - 5 and first.progress(first.replayer.position) > 0

    second = switch.replay(first.source, at=T0 + 60, paused=True)
    books: list[Any] = []
    second.attach(second.graph.books.subscribe(books.append))
    assert await switch.switch(second) and switch.session is second
    scheduler.advance_by(TICK)
    assert second.replayer.paused and second.replayer.position <= T0 + 60 < second.replayer.position + 1
    assert books  # the UI bound before the start saw the snapshots
    position = first.replayer.position
    scheduler.advance_by(60)
    assert first.replayer.paused and first.replayer.position == position  # closed
    await switch.close()
    assert switch.session is None and notes == []


async def test_a_recording_that_cannot_be_opened_is_reported(tmp_path: Path) -> None:
    notes = Notes()
    assert backend(notes, HistoricalScheduler()).open_replay(tmp_path / "nothing") is None
    assert notes == [("error", f"cannot open the recording: {tmp_path / 'nothing'}: no such recording")]


async def test_a_recording_damaged_further_in_ends_the_replay_with_a_notification(recording: Path,
                                                                                  tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.mitm"
    flows = (recording / FLOWS).read_bytes()
    damaged.write_bytes(flows[: len(flows) // 2] + b"garbage")  # a plain flow file, cut in its second flow
    notes, scheduler = Notes(), HistoricalScheduler()
    switch = backend(notes, scheduler)
    session = switch.open_replay(damaged)
    done: list[bool] = []
    session.attach(session.replayer.frames.subscribe(on_completed=lambda: done.append(True)))
    assert await switch.switch(session)
    scheduler.advance_by(TICK)
    assert done and session.replayer.status.value.done
    assert notes[0][0] == "error" and notes[0][1].startswith(f"replay stopped: {damaged}: damaged after")


async def test_controls_run_on_the_replay_thread_in_order(recording: Path) -> None:
    scheduler = HistoricalScheduler()
    session = backend(Notes(), scheduler).open_replay(recording, speed=2.0)
    await session.start()
    session.toggle_pause()
    session.set_speed(None)
    assert session.speed is None and session.replayer.speed == 2.0  # asked for, not yet taken
    scheduler.advance_by(TICK)
    assert session.replayer.paused and session.replayer.speed is None
    emitted = session.replayer.status.value.emitted
    session.step(3)
    session.seek(T0 + 30)
    scheduler.advance_by(TICK)
    status = session.replayer.status.value
    assert status.paused and status.emitted > emitted + 3 and status.t <= T0 + 30
    session.toggle_pause()
    scheduler.advance_by(TICK)
    assert session.replayer.status.value.done  # at max speed the rest plays at once
    await session.close()


def test_progress_needs_the_span_of_the_manifest(recording: Path) -> None:
    session = backend(Notes(), HistoricalScheduler()).open_replay(recording)
    start, end = session.span
    assert (session.progress(None), session.progress(start - 10), session.progress(end + 10)) == (None, 0.0, 1.0)
    session.span = None
    assert session.progress(start) is None


def mute_indexer(path: Path) -> Path:
    """A recording whose server waits for a subscribe before it says `connected`: a live source never
    gets an answer from it."""
    writer = RecordingWriter(path)
    writer.ws_open(1, T0, "/v4/ws")
    writer.ws_message(1, T0 + 0.1, True, b'{"type":"subscribe","channel":"v4_markets","batched":true}')
    writer.ws_message(1, T0 + 0.2, False, b'{"type":"connected","connection_id":"c","message_id":0}')
    writer.close(network="mainnet", upstream="https://indexer.dydx.trade", provenance={"built_by": __name__})
    return path


async def test_a_live_start_waits_for_a_connection_until_given_up_and_the_current_source_stays(
        recording: Path, tmp_path: Path) -> None:
    with replay_server(mute_indexer(tmp_path / "mute")) as (rest, ws):
        notes, scheduler = Notes(), HistoricalScheduler()
        live = LiveConfig(Endpoints(rest, ws), ("BTC-USD",), candle_history=0)
        switch = backend(notes, scheduler, live)
        replay = switch.open_replay(recording)
        await switch.switch(replay)
        session = switch.open_live()
        starting = asyncio.ensure_future(switch.switch(session))
        await asyncio.wait_for(until(lambda: switch.pending is session), GUARD)
        assert session.connection.state == "connecting"
        session.on_status(SourceStatus("reconnecting", attempt=3, delay=2.0, reason="closed", code=1006))
        session.give_up()
        assert not await asyncio.wait_for(starting, GUARD)
    assert switch.session is replay and switch.pending is None and session.connection.state == "down"
    assert ("error", f"live test: given up connecting to {ws} after 3 attempts (last: closed (code 1006)); "
                     "still on recording") in notes


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0)


async def test_a_live_session_says_each_change_of_its_connection_once_and_each_failed_request() -> None:
    notes, now = Notes(), [100.0]
    session = LiveSession(LIVE, "test", build_graph, notes, clock=lambda: now[0])
    session.on_status(SourceStatus("connected"))
    assert session.connection.text(now[0]) == "live"
    for attempt in (1, 2):
        session.on_status(SourceStatus("reconnecting", reason="closed", code=1006, delay=2.5, attempt=attempt))
    assert session.connection.text(now[0]) == "reconnecting in 3 s (attempt 2): closed (code 1006)"
    now[0] += 2
    assert session.connection.text(now[0]).startswith("reconnecting in 1 s")
    session.on_status(SourceStatus("connected"))
    session.on_status(SourceStatus("error", path="/v4/perpetualMarkets", status=503, reason="unavailable"))
    session.on_status(SourceStatus("subscribed", channel="v4_markets"))
    session.resync(ResyncRequest(T0, "v4_orderbook", "DOGE-USD", "crossed"))
    assert notes == [
        ("warning", "live: closed (code 1006); reconnecting with backoff"),  # once for both attempts
        ("information", "live: reconnected"),
        ("error", "live: /v4/perpetualMarkets failed: unavailable"),
        ("warning", "live: not subscribed to v4_orderbook:DOGE-USD"),
    ]
    await session.close()
