"""The history screen: every fill, order event and funding payment of the session, newest on top, with the
PnL each fill realised, its fee and each funding payment; filtered by market, side, kind and a text, and
exported to CSV (`e`) or JSON lines (`j`) at a path it asks for: every row that passes the filter, oldest
first (the table holds the newest `SHOWN_MAX` of them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Select, Static

from app.history import FORMATS, KINDS, SIDES, ExportError, HistoryFilter, HistoryRow, default_export_path, export
from streams.execution.ledger import SessionPnl
from widgets.format import number, price, quantity

REFRESH_SECONDS = 0.5
SHOWN_MAX = 500
"""Rows the table holds, the newest that pass the filter: a DataTable redraws every row it holds on a change
(10,000 rows: ~0.5 s, each time rows come), and the export writes every row that passes anyway."""
COLUMNS = ("TIME (UTC)", "KIND", "MARKET", "SIDE", "SIZE", "PRICE", "FEE", "REALISED", "FUNDING", "POSITION", "DETAIL")


@dataclass(frozen=True)
class HistoryState:
    rows: tuple[HistoryRow, ...]
    """Oldest first."""
    added: int
    """Rows made since the session began: the screen redraws when it moves."""
    pnl: SessionPnl | None


def totals_line(pnl: SessionPnl | None) -> str:
    """The session ledger's totals (every fill and payment, whatever the filter shows)."""
    if pnl is None:
        return "no account state yet: no totals"
    return (f"realised {number(pnl.realized, 2, signed=True)} · fees {number(pnl.fees, 2)} · "
            f"funding {number(pnl.funding, 2, signed=True)} · net {number(pnl.net, 2, signed=True)} USDC "
            f"({pnl.trades} fills)")


def cells(row: HistoryRow) -> tuple[str, ...]:
    def signed(value: Decimal | None, places: int) -> str:
        return "" if value is None else number(value, places, signed=True)

    return (datetime.fromtimestamp(row.t, UTC).strftime("%m-%d %H:%M:%S"), row.kind, row.market, row.side,
            "" if row.size is None else quantity(row.size), "" if row.price is None else price(row.price, None),
            "" if row.fee is None else number(row.fee, 4), signed(row.realized_pnl, 2), signed(row.funding, 4),
            "" if row.position is None else quantity(row.position, signed=True), row.detail)


class ExportScreen(ModalScreen[str | None]):
    """Asks where to export, `default` offered; writes with `write` and is dismissed with what it said,
    or stays with the error in one line (the path kept to correct), or None when cancelled."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical { width: 80; max-width: 95%; height: auto; padding: 1 2; border: thick $primary;
                              background: $surface; }
    ExportScreen #problem { color: $text-error; height: auto; }
    """
    BINDINGS = [Binding("escape", "dismiss", "cancel")]

    def __init__(self, title: str, default: str, write: Callable[[Path], str]) -> None:
        super().__init__()
        self._title = title
        self._default = default
        self._write = write

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title, classes="title")
            yield Input(self._default, id="path")
            yield Static(id="problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.query_one("#problem", Static).update("a path is needed")
            return
        try:
            said = self._write(Path(text).expanduser())
        except ExportError as exc:
            self.query_one("#problem", Static).update(str(exc))
            return
        self.dismiss(said)


class HistoryScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical { width: 98%; height: 96%; border: thick $accent; background: $surface; }
    HistoryScreen #filters { height: 3; }
    HistoryScreen #filters Select { width: 1fr; }
    HistoryScreen #filters Input { width: 2fr; }
    HistoryScreen DataTable { height: 1fr; }
    HistoryScreen #shown, HistoryScreen #totals { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    HistoryScreen #shown { color: $text-muted; }
    """
    BINDINGS = [Binding("escape,h", "dismiss", "close"), Binding("e", "export('csv')", "export CSV"),
                Binding("j", "export('jsonl')", "export JSON lines"), Binding("slash", "find", "text filter")]

    def __init__(self, state: Callable[[], HistoryState], now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 cwd: Callable[[], Path] = Path.cwd) -> None:
        """`now` names the default export file, in the directory `cwd`."""
        super().__init__()
        self._state = state
        self._now = now
        self._cwd = cwd
        self._added = -1
        self._markets: tuple[str, ...] = ()
        self.filter = HistoryFilter()
        self.shown: list[HistoryRow] = []
        """The rows that pass the filter, oldest first: what an export writes (the table, the newest of them)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            with Horizontal(id="filters"):
                yield Select[str]((), prompt="market", id="market")
                yield Select[str](((side.lower(), side) for side in SIDES), prompt="side", id="side")
                yield Select[str](((kind, kind) for kind in KINDS), prompt="kind", id="kind")
                yield Input(placeholder="/ text filter", id="text")
            yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
            yield Static(id="shown")
            yield Static(id="totals")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.query_one(DataTable).focus()
        self.show()
        self.set_interval(REFRESH_SECONDS, self.show)

    def show(self, force: bool = False) -> None:
        """Redraw when rows came (or the filter changed)."""
        state = self._state()
        if state.added == self._added and not force:
            return
        self._added = state.added
        markets = tuple(sorted({row.market for row in state.rows}))
        if markets != self._markets:
            self._markets = markets
            self.query_one("#market", Select).set_options((market, market) for market in markets)
        self.shown = self.filter.apply(state.rows)
        table = self.query_one(DataTable)
        table.clear()
        for row in reversed(self.shown[-SHOWN_MAX:]):
            table.add_row(*cells(row))
        passing = f"{len(self.shown)} of {len(state.rows)} rows"
        if len(self.shown) > SHOWN_MAX:
            passing += f" (the newest {SHOWN_MAX} shown, all exported)"
        self.query_one("#shown", Static).update(
            f"{passing} · e: export CSV · j: JSON lines · /: text filter · h: close")
        self.query_one("#totals", Static).update(totals_line(state.pnl))

    def on_select_changed(self, event: Select.Changed) -> None:
        value = event.value if isinstance(event.value, str) else None  # every option is a string; else none chosen
        if event.select.id == "market":
            self.filter = HistoryFilter(value, self.filter.side, self.filter.kind, self.filter.text)
        elif event.select.id == "side":
            self.filter = HistoryFilter(self.filter.market, value, self.filter.kind, self.filter.text)
        elif event.select.id == "kind":
            kind = next((k for k in KINDS if k == value), None)
            self.filter = HistoryFilter(self.filter.market, self.filter.side, kind, self.filter.text)
        self.show(force=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "text":
            self.filter = HistoryFilter(self.filter.market, self.filter.side, self.filter.kind, event.value.strip())
            self.show(force=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "text":
            self.query_one(DataTable).focus()

    def action_find(self) -> None:
        self.query_one("#text", Input).focus()

    def action_export(self, fmt: str) -> None:
        rows = list(self.shown)
        default = str(self._cwd() / default_export_path(self._now(), fmt))

        def write(path: Path) -> str:
            count = export(rows, path, fmt)
            return f"exported {count} row{'' if count == 1 else 's'} to {path} ({FORMATS[fmt]})"

        title = f"Export the {len(rows)} rows that pass the filter as {FORMATS[fmt]} to"
        self.app.push_screen(ExportScreen(title, default, write), self._exported)

    def _exported(self, said: str | None) -> None:
        if said is not None:
            self.notify(said, markup=False)
