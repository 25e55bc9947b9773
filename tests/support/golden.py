"""Golden files of JSON lines: what a test's run emitted, kept readable (`tests/golden/<name>.jsonl.gz`,
`zcat` shows it), so that a failure names the first event that differs, with the events before it.

Re-pin deliberately, after a change meant to alter what is emitted: `pytest --update-golden <tests>` writes
the goldens those tests compare with (off by default; say in the commit what changed and why).
"""

from __future__ import annotations

import difflib
import gzip
import json
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE_OPTION = "--update-golden"
CONTEXT = 3
"""Events shown before the first that differs."""


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.jsonl.gz"


def check_golden(request: pytest.FixtureRequest, name: str, lines: list[bytes]) -> None:
    """Fail unless `lines` are the golden `name`'s, naming the first that differs; with `--update-golden`,
    write them as the golden instead."""
    path = golden_path(name)
    if request.config.getoption(UPDATE_OPTION):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(b"".join(lines), compresslevel=9, mtime=0))  # the same bytes each time
        return
    compare_golden(name, lines)


def compare_golden(name: str, lines: list[bytes]) -> None:
    """Fail unless `lines` are the golden `name`'s, naming the first that differs (never writes it)."""
    path = golden_path(name)
    if not path.exists():
        pytest.fail(f"{path.relative_to(GOLDEN.parent.parent)}: no golden yet; write it with {UPDATE_OPTION}",
                    pytrace=False)
    expected = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    if lines != expected:
        pytest.fail(first_difference(name, expected, lines), pytrace=False)


def first_difference(name: str, expected: list[bytes], actual: list[bytes]) -> str:
    """Where two runs part: the line number, the events before it, and both versions of the first that
    differs with the fields that differ."""
    at = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
              min(len(expected), len(actual)))
    report = [f"golden {name}: event {at + 1} differs ({len(actual)} events, the golden has {len(expected)})"]
    report += [f"  {i + 1}: {expected[i].decode().rstrip()}" for i in range(max(0, at - CONTEXT), at)]
    want = expected[at].decode().rstrip() if at < len(expected) else "(the golden ends here)"
    got = actual[at].decode().rstrip() if at < len(actual) else "(the run ended here)"
    report += [f"- {at + 1}: {want}", f"+ {at + 1}: {got}"]
    if at < len(expected) and at < len(actual):
        before, after = json.loads(want), json.loads(got)
        fields = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
        report += [f"  fields that differ: {', '.join(fields)}"]
        report += [f"  {line}" for line in difflib.unified_diff(
            json.dumps(before, indent=1).splitlines(), json.dumps(after, indent=1).splitlines(),
            "golden", "run", n=1, lineterm="")][2:]
    return "\n".join(report)
