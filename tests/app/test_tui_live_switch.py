"""`l` switches the running dashboard between the recording and the live indexer (here the loopback
replay server playing the same recording to the real live source): the graph is rebuilt over the new
source, the panels rebind, and an indexer that cannot be reached is retried (as headless does) while the
current source plays on, until `l` gives it up.

Nothing waits on a clock: the tests await the switch (the live source's `connected`) and the first values
of the new graph, with a hang guard; conflation runs on virtual time advanced by the test.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any, TypeVar

import pytest
from reactivex import Observable
from textual.pilot import Pilot

from app import sources
from app.backend import LiveSession, ReplaySession
from streams.sources.endpoints import Endpoints
from streams.sources.live import LiveConfig
from streams.sources.pacing import BackoffPolicy
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import LIVE, build_recording
from tests.support.servers import replay_server

GUARD = 10.0  # seconds: a hang guard, never a measurement
SIZE = (120, 40)
T = TypeVar("T")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording")


def live_at(rest: str, ws: str) -> LiveConfig:
    """The recording's own live config, pointed at the loopback server, with quick pacing and backoff."""
    return LiveConfig(Endpoints(rest, ws), LIVE.markets, candle_history=LIVE.candle_history, subscribe_rate=100.0,
                      reconnect=BackoffPolicy(base=0.05, cap=0.2))


async def first(values: Observable[T]) -> T:
    """The next value of a hot stream emitting on this loop."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    subscription = values.subscribe(lambda value: future.done() or future.set_result(value))
    try:
        return await asyncio.wait_for(future, GUARD)
    finally:
        subscription.dispose()


def ended(values: Observable[Any]) -> bool:
    """Whether a stream has completed (a completed subject completes every new subscriber at once)."""
    done: list[bool] = []
    values.subscribe(on_completed=lambda: done.append(True)).dispose()
    return bool(done)


async def switched(dash: Dashboard) -> Any:
    await asyncio.wait_for(dash.app.workers.wait_for_complete(), GUARD)
    return dash.app.backend.session


async def toasts(pilot: Pilot) -> str:
    """The text of the notifications on screen (shown once the app has had a turn)."""
    await pilot.pause()
    return "\n".join(str(toast.render()) for toast in pilot.app.screen.query("Toast"))


def where(dash: Dashboard) -> str:
    return str(dash.app.query_one("#where").render())


async def test_l_switches_to_live_and_back_without_restarting(recording: Path) -> None:
    with replay_server(recording, speed=1.0, idle_at_end=True) as (rest, ws):  # updates keep coming
        dash = Dashboard.on(recording, live=live_at(rest, ws))
        async with dash.app.run_test(size=SIZE, notifications=True) as pilot:
            replay = await dash.started()
            await dash.settle(pilot, 30)
            assert dash.app.view.model.followed == {"BTC-USD", "ETH-USD"}

            await pilot.press("l")
            live = await switched(dash)
            assert isinstance(live, LiveSession) and live.name == "127.0.0.1:" + rest.rsplit(":", 1)[1]
            book = await first(live.graph.books)
            await dash.settle(pilot)
            view = dash.app.view
            assert view.session is live and book.market in view.model.followed
            assert where(dash).startswith(" LIVE ")
            assert dash.app.query_one("MarketsPanel KeyedRows").keys == sorted(view.model.followed)
            dash.scheduler.advance_by(60)  # the replay was closed: its clock moves nothing any more
            assert replay.replayer.paused
            halted = asyncio.ensure_future(first(live.graph.risk))
            await pilot.press("k", "y")  # on the live graph, right here on the loop
            assert (await halted).state == "HALTED"
            await pilot.press("space")
            assert "replay controls need a recording" in await toasts(pilot)

            await pilot.press("l")
            again = await switched(dash)
            assert isinstance(again, ReplaySession) and again is not replay and again.name == "recording"
            assert ended(live.source.frames)
            await dash.started()
            await dash.settle(pilot, 30)
            assert dash.app.view.session is again and where(dash).startswith(" REPLAY ")

            await pilot.press("l")  # live again: the server has played its one recorded session, and says so
            pending = await reconnecting(dash)
            assert "recording exhausted: all 1 WebSocket session(s) on /v4/ws were played" in pending.connection.reason
            dash.app.render_status()
            assert "recording exhausted" in where(dash)
            await pilot.press("l")
            assert await switched(dash) is again


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def reconnecting(dash: Dashboard) -> LiveSession:
    """The live session a switch is starting, once its first connection attempt failed."""
    async def failed() -> LiveSession:
        while not (isinstance(pending := dash.app.backend.pending, LiveSession)
                   and pending.connection.state == "reconnecting"):
            await asyncio.sleep(0.01)  # the source's own threads and timers: polled, under the guard
        return pending

    return await asyncio.wait_for(failed(), GUARD)


async def test_an_unreachable_indexer_is_retried_as_headless_does_while_the_replay_plays_on(recording: Path) -> None:
    port = closed_port()
    dash = Dashboard.on(recording, live=live_at(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v4/ws"))
    async with dash.app.run_test(size=SIZE, notifications=True) as pilot:
        replay = await dash.started()
        await dash.settle(pilot, 30)
        await pilot.press("l")
        pending = await reconnecting(dash)
        dash.app.render_status()
        assert "reconnecting in" in where(dash) and "(l: give up)" in where(dash)
        position = replay.replayer.position
        await dash.settle(pilot, 30)
        assert replay.replayer.position > position and dash.app.view.session is replay
        await pilot.press("l")  # gives the attempt up
        assert await switched(dash) is replay
        assert pending.connection.state == "down" and "reconnecting" not in where(dash)
        message = dash.app.view.model.log_state().entries[-1].text
        assert message.startswith(f"live 127.0.0.1:{port}: given up connecting to ws://127.0.0.1:{port}/v4/ws after ")
        assert message.endswith("; still on recording")
        assert sum("reconnecting with backoff" in entry.text for entry in dash.app.view.model.log_state().entries) <= 1


async def test_starting_live_without_an_indexer_leaves_the_app_usable(recording: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "DEFAULT_RECORDING", recording)
    port = closed_port()
    target = live_at(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v4/ws")
    dash = Dashboard.on(recording, start=target, live=target)
    async with dash.app.run_test(size=SIZE, notifications=True) as pilot:
        await reconnecting(dash)
        dash.app.sample_performance()
        assert where(dash).startswith("no source") and "reconnecting in" in where(dash)
        assert str(dash.app.query_one("#perf").render()) == "—/s  e2e —  182MB"
        for key in ("space", "n", "plus", "minus", "g", "right_square_bracket", "k", "y"):
            await pilot.press(key)  # replay keys explain themselves; the rest have nothing to act on
        assert "replay controls need a recording" in await toasts(pilot)
        await pilot.press("l")  # gives the connection up
        assert await switched(dash) is None
        assert f"given up connecting to ws://127.0.0.1:{port}/v4/ws" in await toasts(pilot)
        await pilot.press("l")  # to a recording: it had none, so the bundled one
        session = await switched(dash)
        assert isinstance(session, ReplaySession) and session.source.recording.path == recording
