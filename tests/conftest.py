"""Shared fixtures. Tests run on recorded data; the real Indexer captures in ../shared/dydx-samples are
read in place (never copied) and tests that need them skip with a reason when the folder is absent."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import pytest_textual_snapshot  # type: ignore[import-untyped]  # the plugin ships no type information
from hypothesis import settings
from pytest_textual_snapshot import SVGImageExtension
from syrupy.location import PyTestLocation

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "dydx-samples"

# The suite is deterministic: hypothesis derives its examples from each test, so CI and a developer see the
# same cases. `HYPOTHESIS_PROFILE=explore` draws fresh random examples to hunt for new failures.
settings.register_profile("deterministic", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


pytest_plugins = ["pytester"]  # tests/test_no_hang.py runs the suite's own safeguards in a pytest of its own


def pytest_addoption(parser: pytest.Parser) -> None:
    from tests.support.golden import UPDATE_OPTION

    parser.addoption(UPDATE_OPTION, action="store_true", default=False,
                     help="write the golden JSON-lines files (tests/golden/) the selected tests compare with")


@pytest.fixture(autouse=True, scope="session")
def _a_home_of_its_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite never writes into the user's home (mitmproxy's CA, a keyring, dotfiles): HOME is a
    directory of its own for the whole run, and children inherit it (tests/support/processes.py)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        yield


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"real Indexer captures not available at {SAMPLES} (a fresh clone has no ../shared)")
    return SAMPLES


# ---------------------------------------------------------------------------------------------------
# Textual snapshots (pytest-textual-snapshot 1.1.0, pinned: this reaches into its extension class)

SNAPSHOTS = ROOT / "snapshots"


class TopLevelSnapshots(SVGImageExtension):
    """SVG snapshots in the top-level `snapshots/<test module>/` instead of beside each test."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOTS / test_location.basename)


@pytest.fixture
def _snapshots_at_top_level(monkeypatch: pytest.MonkeyPatch) -> None:
    # the plugin's `snap_compare` picks its extension class up when it is set up, which is next
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", TopLevelSnapshots)


@pytest.fixture
def snap_compare(_snapshots_at_top_level: None, snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    return snap_compare
