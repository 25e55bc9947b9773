"""The live-trading scenario the live tests share (headless, tests/app/test_live_trading.py, and the
dashboard, tests/app/test_tui_live_trading.py): the recorded session the loopback indexer plays to a
throwaway wallet, and a fresh indexer and node stand-in per run (fixtures: tests/app/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dydx_v4_client.wallet import Wallet

from streams.config import Config
from streams.sources.endpoints import Endpoints
from tests.support.dydx_node import Account, NodeStandIn
from tests.support.servers import replay_server
from tests.support.trading_session import HEIGHT, Placed, Venue

CHAIN_ID = "localdydxprotocol"
ACCOUNT_NUMBER, SEQUENCE = 31, 4


@dataclass(frozen=True)
class LiveScenario:
    config_path: Path
    config: Config
    recording: Path
    venue: Venue  # what it filled, in order, is what a live run must send

    @property
    def placed(self) -> list[Placed]:
        return self.venue.placed


@contextlib.contextmanager
def indexer_and_node(session: LiveScenario, wallet: Wallet, *, idle_at_end: bool = False
                     ) -> Iterator[tuple[Endpoints, NodeStandIn]]:
    """A fresh replay server (each plays its session once) and node stand-in that knows the wallet;
    `idle_at_end` keeps the connection open once the session is played (else the server closes it)."""
    node = NodeStandIn(height=HEIGHT, accounts={wallet.address: Account(ACCOUNT_NUMBER, SEQUENCE)}).start()
    try:
        with replay_server(session.recording, speed=None, idle_at_end=idle_at_end) as (rest_url, ws_url):
            yield Endpoints(rest_url, ws_url), node
    finally:
        node.stop()
