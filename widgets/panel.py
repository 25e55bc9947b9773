"""The frame every dashboard panel shares (border, title, padding), so panels differ only in content."""

from __future__ import annotations

from textual.containers import Vertical

from widgets.tcss import beside


class Panel(Vertical):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
