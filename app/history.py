"""The session's history of fills, orders and funding payments, as the history screen lists, filters and
exports it: one `HistoryRow` per fill (from the session ledger's entries, with the PnL it realised and the
position it left), per order event (placed, blocked, each change of status) and per funding payment.

Exports are the rows that pass the filter, oldest first, as CSV or JSON lines with the columns of
`EXPORT_COLUMNS`: money and sizes as exact decimal strings, never floats. A file is written whole or not
at all, and never over an existing one.
"""

from __future__ import annotations

import csv
import io
import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from streams.execution.ledger import LedgerEntry
from streams.execution.paper_broker import FundingPayment
from streams.kernel.orders import OrderIntent, OrderUpdate, StopIntent
from streams.risk.derisk import IntentBlocked
from widgets.format import price

RowKind = Literal["fill", "order", "funding"]
KINDS: tuple[RowKind, ...] = ("fill", "order", "funding")
SIDES = ("BUY", "SELL")
HISTORY_KEPT = 10_000
"""Rows kept (the oldest go first); the session ledger's totals count every fill."""

EXPORT_COLUMNS = ("time", "kind", "market", "side", "size", "price", "fee", "realized_pnl", "funding",
                  "position", "client_id", "detail")
"""The export's columns (README: "History export")."""
FORMATS = {"csv": "CSV", "jsonl": "JSON lines"}


@dataclass(frozen=True)
class HistoryRow:
    """One line of the history: what is not known for its kind is None (a funding payment has no fee)."""

    t: float
    kind: RowKind
    market: str
    side: str = ""
    size: Decimal | None = None
    price: Decimal | None = None
    fee: Decimal | None = None
    realized_pnl: Decimal | None = None
    funding: Decimal | None = None
    position: Decimal | None = None
    """Signed, after the fill (a funding payment: the position it was paid on)."""
    client_id: int | None = None
    detail: str = ""

    @property
    def text(self) -> str:
        """What the text filter searches, lower case."""
        return f"{self.kind} {self.market} {self.side} {self.client_id or ''} {self.detail}".lower()


def order_what(intent: OrderIntent | StopIntent) -> str:
    """How an order reads: `LIMIT 97,010.00 GTT`, `MARKET IOC`, `STOP ≤ 91,000.00`."""
    if isinstance(intent, StopIntent):
        return f"STOP {'≤' if intent.side == 'SELL' else '≥'} {price(intent.trigger_price, None)}"
    limit = "" if intent.price is None else f" {price(intent.price, None)}"
    tif = "post-only" if intent.post_only else intent.time_in_force
    return f"{intent.kind}{limit} {tif}"


ENDED = frozenset({"REJECTED", "CANCELED", "EXPIRED", "FILLED"})
"""The statuses after which an order says no more."""

class History:
    """The rows so far, newest last, folded from the ledger's entries and the graph's orders stream."""

    def __init__(self, kept: int = HISTORY_KEPT) -> None:
        self.rows: deque[HistoryRow] = deque(maxlen=kept)
        self.added = 0
        """Rows added since the start (a screen redraws when it moved)."""
        self._orders: dict[int, OrderIntent | StopIntent] = {}

    def add(self, value: Any) -> bool:
        """Fold `value` in; whether it made a row."""
        row = self._row(value)
        if row is None:
            return False
        self.rows.append(row)
        self.added += 1
        return True

    def _row(self, value: Any) -> HistoryRow | None:
        if isinstance(value, LedgerEntry):
            f = value.fill
            detail = f"{f.liquidity.lower()}" if f.kind == "TRADE" else f"{f.kind.lower()} {f.liquidity.lower()}"
            return HistoryRow(f.t, "fill", f.market, f.side, f.size, f.price, f.fee, value.realized_pnl, None,
                              value.position, f.client_id, detail)
        if isinstance(value, FundingPayment):
            return HistoryRow(value.t, "funding", value.market, "", value.size, value.oracle_price, None, None,
                              value.amount, value.size, None, f"hourly rate {value.rate}")
        if isinstance(value, (OrderIntent, StopIntent)):
            self._orders[value.client_id] = value
            limit = value.price if isinstance(value, OrderIntent) else value.trigger_price
            why = f" ({value.reason})" if value.reason else ""
            return HistoryRow(value.t, "order", value.market, value.side, value.size, limit,
                              client_id=value.client_id, detail=f"sent {order_what(value)}{why}")
        if isinstance(value, OrderUpdate):
            # an order's last word: it is forgotten, so that a long session keeps only the orders still open
            order = (self._orders.pop if value.status in ENDED else self._orders.get)(value.client_id, None)
            status = value.status.lower().replace("_", " ")
            if value.filled:  # "filled 1", "partially filled 0.5", "canceled, 0.5 filled"
                status += f" {value.filled}" if status.endswith("filled") else f", {value.filled} filled"
            why = f": {value.reason}" if value.reason else ""
            return HistoryRow(value.t, "order", value.market, order.side if order else "",
                              order.size if order else None, client_id=value.client_id, detail=f"{status}{why}")
        if isinstance(value, IntentBlocked):
            order = self._orders.pop(value.client_id, None)
            return HistoryRow(value.t, "order", value.market, order.side if order else "",
                              order.size if order else None, client_id=value.client_id,
                              detail=f"blocked: {value.reason}")
        return None


@dataclass(frozen=True)
class HistoryFilter:
    """What the screen shows: None (or empty) lets everything through."""

    market: str | None = None
    side: str | None = None
    kind: RowKind | None = None
    text: str = ""

    def keeps(self, row: HistoryRow) -> bool:
        return ((self.market is None or row.market == self.market) and (self.side is None or row.side == self.side)
                and (self.kind is None or row.kind == self.kind)
                and (not self.text or self.text.lower() in row.text))

    def apply(self, rows: Iterable[HistoryRow]) -> list[HistoryRow]:
        return [row for row in rows if self.keeps(row)]


# -- export ----------------------------------------------------------------------------------------------


def default_export_path(now: datetime, fmt: str) -> str:
    """`dydx-bot-history-20250102T102042Z.csv`: in the current directory, named by the UTC time."""
    return f"dydx-bot-history-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.{fmt}"


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def export_record(row: HistoryRow) -> dict[str, str | int | None]:
    """A row as exported: `time` ISO 8601 UTC, numbers as exact decimal strings, None where unknown."""
    return {"time": datetime.fromtimestamp(row.t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "kind": row.kind, "market": row.market, "side": row.side, "size": _exact(row.size),
            "price": _exact(row.price), "fee": _exact(row.fee), "realized_pnl": _exact(row.realized_pnl),
            "funding": _exact(row.funding), "position": _exact(row.position), "client_id": row.client_id,
            "detail": row.detail}


def export_text(rows: Sequence[HistoryRow], fmt: str) -> str:
    """`rows` in `fmt` ("csv": a header, then one line a row, empty where unknown; "jsonl": one object a
    line, null where unknown)."""
    records = [export_record(row) for row in rows]
    if fmt == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


class ExportError(Exception):
    """Why an export was not written, in one line naming the file."""


def export(rows: Sequence[HistoryRow], path: Path, fmt: str) -> int:
    """Write `rows` to `path` (a new file) in `fmt`; returns how many. Raises `ExportError`, leaving no file
    behind: the text is made first, then written in one go, and a failed write removes what it began."""
    text = export_text(rows, fmt)
    created = False
    try:
        with path.open("x", encoding="utf-8", newline="") as file:
            created = True
            file.write(text)
    except FileExistsError:
        raise ExportError(f"{path}: already exists, not overwritten: choose another name") from None
    except OSError as exc:
        if created:  # a write or its flush failed: no half-written file is left
            path.unlink(missing_ok=True)
        raise ExportError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    return len(rows)
