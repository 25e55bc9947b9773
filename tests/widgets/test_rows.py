"""Keyed rows: one widget draws the lines in view; a line is made again only when its own value or
selection changed, rows out of view are never made, and clicks and scrolling work over the whole list."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content

from widgets.rows import KeyedRows


class Host(App):
    def __init__(self, rows: KeyedRows) -> None:
        super().__init__()
        self.rows = rows
        self.clicked: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.rows

    def on_keyed_rows_clicked(self, event: KeyedRows.Clicked) -> None:
        self.clicked.append(event.key)


class Counted:
    """A `render` that counts what it made."""

    def __init__(self) -> None:
        self.made: list[int] = []

    def __call__(self, value: int) -> Content:
        self.made.append(value)
        return Content(f"row {value}")


def lines(rows: KeyedRows) -> list[str]:
    """The text of the lines in view, as the screen shows them."""
    return [rows.render_line(y).text.rstrip() for y in range(rows.size.height)]


async def test_only_changed_lines_are_made_again() -> None:
    render = Counted()
    app = Host(KeyedRows("nothing yet", render=render))
    async with app.run_test(size=(40, 8)) as pilot:
        rows = app.rows
        await pilot.pause()
        assert lines(rows) == ["nothing yet"]
        rows.show([("a", 1), ("b", 2)], selected="b")
        await pilot.pause()
        assert lines(rows) == ["row 1", "row 2"] and rows.keys == ["a", "b"]

        render.made.clear()
        rows.show([("a", 1), ("b", 3)], selected="b")
        await pilot.pause()
        assert render.made == [3]
        render.made.clear()
        rows.show([("a", 1), ("b", 3)], selected="a")  # the selection moves: both lines change style
        await pilot.pause()
        assert sorted(render.made) == [1, 3]
        assert rows.render_line(0).text.rstrip() == "row 1"
        assert any(segment.style and segment.style.bold for segment in rows.render_line(0))
        assert not any(segment.style and segment.style.bold for segment in rows.render_line(1))

        render.made.clear()
        rows.show([("b", 3), ("c", 4)])  # keys come and go; b's line is kept
        await pilot.pause()
        assert rows.keys == ["b", "c"] and lines(rows)[:2] == ["row 3", "row 4"] and render.made == [4]
        rows.show([])
        await pilot.pause()
        assert rows.keys == [] and lines(rows)[0] == "nothing yet"


async def test_lines_are_made_only_in_view() -> None:
    render = Counted()
    app = Host(KeyedRows(render=render))
    async with app.run_test(size=(40, 5)) as pilot:
        rows = app.rows
        rows.show([(str(n), n) for n in range(100)])
        await pilot.pause()
        assert sorted(render.made) == [0, 1, 2, 3, 4] and lines(rows) == [f"row {n}" for n in range(5)]

        render.made.clear()
        rows.show([(str(n), n + 1 if n in (2, 50) else n) for n in range(100)])
        await pilot.pause()
        assert render.made == [3]  # row 50 changed too, out of view

        rows.scroll_to(y=48, animate=False)
        await pilot.pause()
        assert 51 in render.made and lines(rows)[2] == "row 51"
        assert not any(n >= 90 for n in render.made)  # never in view, never made


async def test_a_click_names_the_row_under_it_wherever_the_list_is_scrolled() -> None:
    app = Host(KeyedRows())
    async with app.run_test(size=(40, 5)) as pilot:
        app.rows.show([(f"k{n}", Content(f"row {n}")) for n in range(100)])
        await pilot.pause()
        await pilot.click(KeyedRows, offset=(2, 1))
        app.rows.scroll_to(y=40, animate=False)
        await pilot.pause()
        await pilot.click(KeyedRows, offset=(2, 3))
        assert app.clicked == ["k1", "k43"]


async def test_text_can_be_selected_across_rows() -> None:
    app = Host(KeyedRows())
    async with app.run_test(size=(40, 6)) as pilot:
        app.rows.show([(f"k{n}", Content(f"row {n} text")) for n in range(20)])
        await pilot.pause()
        await pilot.mouse_down(KeyedRows, offset=(2, 1))
        await pilot.hover(KeyedRows, offset=(4, 3))
        await pilot.mouse_up(KeyedRows, offset=(4, 3))
        await pilot.pause()
        assert app.screen.get_selected_text() == "w 1 text\nrow 2 text\nrow 3"
        selection = app.screen.get_component_rich_style("screen--selection")
        assert [segment.style.bgcolor == selection.bgcolor for segment in app.rows.render_line(3)][:2] == [True, False]


async def test_a_newly_selected_row_out_of_view_is_scrolled_into_view() -> None:
    app = Host(KeyedRows())
    async with app.run_test(size=(40, 5)) as pilot:
        rows = app.rows
        keyed = [(f"k{n}", Content(f"row {n}")) for n in range(100)]
        rows.show(keyed, selected="k0")
        await pilot.pause()
        rows.show(keyed, selected="k60")  # e.g. `]` past the end of what the panel shows
        await pilot.pause()
        assert "row 60" in lines(rows)
        rows.scroll_to(y=0, animate=False)  # the user scrolls away: the same selection stays where it is
        await pilot.pause()
        rows.show(keyed, selected="k60")
        await pilot.pause()
        assert lines(rows)[0] == "row 0"
        rows.show(keyed, selected="k2")  # already in view: nothing moves
        await pilot.pause()
        assert lines(rows)[0] == "row 0"
