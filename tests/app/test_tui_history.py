"""The history screen and the trades tape on the dashboard, driven by the Pilot on the bundled recording in
virtual time with the paper account: `h` (and `h` in the blotter) opens the history of the graph's fills,
orders and funding; the filters narrow it; `e` and `j` export the rows that pass to the path asked for (parsed
back: exact Decimals), an unwritable path is one line in the prompt and nothing is written; `v` reaches
the tape, which follows the selected market. Snapshots of the history screen and its export prompt."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from app.history import export_record
from app.screens.blotter import BlotterScreen
from app.screens.history import ExportScreen, HistoryScreen
from app.sources import DEFAULT_RECORDING
from tests.support.dashboard import Dashboard
from widgets.trades_tape import TradesTapePanel
from widgets.views import Views

AT = 1800.0
"""Seconds into the bundled recording: the strategy has traded by then."""


async def open_history(dash: Dashboard, pilot: Pilot) -> HistoryScreen:
    await dash.play_to(pilot, dash.start + AT)
    await pilot.press("h")
    screen = dash.app.screen
    assert isinstance(screen, HistoryScreen)
    await pilot.pause()
    return screen


def table_kinds(screen: HistoryScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_h_lists_the_fills_orders_and_funding_newest_first_and_the_filters_narrow_them() -> None:
    dash = Dashboard.on(DEFAULT_RECORDING)
    async with dash.app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(dash, pilot)
        model = dash.app.view.model
        rows = list(model.history.rows)
        fills = [row for row in rows if row.kind == "fill"]
        assert fills and len(fills) == model.pnl.trades  # every fill the ledger counted
        table = screen.query_one(DataTable)
        assert table.row_count == len(rows) == len(screen.shown)
        times = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert times == sorted(times, reverse=True)  # newest on top
        assert str(screen.query_one("#totals", Static).render()).startswith("realised ")
        screen.query_one("#kind", Select).value = "fill"
        await pilot.pause()
        assert set(table_kinds(screen)) == {"fill"} and table.row_count == len(fills)
        screen.query_one("#side", Select).value = "SELL"
        await pilot.pause()
        assert table.row_count == sum(row.side == "SELL" for row in fills) > 0
        screen.query_one("#side", Select).clear()
        await pilot.press("slash", *"taker", "enter")
        assert screen.query_one("#text", Input).value == "taker" and screen.query_one(DataTable).has_focus
        assert 0 < table.row_count == sum("taker" in row.detail for row in fills)
        screen.query_one("#kind", Select).clear()
        screen.query_one("#text", Input).value = ""
        await pilot.pause()
        assert table.row_count == len(rows)
        await pilot.press("h")
        assert not isinstance(dash.app.screen, HistoryScreen)


async def test_the_blotter_opens_the_history_too() -> None:
    dash = Dashboard.on(DEFAULT_RECORDING)
    async with dash.app.run_test(size=(80, 24)) as pilot:
        await dash.play_to(pilot, dash.start + AT)
        await pilot.press("b")
        assert isinstance(dash.app.screen, BlotterScreen)
        await pilot.press("h")
        assert isinstance(dash.app.screen, HistoryScreen)


async def test_e_and_j_export_the_rows_shown_and_an_unwritable_path_is_one_line(tmp_path: Path) -> None:
    dash = Dashboard.on(DEFAULT_RECORDING)
    async with dash.app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(dash, pilot)
        screen.query_one("#kind", Select).value = "fill"
        await pilot.pause()
        shown = list(screen.shown)
        await pilot.press("e")
        prompt = dash.app.screen
        assert isinstance(prompt, ExportScreen)
        path_field = prompt.query_one("#path", Input)
        default = Path(path_field.value)
        assert default.parent == Path.cwd() and default.name.startswith("dydx-bot-history-")
        assert default.suffix == ".csv"
        path_field.value = str(tmp_path / "fills.csv")
        await pilot.press("enter")
        assert dash.app.screen is screen
        with (tmp_path / "fills.csv").open(newline="", encoding="utf-8") as file:
            records = list(csv.DictReader(file))
        expected = [export_record(row) for row in shown]
        assert len(records) == len(shown) > 0
        assert [{k: "" if v is None else str(v) for k, v in record.items()} for record in expected] == records
        assert sum(Decimal(record["fee"]) for record in records) == sum(row.fee for row in shown)

        await pilot.press("j")
        prompt = dash.app.screen
        assert isinstance(prompt, ExportScreen)
        assert prompt.query_one("#path", Input).value.endswith(".jsonl")
        bad = tmp_path / "no" / "such" / "dir" / "fills.jsonl"
        prompt.query_one("#path", Input).value = str(bad)
        await pilot.press("enter")
        assert dash.app.screen is prompt  # kept, with the path to correct
        problem = str(prompt.query_one("#problem", Static).render())
        assert problem == f"{bad}: cannot write it (No such file or directory)" and "\n" not in problem
        assert not bad.exists()
        prompt.query_one("#path", Input).value = str(tmp_path / "fills.jsonl")
        await pilot.press("enter")
        assert dash.app.screen is screen
        lines = (tmp_path / "fills.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in lines] == expected


async def test_v_reaches_the_tape_which_follows_the_selected_market() -> None:
    dash = Dashboard.on(DEFAULT_RECORDING)
    async with dash.app.run_test(size=(80, 24)) as pilot:
        await dash.play_to(pilot, dash.start + AT)
        views = dash.app.query_one(Views)
        while views.current != "trades":
            await pilot.press("v")
        tape = dash.app.query_one(TradesTapePanel)
        assert tape.display and views.query_one("#trades") is tape
        model = dash.app.view.model
        state = model.tape_state()
        assert state.market == model.selected and state.trades
        assert all(trade.market == state.market for trade in state.trades)
        assert [t.created_at for t in state.trades] == sorted((t.created_at for t in state.trades), reverse=True)
        summary = str(tape.query_one("#summary", Static).render())
        assert summary.startswith(f"{state.market}  last ")
        await pilot.press("right_square_bracket")
        await pilot.pause()
        other = model.tape_state()
        assert other.market != state.market and other.market == model.selected
        assert str(tape.query_one("#summary", Static).render()).startswith(f"{other.market}  last ")


def test_snapshot_of_the_history(snap_compare) -> None:
    dash = Dashboard.on(DEFAULT_RECORDING)

    async def run_before(pilot: Pilot) -> None:
        await open_history(dash, pilot)

    assert snap_compare(dash.app, terminal_size=(120, 36), run_before=run_before)


def test_snapshot_of_the_filtered_history_at_80x24(snap_compare) -> None:
    dash = Dashboard.on(DEFAULT_RECORDING)

    async def run_before(pilot: Pilot) -> None:
        screen = await open_history(dash, pilot)
        screen.query_one("#kind", Select).value = "fill"
        await pilot.pause()

    assert snap_compare(dash.app, terminal_size=(80, 24), run_before=run_before)


async def test_the_table_holds_the_newest_rows_that_pass_and_an_export_writes_them_all(tmp_path: Path) -> None:
    from textual.app import App

    from app.history import HistoryRow
    from app.screens.history import SHOWN_MAX, HistoryState

    rows = tuple(HistoryRow(1_722_013_000.0 + n, "fill" if n % 2 else "order", "ETH-USD", "BUY", Decimal("0.5"),
                            client_id=n) for n in range(3 * SHOWN_MAX))
    app: App[None] = App()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = HistoryScreen(lambda: HistoryState(rows, len(rows), None), cwd=lambda: tmp_path)
        await app.push_screen(screen)
        await pilot.pause()
        table = screen.query_one(DataTable)
        assert table.row_count == SHOWN_MAX and len(screen.shown) == len(rows)
        assert str(screen.query_one("#shown", Static).render()).startswith(
            f"{len(rows)} of {len(rows)} rows (the newest {SHOWN_MAX} shown, all exported)")
        screen.query_one("#kind", Select).value = "fill"
        await pilot.pause()
        assert table.row_count == SHOWN_MAX and len(screen.shown) == len(rows) // 2
        await pilot.press("e")
        prompt = app.screen
        assert isinstance(prompt, ExportScreen) and Path(prompt.query_one("#path", Input).value).parent == tmp_path
        await pilot.press("enter")  # the default path, in `cwd`
        (written,) = tmp_path.glob("dydx-bot-history-*.csv")
        with written.open(newline="", encoding="utf-8") as file:
            assert [int(record["client_id"]) for record in csv.DictReader(file)] == list(range(1, len(rows), 2))
