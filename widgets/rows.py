"""Keyed rows, one `Static` each: the body of every hot table on the dashboard.

A `DataTable` repaints every visible row on any change (23-28 ms for a 40x6 table, STYLE.md); a row of
its own repaints only when its text changed (~4 ms), and rows whose text is unchanged cost nothing.
"""

from __future__ import annotations

from typing import Sequence

from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static


class Row(Static):
    def __init__(self, key: str, content: Content) -> None:
        super().__init__(content, classes="row")
        self.key = key

    def on_click(self) -> None:
        self.post_message(KeyedRows.Clicked(self.key))


class KeyedRows(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    KeyedRows { height: auto; max-height: 100%; scrollbar-size-vertical: 1; }
    KeyedRows > .row { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    KeyedRows > .row.-selected { background: $boost; text-style: bold; }
    KeyedRows > .empty { color: $text-muted; height: 1; }
    """

    class Clicked(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, empty: str = "waiting for data", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._empty = empty
        self._rows: dict[str, Row] = {}

    def compose(self):
        yield Static(self._empty, classes="empty")

    @property
    def keys(self) -> list[str]:
        return list(self._rows)

    def show(self, rows: Sequence[tuple[str, Content]], selected: str | None = None) -> None:
        """Show `rows` (key, content) in order; only rows whose content changed are repainted."""
        if [key for key, _ in rows] != list(self._rows):
            self._rebuild(rows)
        else:
            for key, content in rows:
                row = self._rows[key]
                if content != row.content:
                    row.update(content, layout=False)
        for key, row in self._rows.items():
            row.set_class(key == selected, "-selected")

    def _rebuild(self, rows: Sequence[tuple[str, Content]]) -> None:
        self.remove_children()
        self._rows = {key: Row(key, content) for key, content in rows}
        if rows:
            self.mount(*self._rows.values())
        else:
            self.mount(Static(self._empty, classes="empty"))
