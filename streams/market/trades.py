"""The trades tape: each market's trades from v4_trades (the `subscribed` snapshot, updates, batches) and
REST `/v4/trades`, one `MarketTrade` per trade, oldest first and each once, those of a notional at or above
`[tape] large_notional` marked large.

A snapshot comes newest first and comes again on every resubscription, and REST pages overlap it: trades
are applied in (`createdAt`, `id`) order, and one not after the newest applied of its market is a repeat.
The stage is read by the dashboard only (`Graph.trades`): nothing subscribes to it headless, so the
routed events never call it there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from operator import attrgetter
from typing import Annotated, Literal, cast

from msgspec import Struct
from reactivex import Observable

from streams.kernel.settings import USDC, Section
from streams.kernel.stage import NOTHING, Stage, lift
from streams.market import events as ev
from streams.market.parse import REST, channel_keys

TRADES = "v4_trades"
TRADE_READS = (*channel_keys(TRADES), REST)
"""The events the tape and the candles built from trades read (`rx.Routed.only`)."""


class TapeConfig(Section, frozen=True):
    """The `[tape]` config section."""

    large_notional: Annotated[Decimal, USDC] = Decimal(50_000)
    """A trade of at least this notional (size x price, USDC) is marked large."""


class MarketTrade(Struct, frozen=True):
    """One trade of `market`, at event time `t` (when the message carrying it arrived)."""

    t: float
    market: str
    id: str
    side: Literal["BUY", "SELL"]
    """The taker's side."""
    size: Decimal
    price: Decimal
    created_at: str
    """When the venue made it (`YYYY-MM-DDTHH:MM:SS.mmmZ`)."""
    type: str
    """LIMIT, MARKET, LIQUIDATED, DELEVERAGED or TWAP_SUBORDER."""
    large: bool

    @property
    def notional(self) -> Decimal:
        return self.size * self.price


def trades_in(event: ev.Event) -> tuple[str | None, list[ev.Trade]] | None:
    """The market and the trades an event carries, or None for an event that carries none."""
    # contents are decoded by channel (`streams.market.parse`): v4_trades' are TradesUpdates and a
    # TradesSnapshot, which the casts say to the type checker
    if type(event) is ev.ChannelData and event.channel == TRADES:
        return event.id, cast(ev.TradesUpdate, event.contents).trades
    if type(event) is ev.ChannelBatchData and event.channel == TRADES:
        updates = cast("list[ev.TradesUpdate]", event.contents)
        return event.id, [trade for update in updates for trade in update.trades]
    if type(event) is ev.Subscribed and event.channel == TRADES:
        return event.id, cast(ev.TradesSnapshot, event.contents).trades
    if type(event) is ev.RestResponse and type(body := event.body) is ev.TradesResponse:
        return event.path.split("?", 1)[0].rsplit("/", 1)[-1], body.trades
    return None


trade_order = attrgetter("createdAt", "id")
"""The order trades are applied in: ids are block height, transaction and event index in fixed-width hex."""


class Tape(Stage[ev.Event, MarketTrade]):
    def __init__(self, config: TapeConfig = TapeConfig()) -> None:
        self._large = config.large_notional
        self._newest: dict[str, tuple[str, str]] = {}  # market -> (createdAt, id) of the newest trade

    def on_event(self, event: ev.Event) -> Iterable[MarketTrade]:
        carried = trades_in(event)
        if carried is None or not carried[0] or not carried[1]:
            return NOTHING
        market, trades = carried
        assert market is not None  # checked above: the checker does not follow the tuple
        newest = self._newest.get(market, ("", ""))
        out = []
        for trade in sorted(trades, key=trade_order):
            if (trade.createdAt, trade.id) <= newest:
                continue
            newest = (trade.createdAt, trade.id)
            out.append(MarketTrade(event.t, market, trade.id, trade.side, trade.size, trade.price, trade.createdAt,
                                   trade.type, trade.size * trade.price >= self._large))
        self._newest[market] = newest
        return out


def tape(config: TapeConfig = TapeConfig()) -> Callable[[Observable[ev.Event]], Observable[MarketTrade]]:
    """The operator: typed events in, each market's new trades out, oldest first."""
    return lift(lambda: Tape(config))
