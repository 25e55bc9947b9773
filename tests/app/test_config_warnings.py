"""A config that is valid but probably not what was meant (the strategy's budget at or above the NO_NEW_RISK
rung, a market to trade that the data does not have) runs, and says so: a line on stderr headless, a
notification on the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from streams.config import load_config
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import build_recording

CONFIG = '[strategy]\nmarkets = ["BTC-USD", "XRP-USD"]\nmax_margin_usage = 0.5\n'


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("warnings") / "recording", minutes=1, history=30)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_headless_prints_each_warning_on_stderr_and_runs(recording, config, capsys):
    assert main(["--no-ui", "--speed", "max", "--replay", str(recording), "--config", str(config)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"dydx-bot: warning: {config}: strategy.max_margin_usage (0.5) is not below " \
           "risk.no_new_risk.enter_usage (0.50): the strategy's own positions stop new risk" in err
    assert any(line.startswith(f"dydx-bot: warning: {config}: strategy.markets: XRP-USD not in the data (")
               for line in err)


async def test_the_dashboard_shows_each_warning_as_a_notification(recording, config):
    dash = Dashboard.on(recording, config=load_config(config), warnings=["bot.toml: strategy.markets: XRP-USD"])
    async with dash.app.run_test(size=(80, 24), notifications=True) as pilot:
        await dash.started()
        await pilot.pause()
        assert [str(toast.render()) for toast in dash.app.screen.query("Toast")] == [
            "config\nbot.toml: strategy.markets: XRP-USD"]
