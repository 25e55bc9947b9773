"""Views: panels that share one place on the screen, one shown at a time, so that every terminal size
keeps each visible panel readable (a panel too narrow to read is worse than one a key away). The frame's
title names every view, the one shown in bold; `show_next` moves to the next. Views are given as
(name, title, panel) so the app, or another part such as a trading desk, can add its own."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from textual.content import Content
from textual.widget import Widget
from textual.widgets import ContentSwitcher

from widgets.panel import Panel
from widgets.tcss import beside

ViewSpec = tuple[str, str, Widget]
"""A view's name (its widget's id), its title in the frame, and the panel showing it."""


class Views(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, views: Sequence[ViewSpec], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._views = list(views)
        for name, _title, panel in self._views:
            panel.id = name
        self.hidden: Collection[str] = ()
        """Views left out of the cycle (e.g. shown beside at this size)."""

    @property
    def names(self) -> list[str]:
        return [name for name, _title, _panel in self._views if name not in self.hidden]

    @property
    def current(self) -> str:
        return self.query_one(ContentSwitcher).current or self._views[0][0]

    def compose(self):
        with ContentSwitcher(initial=self._views[0][0]):
            for _name, _title, panel in self._views:
                yield panel

    def on_mount(self) -> None:
        self._title()

    def show(self, name: str) -> None:
        self.query_one(ContentSwitcher).current = name
        self._title()

    def show_next(self, step: int = 1) -> str:
        """Show the view `step` on from the current one (wrapping around); returns its name."""
        names = self.names
        at = names.index(self.current) if self.current in names else -step
        self.show(names[(at + step) % len(names)])
        return self.current

    def leave_out(self, hidden: Collection[str]) -> None:
        """Keep `hidden` out of the cycle; if one of them is shown, show the first of the others."""
        self.hidden = hidden
        if self.current in hidden:
            self.show(self.names[0])
        self._title()

    def _title(self) -> None:
        current = self.current
        self.border_title = Content(" ").join(
            Content.styled(title, "bold reverse" if name == current else "dim")
            for name, title, _panel in self._views if name not in self.hidden)
