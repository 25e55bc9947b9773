"""The whole dashboard at 80x24 and 160x48, driven by recordings replayed to fixed positions in virtual
time: normal and de-risking on the bundled recording (for de-risking, the ladder's rungs tightened so the
strategy's positions climb them), and errors on a small recording with a corrupt book update, plus a
recording that cannot be opened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from app.sources import DEFAULT_RECORDING
from streams.config import Config
from streams.signals.overlays import ChartConfig
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import T0, build_recording
from widgets.views import Views

SIZES = {"80x24": (80, 24), "120x36": (120, 36), "140x40": (140, 40), "160x48": (160, 48), "200x60": (200, 60)}
"""Every size the layout changes between (issue 15): each visible panel readable at each."""

TIGHT_RISK = msgspec.convert({
    "strategy": {"risk_per_market": "1", "horizon": 3600, "max_margin_usage": "0.8", "dead_zone": 0.05},
    "risk": {"max_leverage": "50", "max_position_notional": "10000000",
             "no_new_risk": {"enter_usage": "0.05", "exit_usage": "0.04", "enter_distance": "0.15",
                             "exit_distance": "0.2"},
             "reduce": {"enter_usage": "0.10", "exit_usage": "0.08", "enter_distance": "0.08",
                        "exit_distance": "0.1"}},
}, Config)
"""The strategy sizes up to 80 % margin usage and the ladder reduces from 10 %: on the bundled recording,
REDUCE from 1337 s in (margin usage 55 %)."""


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {"bundled": DEFAULT_RECORDING,
            "corrupt": build_recording(tmp_path_factory.mktemp("dashboard") / "corrupt", corrupt_book_at=T0 + 100)}


def scenario(recordings: dict[str, Path], state: str) -> tuple[Dashboard, Callable[[Pilot], Awaitable[Any]]]:
    if state == "normal":
        dash = Dashboard.on(recordings["bundled"])
        return dash, lambda pilot: dash.play_to(pilot, dash.start + 1800)
    if state == "de-risking":
        dash = Dashboard.on(recordings["bundled"], config=TIGHT_RISK)
        return dash, lambda pilot: dash.play_to(pilot, dash.start + 1340)
    dash = Dashboard.on(recordings["corrupt"])

    async def errors(pilot: Pilot) -> None:
        await dash.play_to(pilot, T0 + 101)
        await pilot.press("o")
        pilot.app.screen.query_one(Input).value = "recordings/missing"
        await pilot.press("enter")

    return dash, errors


CASES = [("normal", size) for size in SIZES] + [(state, size) for state in ("de-risking", "error")
                                                 for size in ("80x24", "160x48")]
"""The layout at every size in the normal state; de-risking and errors at the two sizes they always had."""


@pytest.mark.parametrize(("state", "size"), CASES, ids=[f"{state}-{size}" for state, size in CASES])
def test_snapshot(snap_compare, recordings: dict[str, Path], state: str, size: str) -> None:
    dash, run_before = scenario(recordings, state)
    assert snap_compare(dash.app, terminal_size=SIZES[size], run_before=run_before)


VIEW_CASES = [(view, "120x36") for view in ("pnl", "book", "market", "health")] + [("signals", "80x24"),
                                                                                   ("pnl", "80x24")]
"""Each view of the bottom panel (below 120 columns signals is one of them)."""


@pytest.mark.parametrize(("view", "size"), VIEW_CASES, ids=[f"{view}-{size}" for view, size in VIEW_CASES])
def test_views(snap_compare, recordings: dict[str, Path], view: str, size: str) -> None:
    dash, play = scenario(recordings, "normal")

    async def run_before(pilot: Pilot) -> None:
        await play(pilot)
        views = pilot.app.query_one(Views)
        while views.current != view:
            await pilot.press("v")

    assert snap_compare(dash.app, terminal_size=SIZES[size], run_before=run_before)


CHART_CASES = [(overlay, False, "120x36") for overlay in ("ema", "bollinger", "vwap", "all")] + [
    ("all", True, size) for size in ("80x24", "160x48")] + [("none", True, "200x60")]
"""The chart with our fills marked (every normal case has them), each overlay, and volume under the candles."""


@pytest.mark.parametrize(("overlay", "volume", "size"), CHART_CASES,
                         ids=[f"{overlay}{'-volume' * volume}-{size}" for overlay, volume, size in CHART_CASES])
def test_chart(snap_compare, recordings: dict[str, Path], overlay: str, volume: bool, size: str) -> None:
    chart = ChartConfig(overlay=overlay, volume=volume)  # type: ignore[arg-type]  # an Overlay, from CHART_CASES
    dash = Dashboard.on(recordings["bundled"], config=Config(chart=chart))
    assert snap_compare(dash.app, terminal_size=SIZES[size],
                        run_before=lambda pilot: dash.play_to(pilot, dash.start + 1800))
