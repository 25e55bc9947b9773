"""Shared fixtures. Tests run on recorded data; the real Indexer captures in ../shared/dydx-samples are
read in place (never copied) and tests that need them skip with a reason when the folder is absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "dydx-samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"real Indexer captures not available at {SAMPLES} (a fresh clone has no ../shared)")
    return SAMPLES


def load_sample(samples_dir: Path, relative: str) -> Any:
    """A sample's JSON; nautilus-2025 REST captures are unwrapped from their `result` envelope."""
    data = json.loads((samples_dir / relative).read_text())
    if isinstance(data, dict) and "requestId" in data and "result" in data:
        return data["result"]
    return data
