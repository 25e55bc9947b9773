"""Errors are notifications and the dashboard stays usable: a missing bundled recording at start, and a
layer of the graph that fails."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import reactivex
from reactivex import Observable

from app import sources
from streams.graph import Graph, build_graph
from streams.kernel.frames import Frame
from streams.sources.subscriptions import Staleness
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import T0, build_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording", minutes=2)


async def test_without_the_bundled_recording_the_app_starts_empty_and_says_why(
        recording: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "DEFAULT_RECORDING", tmp_path / "default")
    dash = Dashboard.on(recording, start=None)
    async with dash.app.run_test(size=(80, 24), notifications=True) as pilot:
        await dash.app.workers.wait_for_complete()
        await pilot.pause()
        assert dash.app.backend.session is None
        toast = str(dash.app.screen.query_one("Toast").render())
        assert toast == f"cannot open the recording: {tmp_path / 'default'}: no such recording"
        await pilot.press("o")  # usable: a recording can be opened
        assert dash.app.screen.query_one("Input")


def failing_markets(frames: Observable[Frame], *, staleness: Staleness) -> Graph:
    graph = build_graph(frames, staleness=staleness)
    return dataclasses.replace(graph, markets=graph.markets.pipe(
        reactivex.operators.map(lambda info: 1 / 0 if info.t > T0 + 30 else info)))


async def test_a_failing_layer_is_reported_and_the_rest_keeps_going(recording: Path) -> None:
    dash = Dashboard.on(recording, graph_factory=failing_markets)
    async with dash.app.run_test(size=(80, 24), notifications=True) as pilot:
        await dash.started()
        for _ in range(60):  # a second at a time: the UI takes in each second's batches before the next
            await dash.settle(pilot, 1)
        assert "the markets stream failed: ZeroDivisionError" in str(dash.app.screen.query_one("Toast").render())
        log = [entry.text for entry in dash.app.view.model.log_state().entries]
        assert log[-1].startswith("the markets stream failed: ZeroDivisionError")
        model = dash.app.view.model
        book = model.books["BTC-USD"]
        await dash.settle(pilot, 30)
        # that stream ended with the first market update it failed on (whatever was still on its way to the
        # screen when the failure was reported came before it), and the others go on
        assert model.markets["BTC-USD"].t <= T0 + 30 < model.books["BTC-USD"].t
        assert model.books["BTC-USD"].t > book.t
