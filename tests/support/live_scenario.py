"""The live-trading scenario the live tests share (headless, tests/app/test_live_trading.py, and the
dashboard, tests/app/test_tui_live_trading.py): the recorded session the loopback indexer plays to a
throwaway wallet, and a fresh indexer and node stand-in per run (fixtures: tests/app/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dydx_v4_client.wallet import Wallet
from reactivex import Observable

from streams.config import Config
from streams.execution.broker import Broker
from streams.graph import Graph, build_graph
from streams.kernel.frames import Frame
from streams.sources.endpoints import Endpoints
from streams.sources.subscriptions import Staleness
from tests.support.dydx_node import Account, NodeStandIn
from tests.support.servers import replay_server
from tests.support.trading_session import HEIGHT, Placed, Venue

CHAIN_ID = "localdydxprotocol"
ACCOUNT_NUMBER, SEQUENCE = 31, 4
GUARD = 120.0  # seconds: a hang guard, never a measurement


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


class Tapped:
    """The app's graph factory, which also follows each graph's order stream: a test awaits what the live
    graph did (on the app's loop, where the live source emits) instead of a clock."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.seen: list[Any] = []
        self._waiting: list[tuple[Callable[[list[Any]], bool], asyncio.Future[None]]] = []

    def __call__(self, frames: Observable[Frame], *, staleness: Staleness, broker: Broker | None = None) -> Graph:
        graph = build_graph(frames, self.config, broker, staleness=staleness)
        graph.orders.subscribe(self._on_order)
        return graph

    def _on_order(self, event: Any) -> None:
        self.seen.append(event)
        for done, future in self._waiting:
            if not future.done() and done(self.seen):
                future.set_result(None)

    async def until(self, done: Callable[[list[Any]], bool]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if done(self.seen):
            return
        self._waiting.append((done, future))
        await asyncio.wait_for(future, GUARD)
