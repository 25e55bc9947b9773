"""`dydx-bot --no-ui`: the same graph as the dashboard as JSON lines - every line has `t` and `kind`,
progress goes to stderr, a finite replay exits 0 with a summary, SIGINT/SIGTERM stop cleanly."""

from __future__ import annotations

import io
import json
import os
import signal
from decimal import Decimal

import pytest

from app.cli import main
from app.headless import HeadlessOptions, Progress, progress_line, run_headless
from app.sources import DEFAULT_RECORDING, ReplaySource
from streams.config import Config
from tests.support.processes import CHILD_TIMEOUT, Child, app_argv

KINDS = {"candle", "score", "risk", "intent", "blocked", "order", "fill", "account", "health", "summary"}


def headless(speed: float | None = None) -> tuple[list[dict], str]:
    out, err = io.BytesIO(), io.StringIO()
    code = run_headless(HeadlessOptions(config=Config(), replay=ReplaySource.open(None, speed), out=out, err=err))
    assert code == 0
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


@pytest.fixture(scope="module")
def bundled() -> tuple[list[dict], str]:
    return headless()


def test_every_line_is_an_event_with_time_and_kind(bundled):
    lines, _ = bundled
    assert lines and all(set(line) >= {"t", "kind"} for line in lines)
    assert {line["kind"] for line in lines} <= KINDS
    times = [line["t"] for line in lines if line["kind"] != "summary"]
    assert times == sorted(times), "event time never goes backwards"


def test_the_replay_trades_and_reports_why(bundled):
    lines, _ = bundled
    kinds = {line["kind"] for line in lines}
    assert {"candle", "score", "intent", "order", "fill", "health"} <= kinds
    score = next(line for line in lines if line["kind"] == "score" and line["score"] != 0)
    assert -1 <= score["score"] <= 1
    assert abs(sum(c["contribution"] for c in score["contributors"]) - score["score"]) < 1e-9
    intent = next(line for line in lines if line["kind"] == "intent")
    assert intent["what_if"]["margin_usage"] is not None and intent["reason"]
    fill = next(line for line in lines if line["kind"] == "fill")
    assert fill["fill_kind"] == "TRADE" and isinstance(fill["price"], str)  # decimals stay exact strings


def test_a_finite_replay_ends_with_a_summary(bundled):
    lines, err = bundled
    summary = lines[-1]
    assert summary["kind"] == "summary" and summary["stopped"] == "end of recording"
    assert summary["frames"] == 13_273
    counted = {kind: sum(1 for line in lines if line["kind"] == kind) for kind in summary["printed"]}
    assert counted == summary["printed"]
    fills = [line for line in lines if line["kind"] == "fill"]
    assert summary["trades"] == len(fills) and Decimal(summary["fees"]) == sum(Decimal(f["fee"]) for f in fills)
    parts = (Decimal(summary[key]) for key in ("realized_pnl", "unrealized_pnl", "fees", "funding"))
    realized, unrealized, fees, funding = parts
    assert Decimal(summary["net_pnl"]) == realized + unrealized - fees + funding
    # the PnLs are printed to USDC's 1e-6, so net is the change of equity to within that rounding
    assert abs(Decimal(summary["net_pnl"]) - (Decimal(summary["equity"]) - Decimal(summary["start_equity"]))) \
        <= Decimal("0.000002")
    assert all(Decimal(summary[key]).as_tuple().exponent >= -6 for key in ("realized_pnl", "unrealized_pnl"))
    assert 0 <= summary["win_rate"] <= 1 and 0 < summary["round_trips"] <= summary["trades"]
    assert "replaying default at max speed" in err and "stopped: end of recording" in err


def test_the_account_is_a_line_at_the_start_and_after_each_fill_or_funding_payment(bundled):
    lines, _ = bundled
    accounts = [line for line in lines if line["kind"] == "account"]
    fills = [line for line in lines if line["kind"] == "fill"]
    assert accounts[0]["trades"] == 0 and accounts[0]["equity"] == accounts[0]["start_equity"]
    assert len(fills) < len(accounts) and [a["trades"] for a in accounts] == sorted(a["trades"] for a in accounts)
    for before, after in zip(accounts, accounts[1:], strict=False):
        assert (before["trades"], before["funding"]) != (after["trades"], after["funding"])
    summary = lines[-1]
    assert {key: accounts[-1][key] for key in ("trades", "fees", "funding")} == {
        key: summary[key] for key in ("trades", "fees", "funding")}


def test_progress_off_a_terminal_is_whole_lines_with_how_far_and_when_it_ends(bundled):
    _, err = bundled  # a StringIO: not a terminal
    assert "\r" not in err
    lines = err.splitlines()
    assert lines[0] == "replaying default at max speed" and lines[-1] == "stopped: end of recording"
    assert all(" frames, event time " in line for line in lines[1:-1]) and lines[-2].endswith(", 100% (ETA 0:00:00)")


def test_a_progress_line_says_how_far_and_the_time_left_when_the_span_is_known():
    t0 = 1_722_013_072.0
    assert progress_line(1200, t0 + 900, 3.0, (t0, t0 + 3600)) == (
        "1,200 frames, event time 2024-07-26 17:12:52 UTC, 400 frames/s, 25% (ETA 0:00:09)")
    assert progress_line(0, None, 0.0, (t0, t0 + 3600)) == "0 frames, event time - UTC, 0 frames/s"
    assert progress_line(5, t0, 1.0, None) == "5 frames, event time 2024-07-26 16:57:52 UTC, 5 frames/s"


def test_progress_on_a_terminal_is_rewritten_in_place():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    progress = Progress(err)
    progress.show(10, None)
    progress.show(20, None)
    progress.say("stopped: SIGINT")
    assert err.getvalue().startswith("\r10 frames") and "\r20 frames" in err.getvalue()
    assert err.getvalue().endswith("frames/s\nstopped: SIGINT\n")


def test_the_same_replay_prints_the_same_bytes(bundled):
    again, _ = headless()
    assert again == bundled[0]


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_the_command_line_runs_headless_and_exits_0(tmp_path):
    with Child(app_argv("--no-ui", "--speed", "max"), home=tmp_path) as child:
        lines = child.said("stdout")
        err = "".join(child.said("stderr"))
        assert child.wait() == 0, err
    assert json.loads(lines[-1])["kind"] == "summary" and all(line.startswith('{"t":') for line in lines)
    assert "frames/s" in err


@pytest.mark.timeout(CHILD_TIMEOUT)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_cleanly_with_a_summary(sig, tmp_path):
    # real time: the bundled hour would take an hour, so the signal always arrives mid-replay
    with Child(app_argv("--no-ui", "--speed", "1"), home=tmp_path) as child:
        assert child.line("stderr").startswith("replaying default")
        child.send_signal(sig)
        out, err = child.said("stdout"), "".join(child.said("stderr"))
        assert child.wait() == 0, err
    summary = json.loads(out[-1])
    assert summary["kind"] == "summary" and summary["stopped"] == sig.name
    assert f"stopped: {sig.name}" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--no-ui", "--speed", "fast"], "speed must be a positive number or 'max'"),
    (["--no-ui", "--replay", "/nonexistent/rec"], "/nonexistent/rec: no such recording"),
    (["--no-ui", "--markets", "BTC-USD"], "say where live data comes from: headless, add --live"),
    (["--no-ui", "--network", "testnet"], "say where live data comes from: headless, add --live"),
    (["--no-ui", "--live", "--rest-url", "ftp://x"], "REST"),
])
def test_bad_arguments_are_one_clear_line(argv, message, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (1, 2) and message in err and "Traceback" not in err


def test_a_bad_config_names_the_key(tmp_path, capsys):
    config = tmp_path / "bot.toml"
    config.write_text("[signals.weights]\nrsi = -1\n")
    assert main(["--no-ui", "--config", str(config)]) == 2
    assert "signals.weights.rsi" in capsys.readouterr().err


def test_the_default_recording_is_the_bundled_one():
    assert ReplaySource.open().recording.path == DEFAULT_RECORDING and os.path.isdir(DEFAULT_RECORDING)


class _Watch(io.BytesIO):
    """stdout that pulls signals as lines appear: SIGUSR2 on the first fill, SIGINT once the halted
    account's first closing order is out (events decide, not timing)."""

    def __init__(self) -> None:
        super().__init__()
        self.pulled: list[signal.Signals] = []
        self.halted = False

    def write(self, data: bytes) -> int:  # called on the graph's thread; the signal lands on the main one
        if b'"kind":"fill"' in data and not self.pulled:
            self._pull(signal.SIGUSR2)
        elif b'"state":"HALTED"' in data:
            self.halted = True
        elif self.halted and b'"kind":"intent"' in data and self.pulled == [signal.SIGUSR2]:
            self._pull(signal.SIGINT)
        return super().write(data)

    def _pull(self, sig: signal.Signals) -> None:
        self.pulled.append(sig)
        os.kill(os.getpid(), sig)


def test_sigusr2_pulls_the_kill_switch_and_flattens():
    out, err = _Watch(), io.StringIO()
    code = run_headless(HeadlessOptions(config=Config(), replay=ReplaySource.open(None, 50.0), out=out, err=err))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 0 and out.pulled == [signal.SIGUSR2, signal.SIGINT]
    (halted,) = [line for line in lines if line["kind"] == "risk" and line["state"] == "HALTED"]
    assert "kill switch" in halted["reason"] and "signal" in halted["reason"] and halted["flatten"]
    after = lines[lines.index(halted):]
    closing = [line for line in after if line["kind"] == "intent"]
    assert closing and all(intent["reduce_only"] for intent in closing)
    assert lines[-1]["kind"] == "summary" and lines[-1]["stopped"] == "SIGINT"
