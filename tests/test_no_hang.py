"""No test can hang the suite: every read of a child's output has a deadline, every child writes unbuffered
into a home of its own, and a test that waits without a deadline is failed by the suite's timeout while the
rest of the suite goes on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.processes import Child

SILENT_CHILD = "import time; print('ready'); time.sleep(60)"
"""Says one line without flushing it, then hangs: only unbuffered output lets a reader see the line."""


def test_a_read_from_a_silent_child_gives_up_at_its_deadline_with_what_it_said(tmp_path: Path) -> None:
    with Child([sys.executable, "-c", SILENT_CHILD], home=tmp_path) as child:
        assert child.line() == "ready\n"
        with pytest.raises(TimeoutError, match=r"no line within 0.2 s on stdout; it said: \['ready\\n'\]"):
            child.line(timeout=0.2)
    assert child.returncode is not None  # killed and reaped on the way out


def test_a_child_writes_unbuffered_into_a_home_under_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # as in a stranger's minimal environment
    show = "import json, os, sys; print(json.dumps([os.environ.get('PYTHONUNBUFFERED'), os.environ['HOME']]))"
    with Child([sys.executable, "-c", show], home=tmp_path / "home") as child:
        said = json.loads(child.line() or "null")
    assert said == ["1", str(tmp_path / "home")]


def test_the_suite_has_a_timeout_for_every_test(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) > 0


HUNG_TEST = """
import subprocess, sys

def test_waits_on_a_hung_child():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # no deadline of its own: only the suite's timeout ends this
    finally:
        child.kill()
        child.wait()

def test_after_it():
    pass
"""


def test_a_hung_child_fails_its_test_within_the_timeout_and_the_suite_goes_on(pytester: pytest.Pytester
                                                                              ) -> None:
    pytester.makepyfile(test_hung=HUNG_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "timeout=2", timeout=60)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_waits_on_a_hung_child*", "*Failed: Timeout (>2.0s) from pytest-timeout*"])
