"""What the dashboard shows, folded from the graph's outputs: the latest value per market, stream and
account, the recent candles of each market, and the event log. Plain Python on the UI thread: the bridge
hands it batches, it says which panels changed and builds each panel's state on demand.

One model per source: switching sources starts a new model, so nothing from the old source lingers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

from app.history import History, order_what
from app.screens.blotter import BlotterState, OpenOrder, countdown
from app.screens.history import HistoryState
from streams.execution.ledger import SessionPnl
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderStatus, OrderUpdate, StopIntent
from streams.market.books import ResyncRequest
from streams.market.events import Candle
from streams.market.state import BlockHeight, BookTop, CandleUpdate, MarketInfo, StreamHealth
from streams.market.trades import MarketTrade
from streams.risk.derisk import IntentBlocked
from streams.risk.ladder import RiskState, severity
from streams.risk.margin import AccountState
from streams.signals.config import RESOLUTION_SECONDS
from streams.signals.overlays import ChartConfig, overlay_lines
from streams.signals.scoring import SignalScore
from widgets.candle_chart import ChartState, trade_markers
from widgets.data_health import DataHealthState
from widgets.event_log import MAX_LINES, EventLogState, Kind, LogEntry
from widgets.format import price, quantity
from widgets.margin_health import MarginState
from widgets.market_detail import MarketDetailState
from widgets.markets import MarketRow, MarketsState
from widgets.order_book import OrderBookState
from widgets.positions import PositionsState
from widgets.session_pnl import SessionPnlState
from widgets.signals import SignalsState
from widgets.trades_tape import TAPE_ROWS, TradesTapeState

MARKETS, SIGNALS, POSITIONS, MARGIN, CHART, HEALTH, LOG, PNL, BOOK, DETAIL, TAPE = (
    "markets", "signals", "positions", "margin", "chart", "health", "log", "pnl", "book", "detail", "tape")
PANELS = (MARKETS, SIGNALS, POSITIONS, MARGIN, CHART, HEALTH, LOG, PNL, BOOK, DETAIL, TAPE)
SELECTION = frozenset({MARKETS, SIGNALS, CHART, BOOK, DETAIL, TAPE})
"""The panels that show the selected market."""
PNL_HISTORY = 2000
"""Net PnL points kept for the chart: the chart shows their shape at any width."""
FUNDING_HISTORY = 48
"""Changes of a market's funding rate kept: two days of hourly ones."""

CHART_CANDLES = 240
"""Candles kept per market: more than the widest chart shows."""
CHART_FILLS = 500
"""Fills kept per market for the chart's markers (more than its candles' time holds of the bot's)."""

HEALTH_ORDER = ("ok", "stale", "resyncing", "error")
"""Data health states, least to most severe: a market shows its worst stream's."""

_logs = count(1)


def state_key(value: Any) -> Hashable:
    """What a newer value replaces: the same market's info, book or score, the same stream's health, the
    same candle (each candle is kept, revisions of the open one replace each other), the account."""
    if isinstance(value, StreamHealth):
        return StreamHealth, value.stream
    if isinstance(value, CandleUpdate):
        return CandleUpdate, value.market, value.resolution, value.candle.startedAt
    if isinstance(value, (AccountState, RiskState, SessionPnl, BlockHeight)):
        return type(value)
    return type(value), value.market


def _stream_market(stream: str) -> str | None:
    """`v4_orderbook:BTC-USD` and `v4_candles:BTC-USD/1MIN` -> BTC-USD; streams of no market -> None."""
    _, _, ident = stream.partition(":")
    return ident.split("/", 1)[0] or None


_DONE: tuple[OrderStatus, ...] = ("REJECTED", "CANCELED", "EXPIRED", "FILLED")


def _open_order(value: OrderIntent | StopIntent) -> OpenOrder:
    good_til = (f"{value.good_til_blocks} blocks" if isinstance(value, OrderIntent) and value.short_term
                else f"until {_utc(value.t + value.good_til_seconds)}")
    return OpenOrder(value.client_id, value.market, value.side, value.size, order_what(value), good_til)


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%MZ")


def log_entry(value: Any) -> LogEntry | None:
    """How an order, cancel, fill, blocked intent, risk change or resync reads in the event log."""
    if isinstance(value, OrderIntent):
        limit = "" if value.price is None else f" @ {price(value.price, None)}"
        flags = "".join(f" {flag}" for flag, on in (("reduce-only", value.reduce_only), ("post-only", value.post_only))
                        if on)
        why = f" ({value.reason})" if value.reason else ""
        return LogEntry(value.t, f"{value.side} {quantity(value.size)} {value.market} {value.kind}{limit}{flags}{why}",
                        "order")
    if isinstance(value, StopIntent):
        return LogEntry(value.t, f"stop {value.side} {quantity(value.size)} {value.market} at "
                                 f"{price(value.trigger_price, None)} reduce-only ({value.reason})", "order")
    if isinstance(value, CancelIntent):
        which = "all orders" if value.client_id is None else f"order {value.client_id}"
        where = f" {value.market}" if value.market else ""
        why = f" ({value.reason})" if value.reason else ""
        return LogEntry(value.t, f"cancel {which}{where}{why}", "order")
    if isinstance(value, OrderUpdate):
        filled = f" filled {quantity(value.filled)}" if value.filled else ""
        why = f": {value.reason}" if value.reason else ""
        kind: Kind = "error" if value.status == "REJECTED" else "order"
        return LogEntry(value.t, f"order {value.client_id} {value.market} {value.status}{filled}{why}", kind)
    if isinstance(value, Fill):
        kind = "fill" if value.kind == "TRADE" else "error"
        what = "fill" if value.kind == "TRADE" else value.kind.lower()
        return LogEntry(value.t, f"{what} {value.side} {quantity(value.size)} {value.market} @ "
                                 f"{price(value.price, None)} {value.liquidity.lower()}, fee {value.fee:.2f}", kind)
    if isinstance(value, IntentBlocked):
        return LogEntry(value.t, f"blocked order {value.client_id} {value.market}: {value.reason}", "warning")
    if isinstance(value, RiskState):
        kind = "error" if severity(value.state) >= severity("FLATTEN") else "risk"
        return LogEntry(value.t, f"risk {value.previous} → {value.state}: {value.reason}", kind)
    if isinstance(value, ResyncRequest):
        stream = value.channel if value.id is None else f"{value.channel}:{value.id}"
        return LogEntry(value.t, f"resync {stream}: {value.reason}", "warning")
    return None


class DashboardModel:
    def __init__(self, resolution: str = "1MIN", chart: ChartConfig = ChartConfig()) -> None:
        self.resolution = resolution
        self.chart = chart
        """The chart's overlay periods."""
        self.markets: dict[str, MarketInfo] = {}
        self.funding: dict[str, deque[tuple[float, Decimal]]] = {}
        """Per market, (event time, hourly rate) at each change of its next funding rate."""
        self.books: dict[str, BookTop] = {}
        self.health: dict[str, StreamHealth] = {}
        self._market_streams: dict[str, dict[str, str]] = {}
        """market -> the state of each of its streams, and below, the worst of them (kept as reports come:
        with every market followed there are a thousand streams, and a market has about four)."""
        self._market_health: dict[str, str] = {}
        self._market_rows: dict[str, MarketRow] = {}
        """Each followed market's row as last built: dropped when its info, book or health changes, so the
        markets panel's state costs a lookup per market, not a row (it is built ten times a second)."""
        self._listed: list[str] = []
        """The followed markets in order."""
        self.scores: dict[str, SignalScore] = {}
        self.candles: dict[str, dict[str, Candle]] = {}
        self.fills: dict[str, deque[Fill]] = {}
        """Each market's latest fills, for the chart's markers."""
        self.account: AccountState | None = None
        self.risk: RiskState | None = None
        self.pnl: SessionPnl | None = None
        self.open_orders: dict[int, OpenOrder] = {}
        self.history = History()
        self.tape: dict[str, deque[MarketTrade]] = {}
        """Each market's latest trades, newest last."""
        self.height: BlockHeight | None = None
        """The chain's latest height: what the open short-term orders count down against."""
        self.stops: dict[str, StopIntent] = {}
        """The protective stop of each market, from placement until it is cancelled, refused or done."""
        self.pnl_history: deque[float] = deque(maxlen=PNL_HISTORY)
        """Net PnL at each state shown (at most ten a second), for the chart (float: it is drawn, not counted)."""
        self.followed: set[str] = set()
        """Markets with a book, candles or a score (v4_markets lists every market; these are watched)."""
        self.selected: str | None = None
        self.t: float | None = None
        self._log: deque[LogEntry] = deque(maxlen=MAX_LINES)
        self._logged = 0
        self._log_id = next(_logs)

    # -- input -------------------------------------------------------------------------------------

    def apply(self, values: Iterable[Any]) -> set[str]:
        """Fold a batch of graph outputs in; returns the panels whose state changed."""
        changed: set[str] = set()
        for value in values:
            self.t = value.t if self.t is None else max(self.t, value.t)
            changed |= self._apply(value)
        if self.selected is None and self.followed:
            self.selected = min(self.followed)
            changed |= SELECTION
        return changed

    def _apply(self, value: Any) -> set[str]:
        if isinstance(value, MarketInfo):
            self.markets[value.market] = value
            self._market_rows.pop(value.market, None)
            self._funding(value)
            if value.market not in self.followed:
                return set()
            return {MARKETS, POSITIONS} | ({DETAIL} if value.market == self.selected else set())
        if isinstance(value, BookTop):
            self.books[value.market] = value
            self._market_rows.pop(value.market, None)
            return self._follow(value.market) | {MARKETS, POSITIONS} | ({BOOK} if value.market == self.selected
                                                                       else set())
        if isinstance(value, StreamHealth):
            self.health[value.stream] = value
            return {HEALTH} | self._stream_state(value)
        if isinstance(value, SignalScore):
            self.scores[value.market] = value
            return self._follow(value.market) | {SIGNALS}
        if isinstance(value, CandleUpdate):
            return self._candle(value)
        if isinstance(value, AccountState):
            self.account = value
            return {POSITIONS, MARGIN}
        if isinstance(value, RiskState):
            self.risk = value
            return {MARGIN}
        if isinstance(value, SessionPnl):
            self.pnl = value
            self.pnl_history.append(float(value.net))
            return {PNL}
        if isinstance(value, BlockHeight):  # the blotter polls it
            self.height = value
        return set()

    def _funding(self, info: MarketInfo) -> None:
        if info.next_funding_rate is None:
            return
        history = self.funding.setdefault(info.market, deque(maxlen=FUNDING_HISTORY))
        if not history or history[-1][1] != info.next_funding_rate:
            history.append((info.t, info.next_funding_rate))

    def _stream_state(self, health: StreamHealth) -> set[str]:
        """Markets changed when the worst state of the stream's market did."""
        if (market := _stream_market(health.stream)) is None:
            return set()
        states = self._market_streams.setdefault(market, {})
        states[health.stream] = health.state
        worst = max(states.values(), key=HEALTH_ORDER.index)
        if self._market_health.get(market) == worst:
            return set()
        self._market_health[market] = worst
        self._market_rows.pop(market, None)
        return {MARKETS}

    def _follow(self, market: str) -> set[str]:
        if market in self.followed:
            return set()
        self.followed.add(market)
        self._listed = sorted(self.followed)
        return {MARKETS, SIGNALS}

    def _candle(self, update: CandleUpdate) -> set[str]:
        if update.resolution != self.resolution:
            return set()
        series = self.candles.setdefault(update.market, {})
        series[update.candle.startedAt] = update.candle
        if len(series) > CHART_CANDLES:
            del series[min(series)]
        return self._follow(update.market) | ({CHART} if update.market == self.selected else set())

    def record(self, values: Iterable[Any]) -> set[str]:
        """Log what deserves a line (orders, fills, risk changes, resyncs); returns the panels besides the
        log whose state changed (the margin health panel shows the protective stops)."""
        changed: set[str] = set()
        for value in values:
            if (entry := log_entry(value)) is not None:
                self.note(entry)
            changed |= self._stop(value) | self._chart_fill(value)
        return changed

    def _chart_fill(self, value: Any) -> set[str]:
        if not isinstance(value, Fill):
            return set()
        self.fills.setdefault(value.market, deque(maxlen=CHART_FILLS)).append(value)
        return {CHART} if value.market == self.selected else set()

    def book(self, values: Iterable[Any]) -> None:
        """Fold orders, fills (the ledger's entries) and funding payments into the open orders and the history
        (every one of them: the blotter and history screens poll these)."""
        for value in values:
            self.history.add(value)
            self._blotter(value)

    def _blotter(self, value: Any) -> None:
        if isinstance(value, (OrderIntent, StopIntent)):
            self.open_orders[value.client_id] = _open_order(value)
        elif isinstance(value, OrderUpdate) and (held := self.open_orders.get(value.client_id)) is not None:
            if value.status in _DONE:
                del self.open_orders[value.client_id]
            else:
                self.open_orders[value.client_id] = replace(held, status=value.status, filled=value.filled,
                                                            good_til_block=value.good_til_block or held.good_til_block)
        elif isinstance(value, IntentBlocked):
            self.open_orders.pop(value.client_id, None)

    def trades(self, values: Iterable[MarketTrade]) -> set[str]:
        """Fold trades into each market's tape; the tape changed if the selected market traded."""
        selected = False
        for trade in values:
            if (kept := self.tape.get(trade.market)) is None:
                kept = self.tape[trade.market] = deque(maxlen=TAPE_ROWS)
            kept.append(trade)
            selected |= trade.market == self.selected
        return {TAPE} if selected else set()

    def _stop(self, value: Any) -> set[str]:
        if isinstance(value, StopIntent):
            self.stops[value.market] = value
            return {MARGIN}
        held = self.stops.get(getattr(value, "market", None) or "")
        if held is None or getattr(value, "client_id", None) != held.client_id:
            return set()
        if isinstance(value, CancelIntent) or (isinstance(value, OrderUpdate) and value.status in (
                "REJECTED", "CANCELED", "EXPIRED", "FILLED")):
            del self.stops[held.market]
            return {MARGIN}
        return set()

    def note(self, entry: LogEntry) -> None:
        self._log.append(entry)
        self._logged += 1

    # -- selection ---------------------------------------------------------------------------------

    def select(self, market: str) -> bool:
        if market not in self.followed or market == self.selected:
            return False
        self.selected = market
        return True

    def select_next(self, step: int) -> bool:
        """Select the market `step` rows down (up when negative), wrapping around."""
        markets = self._listed
        if not markets:
            return False
        at = markets.index(self.selected) if self.selected in markets else -step
        return self.select(markets[(at + step) % len(markets)])

    # -- panel states ------------------------------------------------------------------------------

    def markets_state(self) -> MarketsState:
        return MarketsState(tuple(map(self._market_row, self._listed)), self.selected, self.t)

    def _market_row(self, market: str) -> MarketRow:
        if (row := self._market_rows.get(market)) is None:
            row = self._market_rows[market] = MarketRow(market, self.markets.get(market), self.books.get(market),
                                                        self._market_health.get(market))
        return row

    def signals_state(self) -> SignalsState:
        return SignalsState(tuple(self.scores[m] for m in sorted(self.scores)), self.selected)

    def positions_state(self) -> PositionsState:
        held = [p.market for p in self.account.positions] if self.account is not None else []
        marks: dict[str, Decimal] = {m: b.mid for m in held if (b := self.books.get(m)) and b.mid is not None}
        return PositionsState(self.account, marks, {m: self.markets[m].tick_size for m in held if m in self.markets})

    def margin_state(self) -> MarginState:
        # the risk engine reports changes only, and the model sees them all from the start: none yet means
        # the ladder is where it starts
        risk = self.risk or RiskState(self.t or 0.0, "NORMAL", "no change since the start", "NORMAL")
        return MarginState(self.account, risk, tuple(self.stops[market] for market in sorted(self.stops)))

    def chart_state(self) -> ChartState:
        market = self.selected or ""
        series = self.candles.get(market, {})
        candles = tuple(series[start] for start in sorted(series))
        markers = trade_markers(candles, self.fills.get(market, ()), RESOLUTION_SECONDS[self.resolution])
        return ChartState(self.selected, self.resolution, candles, markers, overlay_lines(candles, self.chart))

    def health_state(self) -> DataHealthState:
        return DataHealthState(tuple(self.health[s] for s in sorted(self.health)))

    def pnl_state(self) -> SessionPnlState:
        return SessionPnlState(self.pnl, tuple(self.pnl_history))

    def book_state(self) -> OrderBookState:
        market = self.selected
        info = self.markets.get(market or "")
        return OrderBookState(market, self.books.get(market or ""), info.tick_size if info else None)

    def detail_state(self) -> MarketDetailState:
        market = self.selected or ""
        return MarketDetailState(self.selected, self.markets.get(market), tuple(self.funding.get(market, ())))

    def tape_state(self) -> TradesTapeState:
        market = self.selected
        info = self.markets.get(market or "")
        return TradesTapeState(market, tuple(reversed(self.tape.get(market or "", ()))),
                               info.tick_size if info else None)

    def blotter_state(self) -> BlotterState:
        orders = tuple(o if o.good_til_block is None else replace(o, good_til=countdown(o.good_til_block, self.height))
                       for o in self.open_orders.values())
        return BlotterState(orders, self.pnl)

    def history_state(self) -> HistoryState:
        return HistoryState(tuple(self.history.rows), self.history.added, self.pnl)

    def log_state(self) -> EventLogState:
        return EventLogState(tuple(self._log), self._logged, self._log_id)
