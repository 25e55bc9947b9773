"""How the corpus of bad inputs runs: each case as the command line runs it, in-process (`main(argv)`), and
what every case must show: a non-zero exit status, exactly one line on stderr that says what was wrong and
where, no traceback, and every recording it was given byte for byte as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main


@dataclass(frozen=True)
class Bad:
    """One bad input: `argv` (built in a fresh directory, which it may fill), the fragment of the one line
    on stderr, and the exit status."""

    name: str
    argv: Callable[[Path], Sequence[str]]
    said: str | Callable[[Path], str]
    code: int = 2

    def __str__(self) -> str:
        return self.name


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (what "nothing recorded changed" compares)."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def refuse(case: Bad, where: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> str:
    """Run `case` in `where` and check it was refused as every bad input must be; returns its line."""
    argv = [str(arg) for arg in case.argv(where)]
    before = tree_digest(where)
    code = main(argv)
    out, err = capsysbinary.readouterr()
    lines = err.decode("utf-8", "replace").splitlines()
    assert "Traceback" not in err.decode("utf-8", "replace"), err
    assert len(lines) == 1, f"{argv}: expected one line on stderr, got {lines}"
    said = case.said(where) if callable(case.said) else case.said
    assert said in lines[0], f"{argv}: {lines[0]!r} does not say {said!r}"
    assert code == case.code, f"{argv}: exit status {code}, expected {case.code}"
    assert tree_digest(where) == before, f"{argv}: changed what was already there"
    return lines[0]
