"""The blotter's good-til-block countdown: a replay with real block heights (v4_block_height, a block every
1.1 s) in, a resting short-term paper order's "in N blocks (~S s)" out, counting down as the heights
arrive; and the countdown's words on hand-built heights."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import DataTable

from app.screens.blotter import countdown
from app.view_model import DashboardModel
from streams.kernel.orders import OrderIntent, OrderUpdate
from streams.market.state import BlockHeight
from streams.risk.manual import MANUAL_CLIENT_IDS
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import T0, build_recording

HEIGHT = 30_000_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("blocks") / "recording", minutes=3, block_height=HEIGHT)


def test_the_countdown_says_blocks_left_at_the_block_rate_heard_then_expired() -> None:
    assert countdown(HEIGHT + 20, BlockHeight(T0, HEIGHT + 8, 1.1)) == "in 12 blocks (~13 s)"
    assert countdown(HEIGHT + 20, BlockHeight(T0, HEIGHT + 19)) == "in 1 block"  # no rate heard yet
    assert countdown(HEIGHT + 20, BlockHeight(T0, HEIGHT + 20, 1.1)) == "this block"
    assert countdown(HEIGHT + 20, BlockHeight(T0, HEIGHT + 21, 1.1)) == "expired"
    assert countdown(HEIGHT + 20, None) == f"block {HEIGHT + 20}"


def test_the_model_counts_an_open_order_down_from_its_updates_good_til_block() -> None:
    model = DashboardModel()
    model.book([OrderIntent(T0, "ETH-USD", "BUY", Decimal(1), price=Decimal(3000), client_id=5)])
    assert model.blotter_state().orders[0].good_til == "20 blocks"  # no good-til-block said: the window
    model.book([OrderUpdate(T0, 5, "ETH-USD", "OPEN", good_til_block=HEIGHT + 20)])
    model.apply([BlockHeight(T0, HEIGHT, None), BlockHeight(T0 + 1.1, HEIGHT + 1, 1.1)])
    assert model.blotter_state().orders[0].good_til == "in 19 blocks (~21 s)"
    model.book([OrderUpdate(T0 + 2, 5, "ETH-USD", "PARTIALLY_FILLED", Decimal("0.5"))])  # says no block
    model.apply([BlockHeight(T0 + 25, HEIGHT + 21, 1.19)])
    assert model.blotter_state().orders[0].good_til == "expired"


async def test_the_blotter_counts_a_resting_paper_order_down_as_the_replayed_heights_arrive(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=(160, 40)) as pilot:
        await dash.play_to(pilot, T0 + 60)
        await dash.rest_an_order(pilot, "50000")
        await dash.settle(pilot, 5)
        blotter = await dash.open_blotter(pilot)
        orders = blotter.query_one("#orders", DataTable)
        row = orders.get_row_at(0)
        assert row[7] == str(MANUAL_CLIENT_IDS) and row[4].startswith("in ") and row[4].endswith(" s)"), row
        left = int(row[4].split()[1])
        assert 0 < left <= 20
        await dash.play_to(pilot, dash.app.view.model.t + 3 * 1.1)
        blotter.show()
        later = orders.get_row_at(0)[4] if orders.row_count else "gone"
        assert later.startswith("in ") and int(later.split()[1]) < left, later


async def rest_two_orders_and_open_the_blotter(dash: Dashboard, pilot) -> None:
    """Two post-only paper orders far under the market, placed 6 s apart, then the replay paused at a fixed
    event time: each counts down from the height it was placed at, so their countdowns differ."""
    for t, limit in ((T0 + 60, "50000"), (T0 + 66, "49000")):
        await dash.play_to(pilot, t)
        await dash.rest_an_order(pilot, limit)
    await dash.play_to(pilot, T0 + 70)
    dash.app.clear_notifications()  # their toasts expire on the wall clock: not what the snapshot is of
    await pilot.press("b")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_snapshot_of_the_blotter_counting_down(snap_compare, recording: Path, size: tuple[int, int]) -> None:
    dash = Dashboard.on(recording)
    assert snap_compare(dash.app, terminal_size=size,
                        run_before=lambda pilot: rest_two_orders_and_open_the_blotter(dash, pilot))
