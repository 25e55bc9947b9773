"""What the graph needs of a broker that trades on a venue (`LiveBroker`): the graph depends on this, not on
the live broker, so that a replay never imports dydx-v4-client, grpc and bip_utils (most of start-up)."""

from __future__ import annotations

from typing import Any, Protocol

from reactivex import Observable
from reactivex.abc import DisposableBase

from streams.execution.paper_broker import FundingPayment
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderUpdate, StopIntent
from streams.market.state import BookTop, MarketInfo


class Broker(Protocol):
    events: Observable[OrderUpdate | Fill | FundingPayment]
    """Order updates, fills and the funding payments the venue reports."""

    def bind(self, *, markets: Observable[MarketInfo], books: Observable[BookTop],
             account: Observable[Any]) -> DisposableBase:
        """Follow market parameters, book tops and the account's messages; dispose to stop."""
        ...

    def submit(self, intent: OrderIntent | StopIntent) -> None: ...

    def cancel(self, intent: CancelIntent) -> None: ...
