"""Keyed rows: the body of every hot table on the dashboard, one line per key, drawn by one widget.

A `DataTable` repaints every visible row on any change (23-28 ms for a 40x6 table, STYLE.md), and a
widget per row makes every layout pass arrange every row: at the scale of every market at once the
panels hold ~1,250 rows (a thousand streams in data health), of which a few dozen are on screen, and
arranging them was most of the dashboard's CPU. So the rows are values and a `render` function, drawn
through Textual's line API (as `Log` and `OptionList` are): the widget is as high as the list, the
compositor asks only for the lines in view, and a line is made again only when its row's value or
selection changed (rows scrolled into view catch up then). A changed value repaints its line alone;
only a change in the number of rows lays the screen out again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from rich.style import Style as RichStyle
from textual.content import Content
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions
from textual.widgets import Static

ROW_RULES = {"text_wrap": "nowrap", "text_overflow": "ellipsis"}
EMPTY_RULES: dict[str, str] = {}
"""A row is one line, cut with an ellipsis; the empty-list message wraps, and its first line shows (as the
`Static`s they were)."""


def _itself(content: Content) -> Content:
    return content


def show_text(static: Static, content: Content) -> None:
    """Update `static` only if `content` differs (Content's `==` compares the text alone, not the styles),
    and lay the screen out again only if its width did."""
    shown = static.content
    if not isinstance(shown, Content):
        static.update(content)
    elif content.plain != shown.plain or content.spans != shown.spans:
        static.update(content, layout=content.cell_length != shown.cell_length)


class _Line(NamedTuple):
    """A row's line as last made, and what it was made from."""

    value: Any
    selected: bool
    width: int
    text: Strip
    fill: RichStyle
    """The background the text is filled with up to `width`."""

    def at(self, y: int) -> Strip:
        """The line drawn as row `y` of the list, with the offsets the screen reads to select text on its
        text (not on the fill, as a `Static` has them)."""
        return self.text.apply_offsets(0, y).extend_cell_length(self.width, self.fill)


class KeyedRows(ScrollView, can_focus=False):
    DEFAULT_CSS = """
    KeyedRows { height: auto; max-height: 100%; overflow-x: hidden; scrollbar-size-vertical: 1; }
    KeyedRows > .keyed-rows--selected { background: $accent 35%; color: $text; text-style: bold; }
    KeyedRows > .keyed-rows--empty { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"keyed-rows--selected", "keyed-rows--empty"}

    class Clicked(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, empty: str = "waiting for data", *, render: Callable[[Any], Content] = _itself,
                 id: str | None = None) -> None:
        """`render` makes a row's text from its value (default: the values are the texts)."""
        super().__init__(id=id)
        self._empty = Content(empty)
        self._text = render
        self._keys: list[str] = []
        self._values: dict[str, Any] = {}
        self._selected: str | None = None
        self._lines: dict[str, _Line] = {}
        self.virtual_size = Size(0, 1)  # the empty-list message

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def show(self, rows: Sequence[tuple[str, Any]], selected: str | None = None) -> None:
        """Show `rows` (key, value) in order; only lines in view whose value or selection changed are made
        again."""
        self._values = values = dict(rows)
        moved_to = selected if selected != self._selected and selected in values else None
        self._selected = selected
        if moved_to is not None:  # a selection made from the keyboard may be out of view: bring it in
            self.call_after_refresh(self._into_view, moved_to)
        if list(values) != self._keys:
            self._keys = list(values)
            self._lines = {key: line for key, line in self._lines.items() if key in values}
            self.virtual_size = Size(0, max(1, len(values)))
            self.refresh()
            return
        top = self.scroll_offset.y
        for at, key in enumerate(self._keys[top:top + self.size.height], top):
            line = self._lines.get(key)
            if line is None or line.selected != (key == selected) or _changed(line.value, values[key]):
                self.refresh_line(at)

    def _into_view(self, key: str) -> None:
        if key != self._selected or key not in self._values:
            return  # moved on meanwhile
        at, top, height = self._keys.index(key), self.scroll_offset.y, self.size.height
        if height and not top <= at < top + height:
            self.scroll_to(y=at - height // 2, animate=False)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        at = self.scroll_offset.y + y
        if not self._keys and at == 0:
            text, fill = self._text_strip(self._empty, self.get_visual_style("keyed-rows--empty"), width, 0,
                                          EMPTY_RULES)
            return _Line(None, False, width, text, fill).at(0)
        if at >= len(self._keys):
            return Strip.blank(width, Style(background=self.visual_style.background).rich_style)
        key = self._keys[at]
        value, selected = self._values[key], key == self._selected
        line = self._lines.get(key)
        if line is None or (line.selected, line.width) != (selected, width) or _changed(line.value, value) \
                or self.text_selection is not None:
            style = self.get_visual_style("keyed-rows--selected") if selected else self.visual_style
            text, fill = self._text_strip(self._text(value), style, width, at, ROW_RULES)
            line = self._lines[key] = _Line(value, selected, width, text, fill)
        return line.at(at)

    def _text_strip(self, content: Content, style: Style, width: int, at: int,
                    rules: dict[str, str]) -> tuple[Strip, RichStyle]:
        """The first line of `content` on `style` as row `at`, with the text selection on it; and the
        background to fill it with."""
        selection, selection_style = self.text_selection, None
        if selection is not None:  # the selection counts the list's lines; `content` is line 0
            start, end = (None if offset is None else offset - (0, at) for offset in selection)
            selection = Selection(start, end)
            selection_style = Style.from_styles(self.screen.get_component_styles("screen--selection"))
        options = RenderOptions(self._get_style, rules, selection, selection_style)  # type: ignore[arg-type]
        strips = content.render_strips(width, 1, style, options)
        return (strips[0] if strips else Strip.blank(0)), Style(background=style.background).rich_style

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        lines = [self._text(self._values[key]).plain for key in self._keys] if self._keys else [self._empty.plain]
        return selection.extract("\n".join(lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._lines.clear()  # made with the previous selection on them
        self.refresh()

    def notify_style_update(self) -> None:
        self._lines.clear()  # a new theme or class: every line is made again with its styles
        super().notify_style_update()

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        at = self.scroll_offset.y + offset.y
        if at < len(self._keys):
            self.post_message(self.Clicked(self._keys[at]))


def _changed(shown: Any, value: Any) -> bool:
    return shown is not value and shown != value
