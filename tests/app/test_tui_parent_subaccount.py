"""`--parent-subaccount` end to end and offline: the dashboard with `--broker live` following parent 0
through the live source, against the loopback indexer playing tests/support/parent_session.py (an
isolated TRY-USD short in child 128, a dropped connection, the catch-up over `/v4/orders|fills/
parentSubaccountNumber`) and the loopback node stand-in. The child's position is in the account view on
its own collateral; an order for it goes to child 128 on the node; one for PLN-USD, which would take the
empty child 256, is refused with the reason (and, as every refused order does, turns the ladder to
NO_NEW_RISK: the TRY-USD order, which reduces the short, still goes). Nothing waits on a clock: the
test awaits the graph's orders."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from textual.widgets import Input, Select
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder

from app.screens.order_ticket import OrderTicketScreen
from app.trading import TradingRequest
from app.tui import DashboardApp, Runtime
from streams.config import Config
from streams.kernel.orders import Fill, OrderUpdate
from streams.risk.derisk import IntentBlocked
from streams.risk.manual import MANUAL_CLIENT_IDS
from streams.sources.endpoints import Endpoints
from tests.support.dashboard import FakeClock
from tests.support.dydx_node import Account, NodeStandIn
from tests.support.live_scenario import ACCOUNT_NUMBER, CHAIN_ID, GUARD, SEQUENCE, Tapped
from tests.support.parent_session import AFTER_SHORT, AFTER_USDC, CHILD, HEIGHT, LIVE, TRY_USD, write_parent_session
from tests.support.servers import replay_server

QUIET = msgspec.convert({"strategy": {"min_trade_notional": "100000000"}, "risk": {"protection": {"live": False}}},
                        Config)
"""The strategy never trades (no order is worth 100 M USDC) and places no stops: the orders are the ticket's."""


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, wallet) -> Path:
    path = tmp_path_factory.mktemp("parent") / "recording"
    write_parent_session(path, wallet.address)
    return path


async def ticket_order(pilot, app: DashboardApp, market: str, size: str, limit: str) -> None:
    """A post-only BUY from the order ticket, on the market the dashboard has selected."""
    await pilot.press("t")
    ticket = app.screen
    assert isinstance(ticket, OrderTicketScreen) and ticket.market == market, ticket
    ticket.query_one("#size", Input).value = size
    ticket.query_one("#type", Select).value = "post-only"
    ticket.query_one("#limit", Input).value = limit
    await pilot.pause()
    await pilot.press("enter")


async def reconnected_positions(pilot, app: DashboardApp) -> list:
    """The account view's positions once the fresh snapshot after the reconnect is shown (the view takes
    the graph's account on its own refresh): up to 100 UI turns."""
    for _ in range(100):
        account = app.view.model.positions_state().account
        if account is not None and [p.size for p in account.positions] == [AFTER_SHORT]:
            break
        await pilot.pause()
    assert account is not None
    return list(account.positions)


def answered(client_id: int):
    """The node's answer to an order (placed or refused), or the risk gate's refusal of its intent."""
    return lambda seen: any(isinstance(e, OrderUpdate | IntentBlocked) and getattr(e, "client_id", None) == client_id
                            for e in seen)


async def test_a_parent_s_isolated_child_is_shown_and_traded_live(recording, wallet, words, monkeypatch) -> None:
    monkeypatch.setenv("DYDX_MNEMONIC", words)
    graphs = Tapped(QUIET)
    node = NodeStandIn(height=HEIGHT, accounts={wallet.address: Account(ACCOUNT_NUMBER, SEQUENCE)}).start()
    try:
        with replay_server(recording, speed=None, idle_at_end=True) as (rest_url, ws_url):
            live = dataclasses.replace(LIVE, endpoints=Endpoints(rest_url, ws_url))
            app = DashboardApp(QUIET, start=live, live=live, trading=TradingRequest(False, node.url, 0, parent=True),
                               runtime=Runtime(graph_factory=graphs, clock=FakeClock(), memory=lambda: 182 * 2**20,
                                               status_interval=None))
            async with app.run_test(size=(120, 36)) as pilot:
                # the catch-up after the dropped session reports the fill child 128 made while away, once
                await graphs.until(lambda seen: any(isinstance(e, Fill) for e in seen))
                [missed] = [e for e in graphs.seen if isinstance(e, Fill)]
                assert (missed.market, missed.side, missed.size) == ("TRY-USD", "BUY", Decimal(100)), missed

                [short] = await reconnected_positions(pilot, app)
                assert (short.market, short.size, short.margin_mode) == ("TRY-USD", AFTER_SHORT, "ISOLATED")
                # on child 128's own USDC alone (dydx-reference.md §6): p_liq = USDC / (|s|·MMF − s)
                mmf = Decimal(TRY_USD["maintenanceMarginFraction"])
                assert short.liquidation_price == AFTER_USDC / (abs(AFTER_SHORT) * mmf - AFTER_SHORT)

                # the markets panel lists PLN-USD first
                await ticket_order(pilot, app, "PLN-USD", "1000", "0.24000")  # new: child 256 has no USDC
                await graphs.until(answered(MANUAL_CLIENT_IDS))
                await pilot.press("right_square_bracket")
                await pilot.pause()
                await ticket_order(pilot, app, "TRY-USD", "100", "0.02920")  # buys back: child 128's market
                await graphs.until(answered(MANUAL_CLIENT_IDS + 1))
                assert await asyncio.to_thread(node.wait_for_broadcasts, 1, GUARD)
                screen = app.export_screenshot()
    finally:
        node.stop()
    updates = {getattr(e, "client_id", None): e for e in graphs.seen if isinstance(e, OrderUpdate | IntentBlocked)}
    assert updates[MANUAL_CLIENT_IDS + 1].status == "PLACED", updates
    refused = updates[MANUAL_CLIENT_IDS]
    assert refused.status == "REJECTED" and refused.market == "PLN-USD", refused
    assert "child subaccount 256 (unused), which holds 0 USDC of the " in refused.reason
    assert "transfer it to subaccount 256 first" in refused.reason
    placed = [m.order.order_id for tx in node.sent for m in tx.messages if isinstance(m, MsgPlaceOrder)]
    assert [(o.client_id, o.clob_pair_id, o.subaccount_id.number, o.subaccount_id.owner) for o in placed] == [
        (MANUAL_CLIENT_IDS + 1, int(TRY_USD["clobPairId"]), CHILD, wallet.address)]
    assert all(tx.signature_valid(CHAIN_ID, ACCOUNT_NUMBER, wallet.key.public_key_bytes) for tx in node.sent)
    assert [e for e in graphs.seen if isinstance(e, Fill)] == [missed]  # the catch-up's fill, reported once
    assert "TRY-USD" in screen and "PLN-USD" in screen
    assert "0.05204" in screen  # the positions panel's liquidation price, 47.067534 / 904.5 on the tick
