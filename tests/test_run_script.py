"""`run.sh` runs dydx-bot in the caller's directory: a relative path on its command line (a recording, a
config, an export) is the caller's, not the project's (it used to `cd` into the project first)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.dashboard_recording import build_recording

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not any(ROOT.glob(".venv/.installed-*")), reason="run.sh would set up .venv first: ./test.sh does")
def test_relative_paths_are_the_callers(tmp_path: Path) -> None:
    build_recording(tmp_path / "mine", minutes=2)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    done = subprocess.run(["sh", str(ROOT / "run.sh"), "--no-ui", "--speed", "max", "--replay", "mine"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["kind"] == "summary" and summary["stopped"] == "end of recording"
    assert "replaying mine at max speed" in done.stderr
