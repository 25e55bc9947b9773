"""The dashboard's screens (help, kill switch confirmation, jump to time, open recording) over a replay
at a fixed position, the time syntax of the jump, and `run_tui` end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from app import tui
from app.screens.confirm import ConfirmScreen
from app.screens.jump_to_time import parse_time
from app.screens.open_recording import bundled_recordings
from app.sources import ReplaySource
from streams.config import Config
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import T0, build_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording", minutes=3)


@pytest.mark.parametrize("keys", [("question_mark",), ("k",), ("K",), ("g", *"+5m"), ("o",)],
                         ids=["help", "kill", "kill-flatten", "jump", "open"])
def test_snapshot(snap_compare, recording: Path, keys: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tui, "bundled_recordings", lambda: [Path("recordings/default"), Path("/data/capture.mitm")])
    dash = Dashboard.on(recording)

    async def open_screen(pilot: Pilot) -> None:
        await dash.play_to(pilot, T0 + 60)
        await pilot.press(*keys)
        for field in pilot.app.screen.query(Input):  # a blinking cursor is drawn or not by the wall clock
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(dash.app, terminal_size=(80, 24), run_before=open_screen)


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NOW = utc("2025-01-02T10:20:42")


@pytest.mark.parametrize(("text", "expected"), [
    ("+90", NOW + 90), ("+5m", NOW + 300), ("-30s", NOW - 30), ("+1.5h", NOW + 5400), ("- 2 m", NOW - 120),
    ("14:05", utc("2025-01-02T14:05:00")), ("09:00:30", utc("2025-01-02T09:00:30")),
    ("2025-01-01 23:59", utc("2025-01-01T23:59:00")), ("2025-01-03T00:00:01Z", utc("2025-01-03T00:00:01")),
    (" 2025-01-03 00:00:01 ", utc("2025-01-03T00:00:01")),
])
def test_times_read_as_offsets_clock_times_or_dates_in_utc(text: str, expected: float) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "25:00", "+5d", "2025-13-01 10:00"])
def test_anything_else_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a time: .* \(try 14:05"):
        parse_time(text, NOW)


def test_bundled_recordings_are_directories_with_a_manifest_or_flow_files(recording: Path, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "capture.mitm").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("")
    recording_link = tmp_path / "session"
    recording_link.symlink_to(recording)
    assert bundled_recordings(tmp_path) == [tmp_path / "capture.mitm", recording_link]
    assert bundled_recordings(tmp_path / "absent") == []


def test_run_tui_runs_the_dashboard_until_quit(recording: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[str] = []

    async def quit_once_started(pilot: Pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        shown.append(pilot.app.backend.session.name)
        await pilot.press("q")
        if isinstance(pilot.app.screen, ConfirmScreen):  # at full speed the strategy may hold a position by now
            await pilot.press("y")

    run = tui.DashboardApp.run
    monkeypatch.setattr(tui.DashboardApp, "run",
                        lambda app: run(app, headless=True, size=(80, 24), auto_pilot=quit_once_started))
    assert tui.run_tui(config=Config(), replay=ReplaySource.open(recording, None)) == 0
    assert shown == ["recording"]
    assert capsys.readouterr().out.startswith("dydx-bot: replay recording: ")  # the session summary
