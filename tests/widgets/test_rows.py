"""Keyed rows: a row is repainted only when its own text changed; rows come and go with their keys."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Static

from widgets.rows import KeyedRows, Row


class Host(App):
    def compose(self) -> ComposeResult:
        yield KeyedRows("nothing yet")


def texts(app: Host) -> list[str]:
    return [str(static.render()) for static in app.query_one(KeyedRows).query(Static)]


async def test_only_changed_rows_are_updated_and_keys_rebuild() -> None:
    app = Host()
    async with app.run_test(size=(40, 8)) as pilot:
        rows = app.query_one(KeyedRows)
        assert texts(app) == ["nothing yet"]
        rows.show([("a", Content("a 1")), ("b", Content("b 1"))], selected="b")
        await pilot.pause()
        first = list(rows.query(Row))
        updated: list[str] = []
        for row in first:
            row.update = lambda content, layout=True, row=row: updated.append(row.key)  # type: ignore[method-assign]
        rows.show([("a", Content("a 1")), ("b", Content("b 2"))], selected="a")
        assert updated == ["b"]
        assert [row.has_class("-selected") for row in first] == [True, False]

        rows.show([("b", Content("b 2")), ("c", Content("c 1"))])
        await pilot.pause()
        assert rows.keys == ["b", "c"] and texts(app) == ["b 2", "c 1"]
        rows.show([])
        await pilot.pause()
        assert rows.keys == [] and texts(app) == ["nothing yet"]
