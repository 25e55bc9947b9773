"""The trading desk's keys, driven by the Pilot on a replayed recording in virtual time with the paper
account: the order ticket with its what-if, refusals of what is not an order, and the confirmations in
front of cancel all, flatten and the per-market pause. What the orders then do in the graph (the gate,
the broker) is tested on the streams (tests/risk/test_manual_desk.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

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

    assert snap_compare(dash.app, terminal_size=SIZE, run_before=open_screen)
