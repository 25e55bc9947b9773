"""The trading desk's keys, driven by the Pilot on a replayed recording in virtual time with the paper
account: the order ticket with its what-if, refusals of what is not an order, and the confirmations in
front of cancel all, flatten and the per-market pause. What the orders then do in the graph (the gate,
the broker) is tested on the streams (tests/risk/test_manual_desk.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Static

from app.screens.confirm import ConfirmScreen
from app.screens.order_ticket import OrderTicketScreen
from app.ticket import preview, ticket_intent
from streams.risk.manual import MANUAL_CLIENT_IDS
from tests.support.dashboard import Dashboard
from tests.support.dashboard_recording import T0, build_recording

SIZE = (80, 24)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_recording(tmp_path_factory.mktemp("dashboard") / "recording", minutes=3)


def log_texts(dash: Dashboard) -> list[str]:
    return [entry.text for entry in dash.app.view.model.log_state().entries]


async def open_ticket(dash: Dashboard, pilot: Pilot, size: str) -> OrderTicketScreen:
    await dash.play_to(pilot, T0 + 60)
    await pilot.press("t")
    screen = dash.app.screen
    assert isinstance(screen, OrderTicketScreen)
    screen.query_one("#size", Input).value = size
    await pilot.pause()
    return screen


async def test_the_ticket_shows_the_what_if_and_places_through_the_desk(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(dash, pilot, "0.01")
        shown = str(screen.query_one("#preview", Static).render())
        assert shown.startswith("margin usage ") and "→" in shown and "liquidation" in shown
        await pilot.press("enter")
        await dash.settle(pilot, 5)
        assert not isinstance(dash.app.screen, OrderTicketScreen)
        texts = log_texts(dash)
        assert any(text.startswith("order sent to the risk gate: BUY 0.01") for text in texts)
        assert any(text.startswith(f"order {MANUAL_CLIENT_IDS} ") for text in texts), texts[-5:]


async def test_what_is_not_an_order_cannot_be_placed(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(dash, pilot, "lots")
        assert str(screen.query_one("#preview", Static).render()) == "size 'lots' is not a number"
        assert screen.query_one("#place", Button).disabled
        screen.query_one("#size", Input).value = "0.01"
        screen.query_one("#type", Select).value = "limit"
        await pilot.pause()
        assert str(screen.query_one("#preview", Static).render()) == "a limit order needs a limit price, not ''"
        await pilot.press("escape")
        await dash.settle(pilot)
        assert not any("order sent" in text for text in log_texts(dash))


@pytest.mark.parametrize(("key", "question", "then"), [
    ("c", "Cancel every open order?", "cancel all orders (manual)"),
    ("p", "Pause the strategy on", "strategy paused on"),
])
async def test_the_desk_asks_first(recording: Path, key: str, question: str, then: str) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=SIZE) as pilot:
        await dash.play_to(pilot, T0 + 60)
        await pilot.press(key)
        assert isinstance(dash.app.screen, ConfirmScreen) and dash.app.screen.question.startswith(question)
        await pilot.press("n")  # no: nothing happens
        await dash.settle(pilot)
        assert not any(then in text for text in log_texts(dash))
        await pilot.press(key, "y")
        await dash.settle(pilot, 5)
        assert any(then in text for text in log_texts(dash)), log_texts(dash)[-5:]


def test_ticket_types_make_the_orders_the_chain_takes() -> None:
    slip = Decimal("0.002")
    market = ticket_intent("BTC-USD", "SELL", "0.5", "reduce-only", "", slip)
    assert (market.kind, market.time_in_force, market.reduce_only, market.max_slippage) == ("MARKET", "IOC", True, slip)
    post = ticket_intent("BTC-USD", "BUY", "0.5", "post-only", "97000", slip)
    assert (post.kind, post.price, post.post_only, post.time_in_force) == ("LIMIT", Decimal(97000), True, "GTT")
    assert ticket_intent("BTC-USD", "BUY", "0.5", "IOC", "97000", slip).time_in_force == "IOC"
    assert ticket_intent("BTC-USD", "BUY", "-1", "market", "", slip) == "size must be a positive number"
    assert preview(market, None, {}) == "no account state yet: no what-if"


def test_snapshot_of_the_ticket(snap_compare, recording: Path) -> None:
    dash = Dashboard.on(recording)

    async def open_screen(pilot: Pilot) -> None:
        await dash.play_to(pilot, T0 + 60)
        await pilot.press("t", *"0.25")
        await dash.steady(pilot)

    assert snap_compare(dash.app, terminal_size=SIZE, run_before=open_screen)


async def test_the_blotter_cancels_the_highlighted_order_asking_first_and_lists_the_trades(recording: Path) -> None:
    dash = Dashboard.on(recording)
    async with dash.app.run_test(size=(120, 40)) as pilot:
        await dash.play_to(pilot, T0 + 60)
        await dash.rest_an_order(pilot, "50000")
        await dash.settle(pilot, 5)
        blotter = await dash.open_blotter(pilot)
        orders = blotter.query_one("#orders", DataTable)
        assert orders.row_count == 1 and orders.get_row_at(0)[:2] == ["BTC-USD", "BUY"]
        assert orders.get_row_at(0)[7] == str(MANUAL_CLIENT_IDS)
        assert "LIMIT 50,000.00 post-only" in orders.get_row_at(0)
        assert str(blotter.query_one("#totals", Static).render()).startswith("realised ")
        await pilot.press("c")
        assert isinstance(dash.app.screen, ConfirmScreen)
        await pilot.press("y")
        await dash.settle(pilot, 5)
        blotter.show()
        assert orders.row_count == 0
        assert any(text.startswith(f"order {MANUAL_CLIENT_IDS} BTC-USD CANCELED") for text in log_texts(dash))


def test_the_blotter_and_history_states_follow_orders_the_ledger_and_funding() -> None:
    from app.view_model import DashboardModel
    from streams.execution.ledger import Ledger
    from streams.execution.paper_broker import FundingPayment
    from streams.kernel.orders import Fill, OrderIntent, OrderUpdate

    model = DashboardModel()
    limit = OrderIntent(T0, "ETH-USD", "BUY", Decimal("1"), price=Decimal("3000"), client_id=5)
    model.book([limit, OrderUpdate(T0, 5, "ETH-USD", "OPEN")])
    (order,) = model.blotter_state().orders
    assert (order.what, order.good_til, order.status) == ("LIMIT 3,000.00 GTT", "20 blocks", "OPEN")
    ledger = Ledger()  # the graph's stage, as it books the fills
    fills = [Fill(T0, "ETH-USD", "BUY", Decimal("1"), Decimal("3000"), Decimal("1.5"), "MAKER", 5),
             Fill(T0 + 1, "ETH-USD", "SELL", Decimal("1"), Decimal("3100"), Decimal("1.55"), "TAKER", 6)]
    model.book([*ledger.on_event(fills[0]), OrderUpdate(T0, 5, "ETH-USD", "FILLED", Decimal("1")),
                *ledger.on_event(fills[1])])
    model.book([FundingPayment(T0 + 3600, "ETH-USD", Decimal("1"), Decimal("3050"), Decimal("0.00001"),
                               Decimal("-0.0305"))])
    assert model.blotter_state().orders == ()
    history = model.history_state()
    assert [(row.kind, row.detail) for row in history.rows] == [
        ("order", "sent LIMIT 3,000.00 GTT"), ("order", "open"), ("fill", "maker"), ("order", "filled 1"),
        ("fill", "taker"), ("funding", "hourly rate 0.00001")]
    assert [row.realized_pnl for row in history.rows if row.kind == "fill"] == [0, 100]
    assert [row.funding for row in history.rows if row.funding is not None] == [Decimal("-0.0305")]
    assert history.added == 6 and history.pnl is None  # the totals are the ledger's SessionPnl, not re-counted
