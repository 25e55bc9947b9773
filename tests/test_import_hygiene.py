"""The headless path never loads Textual (as harlequin proves of its own core): `dydx-bot --no-ui` and the
whole stream graph run on a machine where the dashboard's packages are never imported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.processes import Child

HEADLESS_PATH = ("app.cli", "app.commands.run", "app.headless", "streams.graph", "streams.config")
SHOW_LOADED = f"""
import importlib, json, sys
for name in {HEADLESS_PATH!r}:
    importlib.import_module(name)
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & {{"textual", "widgets", "textual_plotext"}})))
"""


def test_the_headless_path_imports_no_textual_module(tmp_path: Path) -> None:
    with Child([sys.executable, "-c", SHOW_LOADED], home=tmp_path) as child:
        loaded = json.loads(child.line() or "null")
        assert child.wait() == 0
    assert loaded == []
