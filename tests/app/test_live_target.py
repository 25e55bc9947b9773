"""Where live data comes from: the config's `[live]` section, with the command line's flags over it; without
`--live` the flags say where the dashboard's `l` switches to (headless, they need `--live`)."""

from __future__ import annotations

from typing import Any

import pytest

from app import tui
from app.cli import main
from streams.sources.endpoints import TESTNET, Endpoints

SERVE = ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/v4/ws")


@pytest.fixture
def dashboard(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the dashboard would have been started with."""
    started: dict[str, Any] = {}
    monkeypatch.setattr(tui, "run_tui", lambda **options: started.update(options) or 0)
    return started


def test_network_without_live_is_where_l_switches_to(dashboard: dict[str, Any]) -> None:
    assert main(["--network", "testnet", "--markets", "sol-usd"]) == 0
    assert dashboard["live"] is None and dashboard["replay"] is not None  # it starts on the recording
    assert (dashboard["target"].endpoints, dashboard["target"].markets) == (TESTNET, ("SOL-USD",))


def test_the_config_names_the_target_and_flags_win_over_it(tmp_path, dashboard: dict[str, Any]) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f'[live]\nrest_url = "{SERVE[0]}"\nws_url = "{SERVE[1]}"\nmarkets = ["ETH-USD"]\n')
    assert main(["--config", str(config)]) == 0
    assert (dashboard["target"].endpoints, dashboard["target"].markets) == (Endpoints(*SERVE), ("ETH-USD",))
    assert main(["--config", str(config), "--ws-url", "ws://127.0.0.1:9/v4/ws", "--live"]) == 0
    assert dashboard["live"].endpoints == Endpoints(SERVE[0], "ws://127.0.0.1:9/v4/ws")


def test_a_bad_target_in_the_config_names_its_key(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[live]\nws_url = "http://127.0.0.1:8080"\n')
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f'{config}: live.ws_url: expected a ws or wss URL such as wss://host[:port], got "http://127.0.0.1:8080"' \
        in err and "Traceback" not in err
