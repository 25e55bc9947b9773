"""How the dashboard writes numbers, times and signs: one place, so every panel reads the same way.

Styles are theme variables (`$success`, `$error`...), resolved by Textual against the app's theme.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from textual.content import Content

MISSING = "—"
UP, DOWN, DIM = "$text-success", "$text-error", "$text-muted"


def sign_style(value: Decimal | float | None) -> str:
    if value is None or value == 0:
        return DIM if value is None else ""
    return UP if value > 0 else DOWN


def number(value: Decimal | float | None, places: int = 2, *, signed: bool = False) -> str:
    """Thousands separators and fixed places: `12,345.68`, or `+0.42` with `signed`."""
    if value is None:
        return MISSING
    return f"{value:{'+' if signed else ''},.{places}f}"


def quantity(value: Decimal | None, *, signed: bool = False) -> str:
    """A size without trailing zeros: `+0.5`, `-12`, `1,250.125`."""
    if value is None:
        return MISSING
    return number(value, decimal_places(value), signed=signed)


def price(value: Decimal | None, tick: Decimal | None = None) -> str:
    """A price to the market's tick (`97,012.5` for a 0.1 tick), or to 2 places without one."""
    if value is None:
        return MISSING
    return number(value, decimal_places(tick) if tick else 2)


def decimal_places(value: Decimal) -> int:
    """Places after the point that `value` needs: 0.001 -> 3, 12.50 -> 1, 1E+2 -> 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0  # "n", "N", "F": NaN and infinity


def percent(fraction: Decimal | float | None, places: int = 1, *, signed: bool = False) -> str:
    """A plain fraction as a percentage: 0.4123 -> `41.2%`."""
    return MISSING if fraction is None else number(fraction * 100, places, signed=signed) + "%"


def compact(value: Decimal | float | None) -> str:
    """Large magnitudes short: 1234 -> `1.23K`, 5_600_000 -> `5.60M`."""
    if value is None:
        return MISSING
    if isinstance(value, int) and abs(value) < 1000:
        return str(value)
    magnitude = -value if value < 0 else value
    for limit, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if magnitude >= limit:
            return f"{value / limit:.2f}{suffix}"
    return f"{value:.2f}" if magnitude < 100 else f"{value:.0f}"


def utc_clock(t: float | None) -> str:
    return MISSING if t is None else datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def utc_stamp(t: float | None) -> str:
    return MISSING if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def countdown(seconds: float | None) -> str:
    """`mm:ss` (or `h:mm:ss` from an hour on)."""
    if seconds is None:
        return MISSING
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class Column(NamedTuple):
    title: str
    width: int
    left: bool = False  # text columns align left, numbers right


class Columns:
    """Fixed-width columns shared by a panel's header and its rows, so they always line up."""

    def __init__(self, *columns: Column, gap: int = 1) -> None:
        self.columns = columns
        self._gap = " " * gap

    def header(self, first: str | None = None) -> Content:
        """The column titles; `first` replaces the first one (e.g. with what the rows below are about)."""
        titles = [column.title for column in self.columns]
        if first is not None:
            titles[0] = first
        return self.row(*((title, "") for title in titles))

    def row(self, *cells: tuple[str, str]) -> Content:
        """One line from `(text, style)` cells, one per column, each padded or cut to its width."""
        parts: list[tuple[str, str] | str] = []
        for index, (column, (text, style)) in enumerate(zip(self.columns, cells, strict=False)):
            if index:
                parts.append(self._gap)
            fitted = text[: column.width]
            parts.append((fitted.ljust(column.width) if column.left else fitted.rjust(column.width), style))
        return Content.assemble(*parts)


def join(parts: Iterable[Content | str], separator: str = "  ") -> Content:
    return Content(separator).join(Content(part) if isinstance(part, str) else part for part in parts)
