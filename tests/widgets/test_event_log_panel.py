"""The event log: entries with their event time, written once each; a new log replaces the old one."""

from __future__ import annotations

import pytest
from textual.widgets import RichLog

from tests.support.dashboard import PanelApp, T
from widgets.event_log import EventLogPanel, EventLogState, LogEntry

SIZES = {"80": (80, 8), "160": (160, 8)}
ENTRIES = (
    LogEntry(T - 62, "source: replay default", "info"),
    LogEntry(T - 30, "BUY 0.5 BTC-USD LIMIT 97,010 post-only (score +0.42)", "order"),
    LogEntry(T - 29, "filled BUY 0.5 BTC-USD @ 97,010 maker, fee 0.49", "fill"),
    LogEntry(T, "risk REDUCE: nearest liquidation 5.3 % away <= 8.0 %", "risk"),
    LogEntry(None, "recordings/broken: not a recording (neither flows.mitm nor messages.jsonl is there)", "error"),
)
STATES = {"normal": EventLogState(ENTRIES[:3], 3), "de-risking": EventLogState(ENTRIES, 5),
          "empty": EventLogState()}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(EventLogPanel(), STATES[state]), terminal_size=SIZES[size])


def lines(app: PanelApp) -> list[str]:
    return [strip.text.rstrip() for strip in app.query_one(RichLog).lines]


async def test_only_new_entries_are_written_and_a_new_log_starts_afresh() -> None:
    app = PanelApp(EventLogPanel(), EventLogState(ENTRIES[:2], 2))
    async with app.run_test(size=SIZES["80"]):
        app.panel.render_state(EventLogState(ENTRIES[:4], 4))
        app.panel.render_state(EventLogState(ENTRIES[:4], 4))
        assert [line[9:] for line in lines(app)] == [entry.text for entry in ENTRIES[:4]]
        app.panel.render_state(EventLogState(ENTRIES[4:], 1, log=1))
        assert lines(app) == ["       — " + ENTRIES[4].text]
