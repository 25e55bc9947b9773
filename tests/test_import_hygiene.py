"""The headless path never loads Textual (as harlequin proves of its own core): `dydx-bot --no-ui` and the
whole stream graph run on a machine where the dashboard's packages are never imported. And a replay loads
none of the live path's libraries (the live client, the chain's signing stack, the recorder's proxy, the
replay server), which took most of a second of start-up."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from tests.support.processes import Child

HEADLESS_PATH = ("app.cli", "app.commands.run", "app.headless", "app.sources", "streams.graph", "streams.config")
SHOW_LOADED = """
import importlib, json, sys
for name in {path!r}:
    importlib.import_module(name)
sys.modules["app.cli"].build_parser()  # as `dydx-bot` does before it runs anything
sys.modules["streams.graph"].build_graph(sys.modules["reactivex"].empty())
print(json.dumps(sorted(m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in {packages!r}))))
"""
TEXTUAL = ("textual", "widgets", "textual_plotext")
# (the live client's small enum of candle resolutions, which the subscriptions name, is allowed)
LIVE = ("dydx_v4_client.node", "dydx_v4_client.network", "dydx_v4_client.key_pair", "dydx_v4_client.wallet",
        "dydx_v4_client.indexer.socket", "dydx_v4_client.indexer.rest", "v4_proto", "grpc", "bip_utils", "httpx",
        "aiohttp", "keyring", "websocket", "mitmproxy.proxy", "mitmproxy.addons", "streams.execution.live_broker",
        "streams.sources.live", "streams.sources.recorder", "streams.sources.replay_server")


@pytest.mark.parametrize("packages", [TEXTUAL, LIVE], ids=["textual", "live path"])
def test_the_headless_replay_path_imports_none_of(packages: tuple[str, ...], tmp_path: Path) -> None:
    script = SHOW_LOADED.format(path=HEADLESS_PATH, packages=packages)
    with Child([sys.executable, "-c", script], home=tmp_path) as child:
        loaded = json.loads(child.line() or "null")
        assert child.wait() == 0
    assert loaded == []


def test_no_test_imports_from_conftest() -> None:
    """conftest.py holds fixtures, which pytest injects; what tests import lives in tests/support (importing
    a conftest runs it twice, under two module names, and hides what a test depends on)."""
    tests = Path(__file__).parent
    offenders = [str(path.relative_to(tests)) for path in tests.rglob("*.py")
                 if any(isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "conftest"
                        or isinstance(node, ast.Import) and any(a.name.split(".")[-1] == "conftest" for a in node.names)
                        for node in ast.walk(ast.parse(path.read_text())))]
    assert offenders == []
