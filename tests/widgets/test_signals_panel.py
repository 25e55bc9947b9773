"""The signals panel: scores with their bars and the selected market's contributors."""

from __future__ import annotations

import pytest
from msgspec import structs

from streams.signals.scoring import Contributor
from tests.support.dashboard import PanelApp, scores
from widgets.rows import KeyedRows
from widgets.signals import HALF_BAR, SignalsPanel, SignalsState, contributor_row, score_bar

SIZES = {"80": (80, 14), "160": (160, 14)}
STATES = {
    "normal": SignalsState(scores(), "BTC-USD"),
    "warming-up": SignalsState(scores(), "SOL-USD"),
    "no-selection": SignalsState(scores(), None),
    "empty": SignalsState(),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: str) -> None:
    assert snap_compare(PanelApp(SignalsPanel(), STATES[state]), terminal_size=SIZES[size])


@pytest.mark.parametrize(("score", "bar", "style"), [
    (0.0, "░" * HALF_BAR + "│" + "░" * HALF_BAR, "$text-muted"),
    (0.5, "░" * HALF_BAR + "│" + "█" * 4 + "░" * 4, "$text-success"),
    (-1.0, "█" * HALF_BAR + "│" + "░" * HALF_BAR, "$text-error"),
])
def test_the_bar_fills_from_zero_towards_the_sign(score: float, bar: str, style: str) -> None:
    assert score_bar(score) == (bar, style)


def test_a_contributor_shows_its_share_of_the_score() -> None:
    row = contributor_row(Contributor("macd", 0.42, 0.8875, 1.0, 0.2219)).plain.split()
    assert row == ["macd", "0.42", "+0.89", "×1", "+0.22"]
    assert contributor_row(Contributor("rsi", None, None, 1.0, 0.0)).plain.split() == ["rsi", "warming", "up"]


async def test_with_every_market_scored_the_selected_markets_contributors_stay_in_view() -> None:
    btc = scores()[0]
    many = tuple(structs.replace(btc, market=f"M{n:03d}-USD") for n in range(250)) + (btc,)
    app = PanelApp(SignalsPanel(), SignalsState(many, "BTC-USD"))
    async with app.run_test(size=(80, 14)) as pilot:
        await pilot.pause()
        panel, contributors = app.panel.content_region, app.query_one("#contributors", KeyedRows)
        assert contributors.region.height == len(btc.contributors)
        assert panel.contains_region(contributors.region)
        assert app.query_one("#scores", KeyedRows).region.height == panel.height - 3 - len(btc.contributors)
