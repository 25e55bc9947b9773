"""Typed events for everything the dYdX Indexer sends: one struct per WebSocket message kind, one per
channel payload, one per REST response the bot uses.

Prices and sizes are `Decimal` from the wire on (the indexer sends long decimal strings). Unknown
fields are ignored, so a newer indexer version that adds fields does not break parsing. Every event
carries `t`, the time the message arrived (recorded or live), which is the only clock above layer 2.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from msgspec import Struct

# ---------------------------------------------------------------------------------------------------
# Shared payload pieces


class PriceLevel(Struct, frozen=True):
    """A snapshot level: objects `{price, size}` (updates use `[price, size]` arrays instead)."""

    price: Decimal
    size: Decimal


Level = tuple[Decimal, Decimal]
"""An update level `[price, size]`: size is the new absolute total at that price, 0 deletes it."""


class PerpetualMarket(Struct, frozen=True):
    """One entry of `/v4/perpetualMarkets` (also the v4_markets snapshot)."""

    ticker: str
    clobPairId: str
    status: str
    initialMarginFraction: Decimal
    maintenanceMarginFraction: Decimal
    atomicResolution: int
    quantumConversionExponent: int
    stepBaseQuantums: int
    subticksPerTick: int
    tickSize: Decimal
    stepSize: Decimal
    oraclePrice: Decimal | None = None
    priceChange24H: Decimal | None = None
    volume24H: Decimal | None = None
    trades24H: int | None = None
    nextFundingRate: Decimal | None = None
    openInterest: Decimal | None = None
    marketType: str = "CROSS"
    openInterestLowerCap: Decimal | None = None
    openInterestUpperCap: Decimal | None = None
    baseOpenInterest: Decimal | None = None
    defaultFundingRate1H: Decimal | None = None


class MarketPatch(Struct, frozen=True):
    """A v4_markets `trading` entry: any subset of the market's fields, merged into the cached market."""

    ticker: str | None = None
    clobPairId: str | None = None
    status: str | None = None
    initialMarginFraction: Decimal | None = None
    maintenanceMarginFraction: Decimal | None = None
    atomicResolution: int | None = None
    quantumConversionExponent: int | None = None
    stepBaseQuantums: int | None = None
    subticksPerTick: int | None = None
    tickSize: Decimal | None = None
    stepSize: Decimal | None = None
    priceChange24H: Decimal | None = None
    volume24H: Decimal | None = None
    trades24H: int | None = None
    nextFundingRate: Decimal | None = None
    openInterest: Decimal | None = None
    marketType: str | None = None
    openInterestLowerCap: Decimal | None = None
    openInterestUpperCap: Decimal | None = None
    baseOpenInterest: Decimal | None = None
    defaultFundingRate1H: Decimal | None = None


class OraclePrice(Struct, frozen=True):
    oraclePrice: Decimal
    effectiveAt: str | None = None
    effectiveAtHeight: str | None = None
    marketId: int | None = None


class Trade(Struct, frozen=True):
    """`side` is the taker side; `type` is LIMIT, MARKET, LIQUIDATED, DELEVERAGED or TWAP_SUBORDER."""

    id: str
    side: Literal["BUY", "SELL"]
    size: Decimal
    price: Decimal
    createdAt: str
    type: str = "LIMIT"
    createdAtHeight: str | None = None


class Candle(Struct, frozen=True):
    startedAt: str
    ticker: str
    resolution: str
    low: Decimal
    high: Decimal
    open: Decimal
    close: Decimal
    baseTokenVolume: Decimal
    usdVolume: Decimal
    trades: int
    startingOpenInterest: Decimal | None = None
    orderbookMidPriceOpen: Decimal | None = None
    orderbookMidPriceClose: Decimal | None = None


class PerpetualPosition(Struct, frozen=True):
    market: str
    status: str
    side: str
    size: Decimal
    maxSize: Decimal | None = None
    entryPrice: Decimal | None = None
    exitPrice: Decimal | None = None
    realizedPnl: Decimal | None = None
    unrealizedPnl: Decimal | None = None
    netFunding: Decimal | None = None
    sumOpen: Decimal | None = None
    sumClose: Decimal | None = None
    createdAt: str | None = None
    closedAt: str | None = None
    subaccountNumber: int | None = None
    positionId: str | None = None


class AssetPosition(Struct, frozen=True):
    """`size` is unsigned; `side` SHORT means a negative balance."""

    symbol: str
    side: str
    size: Decimal
    assetId: str | None = None
    subaccountNumber: int | None = None


class Order(Struct, frozen=True):
    """Updates may be partial (an expiry carries only id, status and removalReason)."""

    id: str
    status: str
    side: str | None = None
    size: Decimal | None = None
    price: Decimal | None = None
    ticker: str | None = None
    type: str | None = None
    timeInForce: str | None = None
    clientId: str | None = None
    clobPairId: str | None = None
    subaccountId: str | None = None
    orderFlags: str | None = None
    postOnly: bool | None = None
    reduceOnly: bool | None = None
    totalFilled: Decimal | None = None
    goodTilBlock: str | None = None
    goodTilBlockTime: str | None = None
    triggerPrice: Decimal | None = None
    removalReason: str | None = None
    createdAtHeight: str | None = None
    updatedAt: str | None = None
    updatedAtHeight: str | None = None
    subaccountNumber: int | None = None


class IndexerFill(Struct, frozen=True):
    id: str
    side: str
    size: Decimal
    price: Decimal
    liquidity: str
    type: str
    createdAt: str
    ticker: str | None = None
    market: str | None = None
    fee: Decimal | None = None
    quoteAmount: Decimal | None = None
    orderId: str | None = None
    clobPairId: str | None = None
    eventId: str | dict | None = None  # very old indexers sent a Node Buffer object
    createdAtHeight: str | None = None
    subaccountNumber: int | None = None


class Subaccount(Struct, frozen=True):
    """REST `/v4/addresses/{a}/subaccountNumber/{n}` body (`subaccount`)."""

    address: str
    subaccountNumber: int
    equity: Decimal
    freeCollateral: Decimal
    openPerpetualPositions: dict[str, PerpetualPosition] = {}
    assetPositions: dict[str, AssetPosition] = {}
    marginEnabled: bool = True
    updatedAtHeight: str | None = None
    latestProcessedBlockHeight: str | None = None


class ParentSubaccount(Struct, frozen=True):
    """REST `/v4/addresses/{a}/parentSubaccountNumber/{n}` body (`subaccount`): the parent subaccount `n`
    (< 128) and its children `128·k + n`, which hold isolated positions each with their own collateral.
    `equity` and `freeCollateral` are summed over all of them (comlink `ParentSubaccountResponse`)."""

    address: str
    parentSubaccountNumber: int
    equity: Decimal
    freeCollateral: Decimal
    childSubaccounts: list[Subaccount] = []


# ---------------------------------------------------------------------------------------------------
# Channel payloads: snapshots (the `subscribed` contents) and updates (`channel_data` contents)


class MarketsSnapshot(Struct, frozen=True):
    markets: dict[str, PerpetualMarket]


class MarketsUpdate(Struct, frozen=True):
    trading: dict[str, MarketPatch] | None = None
    oraclePrices: dict[str, OraclePrice] | None = None


class OrderbookSnapshot(Struct, frozen=True):
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []


class OrderbookUpdate(Struct, frozen=True):
    bids: list[Level] = []
    asks: list[Level] = []


class TradesSnapshot(Struct, frozen=True):
    trades: list[Trade]


class TradesUpdate(Struct, frozen=True):
    trades: list[Trade]


class CandlesSnapshot(Struct, frozen=True):
    candles: list[Candle]


class SubaccountSnapshot(Struct, frozen=True):
    subaccount: Subaccount
    orders: list[Order] = []
    blockHeight: str | None = None


class ParentSubaccountSnapshot(Struct, frozen=True):
    """v4_parent_subaccounts `subscribed` contents; its updates are `SubaccountUpdate`s whose positions
    (and the frame) carry the number of the child subaccount they belong to."""

    subaccount: ParentSubaccount
    orders: list[Order] = []
    blockHeight: str | None = None


class Transfer(Struct, frozen=True):
    type: str
    size: Decimal
    symbol: str
    createdAt: str | None = None
    createdAtHeight: str | None = None
    transactionHash: str | None = None


class SubaccountUpdate(Struct, frozen=True):
    perpetualPositions: list[PerpetualPosition] = []
    assetPositions: list[AssetPosition] = []
    orders: list[Order] = []
    fills: list[IndexerFill] = []
    transfers: Transfer | None = None
    tradingReward: dict | None = None
    blockHeight: str | None = None


class BlockHeightSnapshot(Struct, frozen=True):
    height: str
    time: str


class BlockHeightUpdate(Struct, frozen=True):
    blockHeight: str
    time: str


Snapshot = (
    MarketsSnapshot | OrderbookSnapshot | TradesSnapshot | CandlesSnapshot | SubaccountSnapshot |
    ParentSubaccountSnapshot | BlockHeightSnapshot
)
Update = MarketsUpdate | OrderbookUpdate | TradesUpdate | Candle | SubaccountUpdate | BlockHeightUpdate


# ---------------------------------------------------------------------------------------------------
# WebSocket message kinds. `t` (arrival time) and `conn` (the source's connection number) are set by
# the parser from the frame; everything else comes from the wire.


class Connected(Struct):
    connection_id: str
    message_id: int
    t: float = 0.0
    conn: int = 0


class Subscribed(Struct):
    connection_id: str
    message_id: int
    channel: str
    contents: Snapshot
    id: str | None = None
    t: float = 0.0
    conn: int = 0


class ChannelData(Struct):
    connection_id: str
    message_id: int
    channel: str
    contents: Update
    id: str | None = None
    version: str = ""
    subaccountNumber: int | None = None
    t: float = 0.0
    conn: int = 0


class ChannelBatchData(Struct):
    connection_id: str
    message_id: int
    channel: str
    contents: list[Update]
    id: str | None = None
    version: str = ""
    subaccountNumber: int | None = None
    t: float = 0.0
    conn: int = 0


class Unsubscribed(Struct):
    connection_id: str
    message_id: int
    channel: str
    id: str | None = None
    t: float = 0.0
    conn: int = 0


class IndexerError(Struct):
    """An `error` frame from the indexer (e.g. "Internal error, could not fetch data for subscription")."""

    message: str
    connection_id: str | None = None
    message_id: int | None = None
    channel: str | None = None
    id: str | None = None
    t: float = 0.0
    conn: int = 0


# ---------------------------------------------------------------------------------------------------
# REST responses


class PerpetualMarketsResponse(Struct, frozen=True):
    markets: dict[str, PerpetualMarket]


class CandlesResponse(Struct, frozen=True):
    candles: list[Candle]


class OrderbookResponse(Struct, frozen=True):
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []


class TradesResponse(Struct, frozen=True):
    trades: list[Trade]


class FundingRate(Struct, frozen=True):
    ticker: str
    rate: Decimal
    price: Decimal
    effectiveAt: str
    effectiveAtHeight: str | None = None


class HistoricalFundingResponse(Struct, frozen=True):
    historicalFunding: list[FundingRate]


class SubaccountResponse(Struct, frozen=True):
    subaccount: Subaccount


class ParentSubaccountResponse(Struct, frozen=True):
    subaccount: ParentSubaccount


class AddressResponse(Struct, frozen=True):
    subaccounts: list[Subaccount]


class FillsResponse(Struct, frozen=True):
    fills: list[IndexerFill]


class PerpetualPositionsResponse(Struct, frozen=True):
    positions: list[PerpetualPosition]


class AssetPositionsResponse(Struct, frozen=True):
    positions: list[AssetPosition]


class HeightResponse(Struct, frozen=True):
    height: str
    time: str


class TimeResponse(Struct, frozen=True):
    iso: str
    epoch: float


RestBody = (
    PerpetualMarketsResponse | CandlesResponse | OrderbookResponse | TradesResponse | HistoricalFundingResponse |
    SubaccountResponse | ParentSubaccountResponse | AddressResponse | FillsResponse | PerpetualPositionsResponse |
    AssetPositionsResponse |
    Order | list[Order] | HeightResponse | TimeResponse
)


class RestResponse(Struct):
    """A REST answer the bot asked for: `path` is the request path with its query string."""

    path: str
    status: int
    body: RestBody
    t: float = 0.0


# ---------------------------------------------------------------------------------------------------
# Errors are values


class ParseError(Struct):
    """A frame that could not become a typed event: `where` names the frame and the field, `what` says
    what was wrong, `size` counts the offending bytes, `sample` is the start of them for the log."""

    where: str
    what: str
    size: int
    sample: str = ""
    t: float = 0.0
    conn: int = 0


WsEvent = Connected | Subscribed | ChannelData | ChannelBatchData | Unsubscribed | IndexerError
Event = WsEvent | RestResponse | ParseError
