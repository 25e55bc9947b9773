"""Each panel's stylesheet lives beside its module (`markets.py` -> `markets.tcss`) and is its
DEFAULT_CSS, so a panel looks the same in the app and alone in a test; the app's own CSS wins over it."""

from __future__ import annotations

from pathlib import Path


def beside(module_file: str) -> str:
    return Path(module_file).with_suffix(".tcss").read_text(encoding="utf-8")
