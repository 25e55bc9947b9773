"""Every key binding of the dashboard, driven by the Pilot on a replayed recording in virtual time (the
live <-> replay switch is in test_tui_live_switch.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input

from app import tui
from app.screens.confirm import ConfirmScreen
from app.screens.help import HelpScreen
from app.screens.jump_to_time import JumpScreen
from app.screens.open_recording import OpenRecordingScreen
from app.tui import DashboardApp
from streams.sources.recording import FLOWS
from tests.support.dashboard import TICK, Dashboard
from tests.support.dashboard_recording import T0, build_recording
from widgets.rows import KeyedRows
from widgets.session_pnl import summary
from widgets.signals import SignalsPanel
from widgets.views import Views

SIZE = (80, 24)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording")


async def submit(pilot: Pilot, text: str) -> None:
    """Fill the input of the screen on top and press enter (long paths typed key by key take seconds)."""
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")


def last_log(app: DashboardApp) -> str:
    return app.view.model.log_state().entries[-1].text


async def test_space_pauses_and_resumes(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        session = await dash.started()
        await pilot.press("space")
        await dash.settle(pilot, 10)
        assert session.replayer.paused
        position = session.replayer.position
        await dash.settle(pilot, 60)
        assert session.replayer.position == position
        await pilot.press("space")
        await dash.settle(pilot, 60)
        assert not session.replayer.paused
        assert session.replayer.position > position
        assert "⏸" not in dash.app.query_one("#where").render().plain


async def test_n_steps_one_message_at_a_time(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        session = await dash.started()
        await dash.settle(pilot, 30)
        before = session.replayer.status.value.emitted
        await pilot.press("n", "n")
        await dash.settle(pilot, 30)
        assert session.replayer.paused
        assert session.replayer.status.value.emitted == before + 2
        assert "⏸ paused" in str(dash.app.query_one("#where").render())


async def test_plus_and_minus_step_through_the_speeds(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        session = await dash.started()
        await pilot.press("plus", "equals_sign")
        await dash.settle(pilot)
        assert session.replayer.speed == 5.0
        assert "▶ ×5" in str(dash.app.query_one("#where").render())
        await pilot.press(*["plus"] * 6)
        await dash.settle(pilot)
        assert session.replayer.speed is None  # max, and no further
        await pilot.press(*["minus"] * 12)
        await dash.settle(pilot)
        assert session.replayer.speed == 0.25


async def test_g_jumps_forward_by_seeking_and_back_by_replaying_from_the_start(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        first = await dash.started()
        await pilot.press("g")
        assert isinstance(dash.app.screen, JumpScreen)
        await pilot.press(*"10:04", "enter")
        await dash.settle(pilot, 0)
        assert first.replayer.position <= T0 + 240 < first.replayer.position + 1
        assert dash.app.view.model.t <= T0 + 240

        await pilot.press("plus", "g", *"-3m", "enter")
        second = await dash.started()
        assert second is not first and second.replayer.speed == 2.0  # the speed it played at
        assert T0 + 60 - 1 < second.replayer.position <= T0 + 60
        await dash.settle(pilot, 1)
        assert dash.app.view.session is second
        assert T0 + 59 < dash.app.view.model.t <= T0 + 62  # a second at twice the speed


async def test_g_explains_a_time_it_cannot_read_and_escape_cancels(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        session = await dash.started()
        await pilot.press("g", *"soon", "enter")
        assert isinstance(dash.app.screen, JumpScreen)
        assert "not a time: 'soon'" in str(dash.app.screen.query_one("#problem").render())
        await pilot.press("escape")
        assert not isinstance(dash.app.screen, JumpScreen)
        assert dash.app.backend.session is session


async def test_g_waits_for_a_position_in_a_recording_without_a_manifest(recording: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.mitm"  # a plain mitmproxy flow file (here its REST exchanges): no time span
    plain.write_bytes((recording / FLOWS).read_bytes())
    dash = Dashboard.on(plain)
    async with dash.app.run_test(size=SIZE, notifications=True) as pilot:
        await dash.app.workers.wait_for_complete()
        await pilot.press("g")
        await pilot.pause()
        assert not isinstance(dash.app.screen, JumpScreen)
        assert "nothing has played yet" in str(dash.app.screen.query_one("Toast").render())
        await dash.started()
        await pilot.press("g")
        assert isinstance(dash.app.screen, JumpScreen)


async def test_brackets_select_the_previous_and_next_market(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 60)
        model = dash.app.view.model
        assert model.selected == "BTC-USD"
        await pilot.press("right_square_bracket")
        assert model.selected == "ETH-USD"
        assert dash.app.query_one("CandleChartPanel").border_title == "ETH-USD · 1MIN"
        await pilot.press("right_square_bracket")
        assert model.selected == "BTC-USD"  # wraps around
        await pilot.press("left_square_bracket")
        assert model.selected == "ETH-USD"


async def test_clicking_a_market_selects_it(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 60)
        await pilot.click("MarketsPanel KeyedRows", offset=(2, 1))  # the second row
        assert dash.app.view.model.selected == "ETH-USD"
        await pilot.click("MarketsPanel KeyedRows", offset=(2, 1))  # already selected: nothing to do
        assert dash.app.view.model.selected == "ETH-USD"


@pytest.mark.parametrize(("keys", "flatten"), [(("k",), False), (("K",), True)])
async def test_k_pulls_the_kill_switch_once_confirmed(recording: Path, keys: tuple[str, ...], flatten: bool) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 60)
        await pilot.press(*keys)
        assert isinstance(dash.app.screen, ConfirmScreen)
        await pilot.press("n")  # cancelled: nothing happens
        await dash.settle(pilot)
        assert dash.app.view.model.risk is None or dash.app.view.model.risk.state != "HALTED"

        await pilot.press(*keys)
        await pilot.click("#yes")
        await dash.settle(pilot)
        risk = dash.app.view.model.risk
        assert (risk.state, risk.flatten) == ("HALTED", flatten)
        assert any("kill switch pulled" in e.text for e in dash.app.view.model.log_state().entries)


async def test_r_lifts_the_halt_once_confirmed(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 60)
        await pilot.press("k", "y")
        await dash.settle(pilot)
        await pilot.press("r", "n")
        await dash.settle(pilot)
        assert dash.app.view.model.risk.state == "HALTED"
        await pilot.press("r")
        assert isinstance(dash.app.screen, ConfirmScreen)
        await pilot.press("y")
        await dash.settle(pilot)
        assert dash.app.view.model.risk.state != "HALTED"
        assert last_log(dash.app) .startswith("risk HALTED →")


async def test_o_opens_another_recording_and_a_bad_one_is_reported(recording: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    other = build_recording(tmp_path / "other", minutes=2, seed=9)
    monkeypatch.setattr(tui, "bundled_recordings", lambda: [other])
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        first = await dash.started()
        await pilot.press("o")
        assert isinstance(dash.app.screen, OpenRecordingScreen)
        await submit(pilot, "  ")  # nothing typed: nothing happens
        await pilot.press("escape")
        assert dash.app.backend.session is first
        await pilot.press("o")
        await submit(pilot, str(tmp_path / "missing"))
        assert dash.app.backend.session is first
        assert last_log(dash.app) == f"cannot open the recording: {tmp_path / 'missing'}: no such recording"

        await pilot.press("o", "tab", "enter")  # the bundled one listed first
        second = await dash.started()
        assert second is not first and second.name == "other"
        assert dash.app.view.session is second
        assert ("source: replay other") in [entry.text for entry in dash.app.view.model.log_state().entries]


async def test_the_end_of_the_recording_is_said_and_space_and_n_then_say_why_nothing_happens(
        recording: Path) -> None:
    dash = Dashboard.on(recording, speed=None)
    async with dash.app.run_test(size=SIZE, notifications=True) as pilot:
        session = await dash.started()
        await dash.settle(pilot, 10)
        assert session.replayer.status.value.done
        logged = [entry.text for entry in dash.app.view.model.log_state().entries]
        assert logged.count(f"end of the recording recording: {tui.AFTER_THE_END}") == 1
        toasts = lambda: [str(toast.render()) for toast in dash.app.screen.query("Toast")]  # noqa: E731
        assert len(toasts()) == 1  # said once
        status = session.replayer.status.value
        for key in ("space", "n"):
            await pilot.press(key)
            await dash.settle(pilot)
            assert toasts()[-1].startswith("the recording has ended, nothing is left to play")
        assert session.replayer.status.value == status


async def test_v_shows_the_next_view_and_the_title_names_them_all(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=(120, 36)) as pilot:
        views = dash.app.query_one(Views)
        assert views.names == ["events", "pnl", "book", "trades", "market", "health"]  # signals is beside here
        assert Content.from_markup(views.border_title).plain == "Orders & events PnL Book Trades Market Data health"
        await pilot.press("v", "v", "v", "v", "v")
        assert views.current == "health" and views.query_one("#health").display
        await pilot.press("v")
        assert views.current == "events"
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert views.names == ["events", "pnl", "book", "trades", "market", "signals", "health"]
        await pilot.press("v", "v", "v", "v", "v")
        assert views.current == "signals"
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert views.current == "events"  # signals went beside: the first of the others


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_footer_shows_every_key(recording: Path, size: tuple[int, int]) -> None:
    """Every key but the desk's (t, b, c, x, X, p: on `?` and in the README), which 80 columns cannot hold."""
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=size) as pilot:
        await dash.started()
        footer = dash.app.query_one("Footer")
        for _ in range(100):  # the footer recomposes its keys after the screen's first refresh: later under load
            await pilot.pause()
            if footer.query("FooterKey"):
                break
        shown = [key for key in footer.query("FooterKey") if key.region.right <= size[0] and key.region.width]
        assert {key.key_display for key in shown} == {binding.key_display or binding.key
                                                      for binding in DashboardApp.BINDINGS if binding.show}


async def test_question_mark_shows_every_key(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(dash.app.screen, HelpScreen)
        text = "\n".join(str(static.render()) for static in dash.app.screen.query("Static"))
        for binding in DashboardApp.BINDINGS:
            assert binding.description in text
        await pilot.press("escape")
        assert not isinstance(dash.app.screen, HelpScreen)


async def test_q_quits_and_closes_the_source(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        session = await dash.started()
        await pilot.press("q")
    assert dash.app.backend.session is None
    dash.scheduler.advance_by(TICK)  # the stop posted to the replay's thread
    position = session.replayer.position
    dash.scheduler.advance_by(60)
    assert session.replayer.paused and session.replayer.position == position


async def test_q_with_open_positions_asks_first_and_the_session_summary_is_kept_for_the_exit(
        recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 170)
        held = [p.market for p in dash.app.view.model.account.positions if p.size]
        assert held, "the strategy holds a position by then"
        await pilot.press("q")
        assert isinstance(dash.app.screen, ConfirmScreen)
        assert f"open ({', '.join(held)}): quit anyway?" in dash.app.screen.question
        await pilot.press("n")
        assert dash.app.is_running and not isinstance(dash.app.screen, ConfirmScreen)
        pnl = dash.app.view.model.pnl
        assert f"PnL {pnl.net:+,.2f} fees {pnl.fees:,.2f}" in str(dash.app.query_one("#where").render())
        await pilot.press("q", "y")
    assert dash.app.exit_summary == f"replay recording: {summary(pnl)}"
    assert summary(pnl).startswith(f"net {pnl.net:+,.2f} USDC (realised ") and f"{pnl.trades} trades" in summary(pnl)



async def test_a_panel_fed_before_its_children_are_mounted_is_shown_once_they_are(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 60)
        late = SignalsPanel(id="late")
        dash.app.screen.mount(late)  # not awaited: its compose has not run when it is fed
        dash.app.show_panels({tui.SIGNALS})  # raised NoMatches (KeyedRows) before
        await dash.steady(pilot)
        markets = [score.market for score in dash.app.view.model.signals_state().scores]
        assert markets and late.query_one("#scores", KeyedRows).keys == markets
