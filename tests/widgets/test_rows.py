"""Keyed rows: a row is repainted only when its own value changed, and only while it is in view; rows
are mounted once per key and come, go and move with their keys."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Static

from widgets.rows import KeyedRows, Row


class Host(App):
    def __init__(self, rows: KeyedRows | None = None) -> None:
        super().__init__()
        self.rows = rows or KeyedRows("nothing yet")

    def compose(self) -> ComposeResult:
        yield self.rows


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
        for row in first:
            del row.update  # back to the real one

        rows.show([("b", Content("b 3")), ("c", Content("c 1"))])
        await pilot.pause()
        assert rows.keys == ["b", "c"] and texts(app) == ["b 3", "c 1"]
        assert rows.query(Row).first() is first[1]  # b's row was kept, not mounted again
        rows.show([])
        await pilot.pause()
        assert rows.keys == [] and texts(app) == ["nothing yet"]


async def test_keys_that_come_and_move_keep_their_rows() -> None:
    app = Host()
    async with app.run_test(size=(40, 8)) as pilot:
        rows = app.query_one(KeyedRows)
        rows.show([(key, Content(key)) for key in "bdf"])
        await pilot.pause()
        kept = {row.key: row for row in rows.query(Row)}
        rows.show([(key, Content(key)) for key in "abcfde"], selected="f")
        await pilot.pause()
        assert texts(app) == list("abcfde")
        shown = {row.key: row for row in rows.query(Row)}
        assert all(shown[key] is row for key, row in kept.items())
        assert [row.key for row in rows.query(".-selected")] == ["f"]


async def test_values_are_rendered_only_in_view() -> None:
    rendered: list[int] = []

    def render(value: int) -> Content:
        rendered.append(value)
        return Content(f"row {value}")

    app = Host(KeyedRows(render=render))
    async with app.run_test(size=(40, 5)) as pilot:
        rows = app.rows
        rows.show([(str(n), n) for n in range(100)])
        await pilot.pause()
        assert len(rendered) < 10 and texts(app)[:5] == [f"row {n}" for n in range(5)]

        rendered.clear()
        rows.show([(str(n), n + 1 if n in (2, 50) else n) for n in range(100)])
        assert rendered == [3]  # row 50 changed too, out of view

        rows.scroll_to(y=48, animate=False)
        await pilot.pause()
        assert 51 in rendered and texts(app)[50] == "row 51"
        assert texts(app)[90] == ""  # never in view, never rendered
