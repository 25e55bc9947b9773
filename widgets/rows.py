"""Keyed rows, one `Static` each: the body of every hot table on the dashboard.

A `DataTable` repaints every visible row on any change (23-28 ms for a 40x6 table, STYLE.md); a row of
its own repaints only when its text changed (~4 ms), and rows whose text is unchanged cost nothing.

At the scale of every market at once a panel holds hundreds of rows (a thousand streams in data health)
that change every second, of which a dozen are on screen. So the rows are given as values and a `render`
function: a row's text is made only while it is in view and only when its value changed (rows scrolled
into view catch up then), and a row widget is mounted once per key, with only the keys that came, went or
moved touched when the set of keys changes.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.widgets import Static

_UNRENDERED = object()


def _itself(content: Content) -> Content:
    return content


def show_text(static: Static, content: Content) -> None:
    """Update `static` only if `content` differs (Content's `==` compares the text alone, not the styles),
    and lay the screen out again only if its width did: with hundreds of rows on screen a layout pass
    is what a repaint costs most."""
    shown = static.content
    if not isinstance(shown, Content):
        static.update(content)
    elif content.plain != shown.plain or content.spans != shown.spans:
        static.update(content, layout=content.cell_length != shown.cell_length)


class Row(Static):
    def __init__(self, key: str) -> None:
        super().__init__(Content(), classes="row")
        self.key = key
        self.value: Any = _UNRENDERED
        """The value the row's text was last made from."""

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

    def __init__(self, empty: str = "waiting for data", *, render: Callable[[Any], Content] = _itself,
                 id: str | None = None) -> None:
        """`render` makes a row's text from its value (default: the values are the texts)."""
        super().__init__(id=id)
        self._empty = empty
        self._text = render
        self._rows: dict[str, Row] = {}
        self._order: list[Row] = []
        self._values: dict[str, Any] = {}
        self._selected: str | None = None

    def compose(self):
        yield Static(self._empty, classes="empty")

    @property
    def keys(self) -> list[str]:
        return list(self._rows)

    def show(self, rows: Sequence[tuple[str, Any]], selected: str | None = None) -> None:
        """Show `rows` (key, value) in order; only rows in view whose value changed are re-rendered."""
        self._values = dict(rows)
        arranged = list(self._values) != list(self._rows)
        if arranged:
            self._arrange(list(self._values))
        for key in {self._selected, selected}:
            if (row := self._rows.get(key)) is not None:  # type: ignore[arg-type]
                row.set_class(key == selected, "-selected")
        self._selected = selected
        # rows just mounted are laid out later: until then, a screenful of them is what may be in view
        self._paint(self.screen.size.height if arranged else self.size.height)

    def _paint(self, height: int) -> None:
        start = round(self.scroll_y)
        for row in self._order[start:start + height]:
            value = self._values[row.key]
            if value is not row.value and value != row.value:
                row.value = value
                show_text(row, self._text(value))

    def _arrange(self, keys: list[str]) -> None:
        """Mount rows for new keys, remove those of keys gone and move the rest into `keys`' order."""
        old = self._rows
        if not keys or not old:
            self.remove_children()
        else:
            self.remove_children([row for key, row in old.items() if key not in self._values])
        rows = {key: old.get(key) or Row(key) for key in keys}
        self._rows, self._order = rows, list(rows.values())
        if not keys:
            self.mount(Static(self._empty, classes="empty"))
            return
        kept = [row for row in old.values() if row.key in rows]
        wanted = [row for row in self._order if row.key in old]
        for at, row in enumerate(wanted):  # a row that changed place moves before the one in its place
            if kept[at] is not row:
                self.move_child(row, before=kept[at])
                kept.remove(row)
                kept.insert(at, row)
        previous: Row | None = None
        run: list[Row] = []
        for row in [*self._order, None]:
            if row is not None and row.key not in old:
                run.append(row)
                continue
            if run:  # a run of new rows goes after the row before it, else before the row after it
                if previous is not None:
                    self.mount(*run, after=previous)
                else:
                    self.mount(*run, before=row)
                run = []
            previous = row

    def on_resize(self, _event: Resize) -> None:
        self._paint(self.size.height)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._paint(self.size.height)
