"""Bad arguments and config files as the command line gets them: each is refused in one line before
anything starts (no replay plays, no socket opens), exit status 2 (1 for a recording that cannot be
opened), and a few run as the user runs them, in a process of their own, in an ASCII locale."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from app.cli import main
from tests.faults.test_fault_recordings import write
from tests.hardening.corpus import Bad, refuse
from tests.support.processes import CHILD_TIMEOUT, Child, app_argv


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("bad-arguments") / "rec")[0]


@pytest.fixture
def where(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(built, tmp_path / "rec")
    monkeypatch.chdir(tmp_path)  # what an empty path would mean
    return tmp_path


def fixed(*argv: str) -> Callable[[Path], Sequence[str]]:
    return lambda where: [arg.replace("REC", str(where / "rec")) for arg in argv]


def config(text: str, *argv: str) -> Callable[[Path], Sequence[str]]:
    def make(where: Path) -> Sequence[str]:
        (where / "bot.toml").write_text(text, encoding="utf-8")
        return ["--no-ui", "--speed", "max", "--replay", str(where / "rec"), "--config", str(where / "bot.toml"),
                *argv]
    return make


ARGUMENTS = [
    Bad("--replay '' (dashboard)", fixed("--replay", ""), "dydx-bot: no recording given (an empty path)", code=1),
    Bad("--replay '' (headless)", fixed("--no-ui", "--replay", ""), "no recording given (an empty path)", code=1),
    Bad("--live --markets ' , '", fixed("--no-ui", "--live", "--markets", " , "),
        "--markets ' , ': no market named; give e.g. --markets BTC-USD,ETH-USD"),
    Bad("--live --markets ''", fixed("--no-ui", "--live", "--markets", ""), "--markets '': no market named"),
    Bad("--subaccount -1", fixed("--subaccount", "-1"),
        "argument --subaccount: expected a subaccount number from 0 to 127"),
    Bad("--subaccount 128", fixed("--subaccount", "128"), "got '128' (see dydx-bot --help)"),
    Bad("--subaccount x", fixed("--subaccount", "x"), "got 'x'"),
    Bad("serve --ping-interval nan", fixed("serve", "REC", "--ping-interval", "nan"),
        "dydx-bot serve: argument --ping-interval: expected seconds >= 0 and <= 86400, got 'nan'"),
    Bad("serve --ping-interval inf", fixed("serve", "REC", "--ping-interval", "inf"), "got 'inf'"),
    Bad("serve --ping-interval -1", fixed("serve", "REC", "--ping-interval", "-1"), "got '-1'"),
    Bad("serve --gate-timeout 0", fixed("serve", "REC", "--gate-timeout", "0"),
        "argument --gate-timeout: expected seconds > 0 and <= 86400, got '0'"),
    Bad("serve --gate-timeout nan", fixed("serve", "REC", "--gate-timeout", "nan"), "got 'nan'"),
    Bad("serve --gate-timeout 1e300", fixed("serve", "REC", "--gate-timeout", "1e300"), "got '1e300'"),
    Bad("record --duration nan", fixed("record", "--markets", "BTC-USD", "--out", "x", "--duration", "nan"),
        "dydx-bot record: argument --duration: expected seconds > 0 and <= 31622400, got 'nan'"),
    Bad("record --duration inf", fixed("record", "--markets", "BTC-USD", "--out", "x", "--duration", "inf"),
        "got 'inf'"),
    Bad("--live --rest-url http:// off the loopback",
        fixed("--no-ui", "--live", "--rest-url", "http://indexer.example.com"),
        "REST URL 'http://indexer.example.com' is unencrypted and not on this machine: use https:// or wss://"),
    Bad("--broker live --ws-url ws:// off the loopback",
        fixed("--no-ui", "--live", "--broker", "live", "--ws-url", "ws://10.0.0.1:8080/v4/ws"),
        "WebSocket URL 'ws://10.0.0.1:8080/v4/ws' is unencrypted and not on this machine"),
    Bad("record --upstream http:// off the loopback",
        fixed("record", "--markets", "BTC-USD", "--upstream", "http://indexer.example.com", "--out", "x"),
        "upstream 'http://indexer.example.com' is unencrypted and not on this machine"),
    Bad("an unknown flag", fixed("--no-ui", "--replya"), "dydx-bot: unrecognized arguments: --replya"),
    Bad("--config a directory", fixed("--config", "."), ".: cannot read the config file (Is a directory)"),
    Bad("--config missing", fixed("--config", "nowhere.toml"), "nowhere.toml: cannot read the config file"),
    Bad("signals.weights.rsi = inf", config("signals.weights.rsi = inf"),
        "bot.toml: signals.weights.rsi: expected a finite number >= 0 and <= 1000000, got inf"),
    Bad("paper.starting_usdc = inf", config("paper.starting_usdc = inf"),
        "bot.toml: paper.starting_usdc: expected a finite number >= 0 and <= 1000000000000, got inf"),
    Bad("risk.max_leverage = '1e999999999'", config('risk.max_leverage = "1e999999999"'),
        'bot.toml: risk.max_leverage: expected a finite number > 0 and <= 100, got "1e999999999"'),
    Bad("risk.daily_loss_limit = nan", config("risk.daily_loss_limit = nan"), "risk.daily_loss_limit: expected a"),
    Bad("a rung that does not climb", config("[risk.reduce]\nenter_usage = 0.45\nexit_usage = 0.4"),
        "bot.toml: risk.reduce: must be stricter than no_new_risk"),
]


@pytest.mark.parametrize("case", ARGUMENTS, ids=str)
def test_a_bad_argument_is_refused_in_one_line_before_anything_starts(case, where, capsysbinary):
    refuse(case, where, capsysbinary)


ASCII = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""}


@pytest.mark.timeout(CHILD_TIMEOUT)
@pytest.mark.parametrize("command", [(), ("margin",), ("record",), ("serve",), ("recording", "info")])
def test_help_in_an_ascii_locale_prints_and_exits_0(command, tmp_path):
    with Child(app_argv(*command, "--help"), home=tmp_path / "home", text=False, env=ASCII) as child:
        out, err = child.said(), child.said("stderr")
        assert child.wait() == 0, err
    assert b"".join(out).startswith(b"usage: dydx-bot") and err == []


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_a_refusal_in_an_ascii_locale_is_one_line_too(tmp_path):
    with Child(app_argv("--subaccount", "-1"), home=tmp_path / "home", text=False, env=ASCII) as child:
        out, err = child.said(), child.said("stderr")
        assert child.wait() == 2
    assert out == [] and len(err) == 1 and err[0].startswith(b"dydx-bot: argument --subaccount: expected")


def test_serve_on_an_address_that_is_not_the_loopback_warns_first(where, capsysbinary):
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the warning, then the refusal to listen
    assert main(["serve", str(where / "rec"), "--host", "192.0.2.1"]) == 2
    err = capsysbinary.readouterr().err.decode().splitlines()
    assert err[0] == ("dydx-bot serve: warning: --host 192.0.2.1 is not a loopback address: anyone who can reach "
                      "this machine can connect, unencrypted")
    assert err[1].startswith("dydx-bot: cannot listen on 192.0.2.1:0: ") and len(err) == 2

