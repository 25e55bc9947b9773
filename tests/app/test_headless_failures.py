"""`--no-ui` when something goes wrong: an exception in the graph (raised, or flowing as an error) ends the
run with "stopped:" naming it, the summary and exit 1, instead of a dead thread and progress for ever; a
reader that closes stdout is a clean stop (exit 0); stdout that cannot be written is exit 1; a speed that
cannot be scheduled is refused before anything runs; an unreachable indexer is said on stderr, not only in
stdout's health lines."""

from __future__ import annotations

import errno
import io
import json
import signal
import socket
import textwrap
from collections.abc import Callable

import pytest
from reactivex import Observable

import app.headless
from app.cli import main
from app.headless import HeadlessOptions, run_headless
from app.sources import ReplaySource
from streams.config import Config
from streams.graph import build_graph
from streams.kernel import rx
from streams.sources.endpoints import Endpoints
from streams.sources.live import LiveConfig
from tests.support.processes import CHILD_TIMEOUT, Child, app_argv

FAIL_AT = 100
"""The frame at which an injected component fails: well inside the bundled recording."""


class ComponentBrokeError(Exception):
    pass


def raising_at(n: int) -> Callable[[Observable], Observable]:
    """A component between the frames and the graph that raises on its `n`th frame."""
    seen = [0]

    def component(frame):
        seen[0] += 1
        if seen[0] == n:
            raise ComponentBrokeError(f"frame {n}")
        return frame

    return rx.map(component)


def erroring_at(n: int) -> Callable[[Observable], Observable]:
    """A component that ends its stream with an error on its `n`th frame, as RxPY passes a callback's
    exception on: the error is a value, nothing is raised."""

    def operator(source: Observable) -> rx.Stream:
        def attach(on_next, on_error, on_completed, scheduler):
            seen = [0]

            def each(frame):
                seen[0] += 1
                if seen[0] == n:
                    on_error(ComponentBrokeError(f"frame {n} as an error"))
                elif seen[0] < n:
                    on_next(frame)

            return source.subscribe(each, on_error, on_completed, scheduler=scheduler)

        return rx.Stream(attach)

    return operator


def with_component(monkeypatch: pytest.MonkeyPatch, component) -> None:
    monkeypatch.setattr(app.headless, "build_graph",
                        lambda frames, *args, **kwargs: build_graph(frames.pipe(component), *args, **kwargs))


def run(out: io.BytesIO | None = None, speed: float | None = None) -> tuple[int, list[dict], str]:
    out = out if out is not None else io.BytesIO()
    err = io.StringIO()
    code = run_headless(HeadlessOptions(config=Config(), replay=ReplaySource.open(None, speed), out=out, err=err))
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


raising = raising_at(FAIL_AT)


@pytest.mark.parametrize("component", [raising, erroring_at(FAIL_AT)], ids=["raised", "as-error"])
def test_a_failing_component_ends_the_run_naming_it(component, monkeypatch):
    with_component(monkeypatch, component)
    code, lines, err = run()
    assert code == 1
    (stopped,) = [line for line in err.splitlines() if "stopped:" in line]
    assert stopped.startswith("stopped: graph failed: ComponentBrokeError: frame 100")
    assert "(tests/app/test_headless_failures.py:" in stopped or component is not raising  # where
    summary = lines[-1]
    assert summary["kind"] == "summary" and summary["stopped"] == stopped.removeprefix("stopped: ")
    assert summary["frames"] == FAIL_AT, "nothing was replayed after the failure"
    assert "Traceback" not in err


def test_a_failing_component_stops_a_real_time_replay_too(monkeypatch):
    # at 1x the bundled hour would run for an hour: only the failure ends this run
    with_component(monkeypatch, raising_at(3))
    code, lines, err = run(speed=1.0)
    assert code == 1 and "stopped: graph failed: ComponentBrokeError: frame 3" in err
    assert lines[-1]["kind"] == "summary" and lines[-1]["frames"] == 3


class _Stdout(io.BytesIO):
    """stdout whose `lines`+1st write fails with `error`."""

    def __init__(self, lines: int, error: OSError) -> None:
        super().__init__()
        self.left, self.error = lines, error

    def write(self, data) -> int:
        if self.left == 0:
            raise self.error
        self.left -= 1
        return super().write(data)


def test_a_reader_that_closes_stdout_is_a_clean_stop():
    code, lines, err = run(_Stdout(1, BrokenPipeError(errno.EPIPE, "Broken pipe")))
    assert code == 0 and len(lines) == 1 and lines[0]["kind"] != "summary"
    assert err.rstrip().endswith("stopped: stdout closed")


def test_stdout_that_cannot_be_written_is_a_failure():
    code, lines, err = run(_Stdout(2, OSError(errno.ENOSPC, "No space left on device")))
    assert code == 1 and len(lines) == 2
    assert err.rstrip().endswith("stopped: stdout: No space left on device")


def test_stdout_failing_on_the_summary_itself_is_a_failure():
    _, every, _ = run()
    code, lines, err = run(_Stdout(len(every) - 1, OSError(errno.ENOSPC, "No space left on device")))
    assert code == 1 and lines == every[:-1]
    assert err.rstrip().endswith("stopped: stdout: No space left on device")


@pytest.mark.parametrize("speed", ["1e-300", "inf", "-inf", "nan", "0", "-2", "1e999"])
def test_a_speed_that_cannot_be_scheduled_is_refused_in_one_line(speed, capsys):
    assert main(["--no-ui", f"--speed={speed}"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"dydx-bot: speed must be a positive number from 0.001 to 1000000 or 'max', not {speed!r}"]
    assert captured.out == ""


def _quiet(err: str) -> None:
    assert "Traceback" not in err and "Exception ignored" not in err, err


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_head_1_is_a_clean_stop(tmp_path):
    bot = " ".join(app_argv("--no-ui", "--speed", "max"))
    script = f"{bot} 2>{tmp_path / 'err'} | head -1 >{tmp_path / 'out'}; echo ${{PIPESTATUS[0]}}"
    with Child(["bash", "-c", script], home=tmp_path) as child:
        assert child.said("stdout") == ["0\n"]
        assert child.wait() == 0
    err = (tmp_path / "err").read_text()
    _quiet(err)
    assert err.rstrip().endswith("stopped: stdout closed")
    assert json.loads((tmp_path / "out").read_text())["kind"] != "summary"


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_stdout_to_dev_full_is_one_line_and_exit_1(tmp_path):
    bot = " ".join(app_argv("--no-ui", "--speed", "max"))
    with Child(["bash", "-c", f"{bot} >/dev/full; echo $?"], home=tmp_path) as child:
        err = "".join(child.said("stderr"))
        assert child.said("stdout") == ["1\n"]
    _quiet(err)
    assert [line for line in err.splitlines() if "stopped" in line or "dydx-bot" in line] == [
        "stopped: stdout: No space left on device"]


BROKEN_CHILD = textwrap.dedent("""
    import sys
    import app.headless
    from app.cli import main
    from streams.graph import build_graph
    from streams.kernel import rx

    def component(frame):
        if frame.t > 0:
            raise ZeroDivisionError("injected")
        return frame

    app.headless.build_graph = lambda frames, *a, **k: build_graph(frames.pipe(rx.map(component)), *a, **k)
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_the_command_with_a_failing_component_exits_1_with_a_summary(tmp_path):
    import sys

    with Child([sys.executable, "-c", BROKEN_CHILD, "--no-ui", "--speed", "1"], home=tmp_path) as child:
        out, err = child.said("stdout"), "".join(child.said("stderr"))
        assert child.wait() == 1
    _quiet(err)
    assert "stopped: graph failed: ZeroDivisionError: injected (" in err
    summary = json.loads(out[-1])
    assert summary["kind"] == "summary" and summary["stopped"].startswith("graph failed: ZeroDivisionError")


class _StopOnceSaid(io.StringIO):
    """stderr that stops the run (SIGINT, as Ctrl-C) once every one of `wanted` was said."""

    def __init__(self, *wanted: str) -> None:
        super().__init__()
        self.wanted = set(wanted)

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.wanted:
            self.wanted = {w for w in self.wanted if w not in self.getvalue()}
            if not self.wanted:
                signal.raise_signal(signal.SIGINT)
        return written


def test_an_unreachable_indexer_is_said_on_stderr():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoints = Endpoints(rest=f"http://127.0.0.1:{port}", ws=f"ws://127.0.0.1:{port}/v4/ws")
    live = LiveConfig(endpoints, ("BTC-USD",), rest_attempts=1)
    out, err = io.BytesIO(), _StopOnceSaid("; reconnecting in ", "failed: ")
    assert run_headless(HeadlessOptions(config=Config(), live=live, out=out, err=err)) == 0
    said = [line for line in err.getvalue().splitlines() if line.startswith("dydx-bot: live: ")]
    assert any("Connection refused" in line and "; reconnecting in " in line for line in said), said
    assert any(line.startswith("dydx-bot: live: /v4/perpetualMarkets failed: ") for line in said), said
    assert json.loads(out.getvalue().splitlines()[-1])["stopped"] == "SIGINT"


def test_a_failing_component_ends_a_live_run_too(monkeypatch):
    # the source's own status frames (connecting, reconnecting) reach the graph even with no indexer
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with_component(monkeypatch, raising_at(1))
    live = LiveConfig(Endpoints(rest=f"http://127.0.0.1:{port}", ws=f"ws://127.0.0.1:{port}/v4/ws"), ("BTC-USD",))
    out, err = io.BytesIO(), io.StringIO()
    assert run_headless(HeadlessOptions(config=Config(), live=live, out=out, err=err)) == 1
    assert "stopped: graph failed: ComponentBrokeError: frame 1 (tests/app/test_headless_failures.py:" in err.getvalue()
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["kind"] == "summary" and summary["stopped"].startswith("graph failed: ComponentBrokeError")
