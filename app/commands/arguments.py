"""Argument types the commands share: argparse calls them on the text given and turns their
`ArgumentTypeError` into the one-line usage error, so no command ever receives a NaN, an infinity or a
number the venue cannot have."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

DAY = 86_400.0
PARENT_SUBACCOUNTS = 128
"""Subaccounts 0..127 are parents; 128*k + n are the children that hold n's isolated positions
(dydx-reference.md, margin)."""


def seconds(*, zero: bool = False, most: float = DAY) -> Callable[[str], float]:
    """A duration in seconds: finite, positive (or 0 when `zero` means "none"), at most `most`."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (0 <= value if zero else 0 < value) or not value <= most:  # NaN fails both
            floor = ">= 0" if zero else "> 0"
            raise argparse.ArgumentTypeError(f"expected seconds {floor} and <= {most:.0f}, got {text!r}")
        return value
    return parse


def subaccount_number(text: str) -> int:
    """A parent subaccount number, 0..127."""
    if not text.isdigit() or int(text) >= PARENT_SUBACCOUNTS:
        raise argparse.ArgumentTypeError(f"expected a subaccount number from 0 to {PARENT_SUBACCOUNTS - 1} "
                                         f"(children 128*k + n hold the isolated positions of n), got {text!r}")
    return int(text)
