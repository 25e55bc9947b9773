"""Children that tests start: each in an environment of its own, each read of its output with a deadline.

A child writes to a pipe in blocks unless told otherwise (Python buffers stdout when it is not a
terminal, and so does mitmdump), so a test waiting for a line that sits in the child's buffer waits for
ever. Every child here runs with `PYTHONUNBUFFERED=1` and a HOME under the test's `tmp_path` (mitmproxy's
CA, a keyring, any dotfile stay out of the user's home), and its output is read by threads into queues,
so that a read gives up at its deadline with what the child had said so far.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, AnyStr, Generic

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0
"""Seconds a test waits for a child's next line or its exit: a guard against hangs, never a measurement."""
CHILD_TIMEOUT = 90
"""pytest-timeout's limit for a test that runs a child (the suite's default is looser): the last guard,
should a wait in the test itself have no deadline."""


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment for a child: unbuffered output and a home of its own."""
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(home), **extra}


def app_argv(*args: str) -> list[str]:
    """`dydx-bot ARGS` as a child: the same interpreter, the package as installed."""
    return [sys.executable, "-m", "app", *args]


class _Lines(Generic[AnyStr]):
    """A pipe read line by line on a daemon thread; `next(timeout)` waits at most `timeout`."""

    def __init__(self, pipe: IO[AnyStr], name: str) -> None:
        self._lines: queue.Queue[AnyStr | None] = queue.Queue()
        self.seen: list[AnyStr] = []
        self.ended = False
        self._thread = threading.Thread(target=self._read, args=(pipe,), name=f"child-{name}", daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[AnyStr]) -> None:
        try:
            for line in iter(pipe.readline, pipe.read(0)):
                self._lines.put(line)
        except ValueError:  # the pipe was closed under us: the child is being killed
            pass
        finally:
            self._lines.put(None)

    def next(self, timeout: float) -> AnyStr | None:
        """The next line, None at the end of the output; TimeoutError after `timeout` seconds."""
        if self.ended:
            return None
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no line within {timeout:g} s") from None
        if line is None:
            self.ended = True
        else:
            self.seen.append(line)
        return line

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class Child(Generic[AnyStr]):
    """A subprocess whose stdout and stderr (when piped) are read with deadlines. As a context manager it
    is killed and reaped on the way out, whatever the test did."""

    def __init__(self, argv: list[str], *, home: Path, text: bool = True, stdin: bool = False,
                 merge_stderr: bool = False, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
        self.argv = argv
        self.process = subprocess.Popen(
            argv, cwd=cwd, env={**child_env(home), **(env or {})}, text=text,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE)
        assert self.process.stdout is not None
        self.stdout: _Lines[AnyStr] = _Lines(self.process.stdout, "stdout")
        self.stderr: _Lines[AnyStr] | None = None
        if self.process.stderr is not None:
            self.stderr = _Lines(self.process.stderr, "stderr")

    # -- reading ----------------------------------------------------------------------------------

    def _stream(self, name: str) -> _Lines[AnyStr]:
        stream = self.stdout if name == "stdout" else self.stderr
        assert stream is not None, f"{name} is not piped"
        return stream

    def line(self, stream: str = "stdout", timeout: float = DEADLINE) -> AnyStr | None:
        """The child's next line on `stream`, None once it ended; a TimeoutError naming the command and
        what it had said if none comes within `timeout`."""
        lines = self._stream(stream)
        try:
            return lines.next(timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"{' '.join(map(str, self.argv))}: {exc} on {stream}; it said: {lines.seen!r}"
                               ) from None

    def lines(self, stream: str = "stdout", timeout: float = DEADLINE) -> Iterator[AnyStr]:
        """Each line until the end of `stream`, each within `timeout` of the one before."""
        while (line := self.line(stream, timeout)) is not None:
            yield line

    def said(self, stream: str = "stdout", timeout: float = DEADLINE) -> list[AnyStr]:
        """Every line of `stream`, up to its end (all that was read before included)."""
        for _ in self.lines(stream, timeout):
            pass
        return self._stream(stream).seen

    # -- control ----------------------------------------------------------------------------------

    def send_signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = DEADLINE) -> int:
        return self.process.wait(timeout)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def __enter__(self) -> Child[AnyStr]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait(DEADLINE)
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.join(DEADLINE)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
