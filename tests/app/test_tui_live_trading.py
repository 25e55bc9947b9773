"""Live trading from the dashboard, end to end and offline: the app with `--broker live` against the
loopback indexer (the replay server playing the recorded session of tests/support/trading_session.py) and
the loopback node stand-in, with a throwaway wallet, as tests/app/test_live_trading.py runs it headless.

The bot's own orders and one placed from the ticket must reach the node as signed transactions; the status
bar says whose orders they are; the mnemonic is never on screen. Mainnet is asked for in a modal screen
before anything connects. Nothing waits on a clock: the tests await the graph's own order stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import keyring
import pytest
from keyring.backends import null
from textual.pilot import Pilot
from textual.widgets import Input
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder

from app.backend import LiveSession
from app.screens.mainnet import MainnetScreen
from app.screens.order_ticket import OrderTicketScreen
from app.trading import TradingRequest
from app.tui import DashboardApp, Runtime
from streams.execution.networks import MAINNET_CONFIRMATION
from streams.kernel.orders import Fill, OrderUpdate
from streams.risk.derisk import IntentBlocked
from streams.risk.manual import MANUAL_CLIENT_IDS
from streams.sources.endpoints import Endpoints
from streams.sources.live import LiveConfig
from tests.support.dashboard import FakeClock
from tests.support.live_scenario import ACCOUNT_NUMBER, CHAIN_ID, GUARD, LiveScenario, Tapped, indexer_and_node
from tests.support.trading_session import MARKET

SIZE = (120, 36)


def live_app(session: LiveScenario, endpoints: Endpoints, request: TradingRequest,
             graphs: Tapped | None = None) -> DashboardApp:
    live = LiveConfig(endpoints, (MARKET,))
    return DashboardApp(session.config, start=live, live=live, trading=request, runtime=Runtime(
        graph_factory=graphs, clock=FakeClock(), memory=lambda: 182 * 2**20, status_interval=None))


def runs_of_three(words: str) -> set[str]:
    split = words.split()
    return {" ".join(split[i:i + 3]) for i in range(len(split) - 2)}


def where(app: DashboardApp) -> str:
    return str(app.query_one("#where").render())


def filled(count: int) -> Callable[[list[Any]], bool]:
    return lambda seen: sum(isinstance(event, Fill) for event in seen) >= count


def answered(client_id: int) -> Callable[[list[Any]], bool]:
    """The node's answer to an order (placed or refused), or the risk gate's refusal of its intent."""
    return lambda seen: any(isinstance(event, OrderUpdate | IntentBlocked) and
                            getattr(event, "client_id", None) == client_id for event in seen)


def client_ids(node) -> list[int]:
    ids = []
    for tx in node.sent:
        ids += [message.order.order_id.client_id for message in tx.messages if isinstance(message, MsgPlaceOrder)]
    return ids


async def test_the_dashboard_trades_live_on_the_node_the_ticket_too(session, wallet, words, monkeypatch) -> None:
    monkeypatch.setenv("DYDX_MNEMONIC", words)
    graphs = Tapped(session.config)
    # the connection stays up after the session: trading is still allowed when the ticket's order comes
    with indexer_and_node(session, wallet, idle_at_end=True) as (endpoints, node):
        app = live_app(session, endpoints, TradingRequest(False, node.url, 0), graphs)
        async with app.run_test(size=SIZE) as pilot:
            await graphs.until(filled(len(session.placed)))  # the indexer's answers, maybe before the node's
            assert await asyncio.to_thread(node.wait_for_broadcasts, len(session.placed), GUARD)
            assert client_ids(node) == [p.intent.client_id for p in session.placed]
            assert all(tx.signature_valid(CHAIN_ID, ACCOUNT_NUMBER, wallet.key.public_key_bytes) for tx in node.sent)
            session_now = app.backend.session
            assert isinstance(session_now, LiveSession) and session_now.broker is not None
            await pilot.pause()
            shown = where(app)
            assert "LIVE ORDERS" in shown and f"{CHAIN_ID} {wallet.address[:8]}…{wallet.address[-4:]}/0" in shown

            await pilot.press("t")
            ticket = app.screen
            assert isinstance(ticket, OrderTicketScreen) and ticket.market == MARKET
            ticket.query_one("#size", Input).value = "0.01"
            await pilot.pause()
            await pilot.press("enter")
            await graphs.until(answered(MANUAL_CLIENT_IDS))
            [placed] = [e for e in graphs.seen if answered(MANUAL_CLIENT_IDS)([e])]
            assert isinstance(placed, OrderUpdate) and placed.status == "PLACED", placed
            assert await asyncio.to_thread(node.wait_for_broadcasts, len(session.placed) + 1, GUARD)
            assert client_ids(node)[-1] == MANUAL_CLIENT_IDS
            screen = app.export_screenshot()
            assert not any(run in screen for run in runs_of_three(words))


@pytest.fixture
def no_mnemonic(monkeypatch):
    """No wallet anywhere: live trading stops at reading it, before any connection."""
    monkeypatch.delenv("DYDX_MNEMONIC", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(null.Keyring())
    yield
    keyring.set_keyring(previous)


UNREACHABLE = Endpoints("http://127.0.0.1:9", "ws://127.0.0.1:9/v4/ws")


async def type_phrase(pilot: Pilot, phrase: str) -> None:
    assert isinstance(pilot.app.screen, MainnetScreen)
    pilot.app.screen.query_one(Input).value = phrase
    await pilot.press("enter")


@pytest.mark.parametrize(("phrase", "refusal"), [
    (None, "mainnet not confirmed: nothing traded"),
    ("yes", "what was typed does not match"),
    (MAINNET_CONFIRMATION, "no wallet mnemonic"),  # confirmed: on to the wallet (none here), still offline
])
async def test_mainnet_asks_for_the_typed_phrase_before_anything_connects(session, no_mnemonic, phrase,
                                                                          refusal) -> None:
    app = live_app(session, UNREACHABLE, TradingRequest(True, None, 0))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainnetScreen) and app.backend.session is None
        if phrase is None:
            await pilot.press("escape")
        else:
            await type_phrase(pilot, phrase)
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert refusal in app.refusal and app.return_code == 1
    assert app.backend.session is None and app.backend.broker is None


async def test_no_source_starts_before_the_broker_is_connected(session, no_mnemonic) -> None:
    app = live_app(session, UNREACHABLE, TradingRequest(True, None, 0))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        app.action_toggle_source()  # `l`, which the confirmation in front would otherwise take
        await pilot.pause()
        assert app.backend.pending is None and app.backend.session is None
        assert [n.message for n in app._notifications] == [
            "live trading starts once the broker is connected: the source follows then"]


def test_snapshot_of_the_mainnet_confirmation(snap_compare, session) -> None:
    app = live_app(session, UNREACHABLE, TradingRequest(True, None, 0))

    async def typing(pilot: Pilot) -> None:
        await pilot.press(*"I understand")

    assert snap_compare(app, terminal_size=(80, 24), run_before=typing)
