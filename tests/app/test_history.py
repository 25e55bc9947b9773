"""The history of fills, orders and funding: on the bundled recording through the graph (its orders and the
session ledger's entries in -> history rows out) each fill is a row with what the ledger booked, each order
event and funding payment a row; the filters; the exports parsed back equal to the rows, Decimals exact; an
export that cannot be written says so in one line and leaves nothing behind."""

from __future__ import annotations

import csv
import json
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import reactivex

from app.history import EXPORT_COLUMNS, ExportError, History, HistoryFilter, default_export_path, export, export_text
from app.sources import DEFAULT_RECORDING
from streams.execution.ledger import LedgerEntry
from streams.execution.paper_broker import FundingPayment
from streams.graph import build_graph
from streams.kernel.orders import Fill, OrderIntent, OrderUpdate
from streams.sources.recording import open_recording

MONEY = ("size", "price", "fee", "realized_pnl", "funding", "position")


@pytest.fixture(scope="module")
def booked() -> tuple[History, list]:
    graph = build_graph(reactivex.from_iterable(open_recording(DEFAULT_RECORDING).frames()), all_snapshots=False)
    values: list = []
    reactivex.merge(graph.orders, graph.ledger).subscribe(values.append)  # as the dashboard binds them
    graph.connect()
    history = History()
    for value in values:
        history.add(value)
    return history, values


def test_each_fill_is_a_row_with_what_the_ledger_booked(booked) -> None:
    history, values = booked
    entries = [value for value in values if isinstance(value, LedgerEntry)]
    fills = [row for row in history.rows if row.kind == "fill"]
    assert len(fills) == len(entries) == sum(isinstance(value, Fill) for value in values) > 0
    for row, entry in zip(fills, entries, strict=True):
        f = entry.fill
        assert (row.t, row.market, row.side, row.size, row.price, row.fee, row.client_id) == (
            f.t, f.market, f.side, f.size, f.price, f.fee, f.client_id)
        assert (row.realized_pnl, row.position, row.funding) == (entry.realized_pnl, entry.position, None)
    assert any(row.realized_pnl for row in fills)


def test_orders_and_funding_payments_are_rows_too(booked) -> None:
    history, values = booked
    orders = [row for row in history.rows if row.kind == "order"]
    sent = [value for value in values if isinstance(value, OrderIntent)]
    updates = [value for value in values if isinstance(value, OrderUpdate)]
    assert len(orders) >= len(sent) + len(updates) > 0
    assert [row.client_id for row in orders if row.detail.startswith("sent ")] == [o.client_id for o in sent]
    assert all(row.side in ("BUY", "SELL") for row in orders)  # an update's row has its order's side
    ended = {u.client_id for u in updates if u.status in ("FILLED", "CANCELED", "EXPIRED", "REJECTED")}
    assert not ended & set(history._orders)  # ended orders are forgotten: a long session keeps the open ones
    funding = [value for value in values if isinstance(value, FundingPayment)]
    assert [row.funding for row in history.rows if row.kind == "funding"] == [p.amount for p in funding]
    assert history.added == len(history.rows)
    assert [row.t for row in history.rows] == sorted(row.t for row in history.rows)


def test_the_filters_keep_what_they_name(booked) -> None:
    rows = list(booked[0].rows)
    assert HistoryFilter().apply(rows) == rows
    eth_fills = HistoryFilter(market="ETH-USD", kind="fill").apply(rows)
    assert eth_fills and all(row.market == "ETH-USD" and row.kind == "fill" for row in eth_fills)
    sells = HistoryFilter(side="SELL").apply(rows)
    assert sells and all(row.side == "SELL" for row in sells) and len(sells) < len(rows)
    taker = HistoryFilter(text="TAKER").apply(rows)  # any case
    assert taker and all("taker" in row.detail for row in taker)
    assert HistoryFilter(market="SOL-USD").apply(rows) == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_parses_back_to_the_rows_exactly(booked, tmp_path: Path, fmt: str) -> None:
    rows = list(booked[0].rows)
    path = tmp_path / f"history.{fmt}"
    assert export(rows, path, fmt) == len(rows)
    text = path.read_text(encoding="utf-8")
    if fmt == "csv":
        records: list[dict] = list(csv.DictReader(text.splitlines()))
        assert text.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    else:
        records = [json.loads(line) for line in text.splitlines()]
        assert all(list(record) == list(EXPORT_COLUMNS) for record in records)
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        for name in MONEY:
            value = getattr(row, name)
            assert record[name] == ("" if fmt == "csv" else None) if value is None else Decimal(record[name]) == value
            if value is not None:
                assert "E" not in record[name] and Decimal(record[name]).as_tuple() == value.as_tuple()  # no float
        assert datetime.fromisoformat(record["time"]).timestamp() == pytest.approx(row.t, abs=1e-3)  # to the ms
        assert (record["kind"], record["market"], record["side"], record["detail"]) == (
            row.kind, row.market, row.side, row.detail)
        client = record["client_id"]
        assert (int(client) if client not in ("", None) else None) == row.client_id


def test_an_export_is_never_half_written_nor_over_another_file(booked, tmp_path: Path) -> None:
    rows = list(booked[0].rows)
    kept = tmp_path / "mine.csv"
    kept.write_text("mine")
    with pytest.raises(ExportError, match=r"mine\.csv: already exists, not overwritten"):
        export(rows, kept, "csv")
    assert kept.read_text() == "mine"
    missing = tmp_path / "no" / "such" / "dir.csv"
    with pytest.raises(ExportError, match=r"dir\.csv: cannot write it \(No such file or directory\)"):
        export(rows, missing, "csv")
    cut = tmp_path / "cut.jsonl"
    with _file_size_limit(1024):  # a disk that fills up during the write: it fails after it began
        with pytest.raises(ExportError, match=r"cut\.jsonl: cannot write it \(File too large\)"):
            export(rows, cut, "jsonl")
    assert not cut.exists()
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        export_text(rows, "xml")


@contextmanager
def _file_size_limit(size: int) -> Iterator[None]:
    """Writes past `size` bytes fail (EFBIG) in this process, for the `with` block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    before = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the error, instead of the signal's kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, before)


def test_the_default_path_is_named_by_the_utc_time() -> None:
    now = datetime(2025, 1, 2, 10, 20, 42, tzinfo=UTC)
    assert default_export_path(now, "csv") == "dydx-bot-history-20250102T102042Z.csv"
    assert default_export_path(now, "jsonl") == "dydx-bot-history-20250102T102042Z.jsonl"
