"""The chart's keys, driven by the Pilot on a replayed recording: `i` cycles the overlays, `u` toggles the
volume bars, both start as the config's `[chart]` says, and the footer and help screen name them."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding

from app.screens.help import HelpScreen
from streams.config import Config
from streams.signals.overlays import ChartConfig
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import T0, build_recording
from widgets.candle_chart import CandleChart, CandleChartPanel

SIZE = (80, 24)
TALL = (160, 48)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording")


def braille(text: str) -> bool:
    return any("\u2800" <= char <= "\u28ff" for char in text)


async def test_i_cycles_the_overlays_and_the_title_names_them(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=TALL) as pilot:
        await dash.play_to(pilot, T0 + 600)
        panel, chart = dash.app.query_one(CandleChartPanel), dash.app.query_one(CandleChart)
        assert panel.border_title == "BTC-USD · 1MIN"
        assert not braille(chart.render().plain)
        titles = []
        for _ in range(5):
            await pilot.press("i")
            titles.append((chart.overlay, str(panel.border_title)))
            assert braille(chart.render().plain) == (chart.overlay != "none")
        assert titles == [("ema", "BTC-USD · 1MIN · EMA 20"), ("bollinger", "BTC-USD · 1MIN · BB 20 2"),
                          ("vwap", "BTC-USD · 1MIN · VWAP 60"),
                          ("all", "BTC-USD · 1MIN · EMA 20 · BB 20 2 · VWAP 60"), ("none", "BTC-USD · 1MIN")]


async def test_u_toggles_the_volume_bars_under_the_candles(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 600)
        panel, chart = dash.app.query_one(CandleChartPanel), dash.app.query_one(CandleChart)
        frames = chart.render().plain.count("└")
        await pilot.press("u")
        assert chart.volume and panel.border_title == "BTC-USD · 1MIN · vol"
        assert chart.render().plain.count("└") == frames + 1  # a second plot, under the candles
        await pilot.press("u")
        assert not chart.volume and chart.render().plain.count("└") == frames


async def test_the_title_says_when_the_chart_is_too_short_for_volume(recording: Path) -> None:
    dash = Dashboard.on(recording, config=Config(chart=ChartConfig(volume=True)))
    async with dash.app.run_test(size=(120, 36)) as pilot:  # the chart has 8 rows there: 5 of candles, not 4 more
        await dash.play_to(pilot, T0 + 600)
        panel, chart = dash.app.query_one(CandleChartPanel), dash.app.query_one(CandleChart)
        assert chart.volume and not chart.volume_fits
        assert panel.border_title == "BTC-USD · 1MIN · vol: too short"
        frames = chart.render().plain.count("└")
        await pilot.resize_terminal(*TALL)
        await dash.steady(pilot)
        assert chart.volume_fits and panel.border_title == "BTC-USD · 1MIN · vol"
        assert chart.render().plain.count("└") == frames + 1


async def test_the_chart_starts_as_the_config_says(recording: Path) -> None:
    config = Config(chart=ChartConfig(overlay="vwap", volume=True, vwap_period=30))
    dash = Dashboard.on(recording, config=config)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 600)
        assert dash.app.query_one(CandleChartPanel).border_title == "BTC-USD · 1MIN · VWAP 30 · vol"


async def test_the_help_names_the_chart_s_keys_which_leave_the_full_footer_as_it_was(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.started()
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = [str(static.render()) for static in pilot.app.screen.query("#keys > Static")]
        assert shown[shown.index("i"):shown.index("i") + 6] == [
            "i", "chart overlay",
            "the chart's next overlay: none, EMA, Bollinger bands, VWAP, all (its title names it)",
            "u", "chart volume", "volume bars under the chart's candles"]
    in_footer = {binding.key for binding in dash.app.BINDINGS if isinstance(binding, Binding) and binding.show}
    assert not {"i", "u"} & in_footer
