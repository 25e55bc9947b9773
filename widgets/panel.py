"""The frame every dashboard panel shares (border, title, padding), so panels differ only in content."""

from __future__ import annotations

from typing import Any

from textual.containers import Vertical

from widgets.tcss import beside


class Panel(Vertical):
    """A panel renders only the state it is given (`render_state`), so the app - or anything adding its
    own panels, such as a view - feeds every panel the same way."""

    DEFAULT_CSS = beside(__file__)

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title

    def render_state(self, state: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} shows a state: it defines render_state")
