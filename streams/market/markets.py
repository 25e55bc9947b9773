"""Per-market state from v4_markets: parameters (IMF, MMF, open-interest caps, tick and step sizes),
oracle price, funding rate and open interest, as `MarketInfo`.

The `subscribed` snapshot and REST `/v4/perpetualMarkets` give whole markets; `trading` updates are
partial patches merged into them (a market listed later arrives as a whole one); `oraclePrices` set the
price. A `MarketInfo` goes out, once per message, for each market whose shown state changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reactivex import Observable

from streams.kernel.stage import NOTHING, Stage, lift
from streams.market import events as ev
from streams.market.parse import REST, channel_keys
from streams.market.state import MarketInfo

CHANNEL = "v4_markets"
MARKET_READS = (*channel_keys(CHANNEL), REST)
"""The events `Markets` reads (`rx.Routed.only`): the others it ignores."""

HOUR = 3600.0


def seconds_to_funding(t: float) -> float:
    """Funding is paid at every whole hour (the chain's funding-tick epoch; `nextFundingRate` is that
    hour's rate): seconds from event time `t` to the next payment."""
    return HOUR - t % HOUR


# MarketInfo field <- Indexer field
_FIELDS = {
    "status": "status",
    "market_type": "marketType",
    "oracle_price": "oraclePrice",
    "next_funding_rate": "nextFundingRate",
    "initial_margin_fraction": "initialMarginFraction",
    "maintenance_margin_fraction": "maintenanceMarginFraction",
    "open_interest": "openInterest",
    "open_interest_lower_cap": "openInterestLowerCap",
    "open_interest_upper_cap": "openInterestUpperCap",
    "tick_size": "tickSize",
    "step_size": "stepSize",
    "atomic_resolution": "atomicResolution",
    "quantum_conversion_exponent": "quantumConversionExponent",
    "step_base_quantums": "stepBaseQuantums",
    "subticks_per_tick": "subticksPerTick",
    "clob_pair_id": "clobPairId",
    "price_change_24h": "priceChange24H",
    "volume_24h": "volume24H",
}
_WIRE = tuple(_FIELDS.values())
_REQUIRED = ("status", "marketType", "initialMarginFraction", "maintenanceMarginFraction", "tickSize",
             "stepSize", "atomicResolution", "quantumConversionExponent", "stepBaseQuantums",
             "subticksPerTick", "clobPairId")
"""What a market cannot be shown without (a patch for a market never seen whole lacks them)."""

ORACLE_T = "oracle_t"


class Markets(Stage[ev.Event, MarketInfo]):
    """Every market's state, kept as its Indexer fields (only those `MarketInfo` shows)."""

    def __init__(self) -> None:
        self._markets: dict[str, dict[str, Any]] = {}

    def on_event(self, event: ev.Event) -> Iterable[MarketInfo]:
        kind = type(event)
        changed: dict[str, None] = {}  # an ordered set
        if kind is ev.ChannelData and event.channel == CHANNEL:
            self._update(event.contents, event.t, changed)
        elif kind is ev.ChannelBatchData and event.channel == CHANNEL:
            for update in event.contents:
                self._update(update, event.t, changed)
        elif kind is ev.Subscribed and event.channel == CHANNEL:
            self._replace(event.contents.markets, event.t, changed)
        elif kind is ev.RestResponse and type(event.body) is ev.PerpetualMarketsResponse:
            self._replace(event.body.markets, event.t, changed)
        else:
            return NOTHING
        return [info for ticker in changed if (info := self.info(ticker, event.t)) is not None]

    def info(self, ticker: str, t: float) -> MarketInfo | None:
        """The market as known at event time `t`, None if it was never seen whole."""
        fields = self._markets.get(ticker)
        if fields is None or any(fields.get(name) is None for name in _REQUIRED):
            return None
        return MarketInfo(t=t, market=ticker, oracle_t=fields.get(ORACLE_T),
                          **{name: fields.get(wire) for name, wire in _FIELDS.items()})

    def _replace(self, markets: dict[str, ev.PerpetualMarket], t: float, changed: dict[str, None]
                 ) -> None:
        for ticker, market in markets.items():
            old = self._markets.get(ticker, {})
            new = {wire: getattr(market, wire) for wire in _WIRE}
            if new["oraclePrice"] is not None:
                same_price = new["oraclePrice"] == old.get("oraclePrice")
                new[ORACLE_T] = old.get(ORACLE_T) if same_price else t
            if new != old:
                self._markets[ticker] = new
                changed[ticker] = None

    def _update(self, update: ev.MarketsUpdate, t: float, changed: dict[str, None]) -> None:
        for ticker, patch in (update.trading or {}).items():
            fields = self._markets.setdefault(ticker, {})
            for wire in _WIRE:
                value = getattr(patch, wire, None)
                if value is not None and fields.get(wire) != value:
                    fields[wire] = value
                    changed[ticker] = None
        for ticker, oracle in (update.oraclePrices or {}).items():
            fields = self._markets.setdefault(ticker, {})
            if fields.get("oraclePrice") != oracle.oraclePrice:
                fields["oraclePrice"] = oracle.oraclePrice
                fields[ORACLE_T] = t
                changed[ticker] = None


def markets() -> Callable[[Observable[ev.Event]], Observable[MarketInfo]]:
    """The operator: typed events in, a `MarketInfo` for each market change out."""
    return lift(Markets)
