"""The UI is sampled at a bounded rate: however fast the replay, each panel is rendered at most ten times a
second (here at 100x in virtual time, so the count is exact and the same every run)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from app.tui import PANEL_STATES
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import build_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording")


async def test_each_panel_renders_at_most_ten_times_a_second(recording: Path, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    dash = Dashboard.on(recording, speed=100.0)
    renders: dict[tuple[str, str | None], list[object]] = defaultdict(list)
    """(panel class, panel id) -> when it rendered: a panel both beside and a view (signals) is two."""
    for widget, _state in PANEL_STATES.values():
        original = widget.render_state

        def counted(panel, state, original=original, name=widget.__name__) -> None:
            renders[name, panel.id].append(dash.scheduler.now)
            original(panel, state)

        monkeypatch.setattr(widget, "render_state", counted)
    async with dash.app.run_test(size=(160, 48)) as pilot:
        session = await dash.started()
        for _ in range(60):  # six virtual seconds: the whole recording at 100x
            await dash.settle(pilot, 0.1)
        assert session.replayer.status.value.done and session.meter.count > 1000
    assert {name for name, _id in renders} == {widget.__name__ for widget, _ in PANEL_STATES.values()}
    counts = {f"{name}#{ident}": len(times) for (name, ident), times in renders.items()}
    # one render when the source is shown, then one per batch: at most ten a second over six seconds
    assert max(counts.values()) <= 1 + 10 * 6 + 1, counts
    assert counts["MarketsPanel#None"] > 40, counts  # and the hot panels do render that often
