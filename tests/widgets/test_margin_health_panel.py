"""The margin health panel: figures, the usage gauge coloured by the ladder's rungs, and the risk state
with its reason in the normal, de-risking, error and halted states."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.kernel.orders import StopIntent
from streams.risk.config import RiskConfig
from tests.support.dashboard import (
    PanelApp,
    T,
    derisking_account,
    derisking_risk,
    error_risk,
    normal_account,
    normal_risk,
    risk_after,
)
from widgets.margin_health import GAUGE, MarginHealthPanel, MarginState

SIZES = {"80": (36, 10), "160": (60, 12)}
HALTED = risk_after(("margin", (T - 1, Decimal(12_000), Decimal("0.25"), None)),
                    ("kill", (T, "kill switch (ui)", True)))
STATES = {
    "normal": MarginState(normal_account(), normal_risk(normal_account())),
    "de-risking": MarginState(derisking_account(), derisking_risk(derisking_account())),
    "error": MarginState(normal_account(), error_risk(normal_account())),
    "halted": MarginState(derisking_account(), HALTED),
    "waiting": MarginState(),
    "protected": MarginState(normal_account(), normal_risk(normal_account()), (
        StopIntent(T, "BTC-USD", "SELL", Decimal("0.1"), Decimal("88500"), 3 << 30),
        StopIntent(T, "ETH-USD", "BUY", Decimal("2.5"), Decimal("4120.5"), (3 << 30) + 1))),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(MarginHealthPanel(), STATES[state]), terminal_size=SIZES[size])


@pytest.mark.parametrize(("usage", "style"), [
    ("0.10", "$text-success"), ("0.50", "$text-warning"), ("0.70", "$text-error"), ("0.85", "bold $text-error"),
])
def test_usage_is_coloured_by_the_rung_it_reached(usage: str, style: str) -> None:
    assert MarginHealthPanel(RiskConfig()).usage_style(Decimal(usage)) == style


def test_the_gauge_marks_where_each_rung_starts() -> None:
    gauge = MarginHealthPanel(RiskConfig()).gauge(Decimal("0.2")).plain
    assert len(gauge) == GAUGE
    assert gauge == "███" + "░" * 4 + "┆" + "░" * 2 + "┆" + "░" * 1 + "┆" + "░" * 2
    assert MarginHealthPanel().gauge(None).plain == "░" * GAUGE
    assert MarginHealthPanel().gauge(Decimal(2)).plain == "█" * GAUGE
