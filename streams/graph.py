"""The one stream graph: frames in (live or replayed), every layer's output out. The dashboard and the
headless runner both build it with `build_graph`, subscribe to the outputs they show, then `connect()`;
neither knows where the frames come from.

    frames -> parse -> market state: books, candles, markets, health -> indicators -> scores
                            |                                                          |
                            +-> paper broker -> account -> margin -> risk engine <- strategy
                                     ^                                  |   ^ kill switch
                                     +------ gated intents, cancels ----+

Everything runs on the thread that delivers the frames, each frame a turn of the graph's trampoline
(`streams.kernel.rx.Turns`). The loop back into the broker goes through it (see `PaperBroker`), so an order is
acted on only after the frame that caused it has reached every subscriber, and the same frames always
give the same events in the same order. The streams are `streams.kernel.rx`'s: RxPY's semantics, one plain
call per hop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import reactivex
from reactivex import Observable
from reactivex.abc import DisposableBase
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.subject import Subject

from streams.config import Config
from streams.execution.broker import Broker
from streams.execution.ledger import LedgerEntry, SessionPnl, session_ledger
from streams.execution.paper_broker import FundingPayment, PaperBroker
from streams.kernel import rx
from streams.kernel.frames import Frame
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderUpdate, StopIntent
from streams.market.books import BOOK_READS, CrossCleared, ResyncRequest, Uncrossed, order_books
from streams.market.candles import CANDLE_READS, candles, candles_from_trades
from streams.market.events import Event
from streams.market.health import changes, health
from streams.market.heights import HEIGHT_READS, block_heights
from streams.market.markets import MARKET_READS, markets
from streams.market.parse import parse, route_key
from streams.market.state import BlockHeight, BookTop, CandleUpdate, MarketInfo, StreamHealth
from streams.market.trades import TRADE_READS, MarketTrade, tape
from streams.risk.account import AccountSnapshot
from streams.risk.derisk import IntentBlocked, risk_engine
from streams.risk.kill_switch import KillSwitch
from streams.risk.ladder import RiskState
from streams.risk.manual import ManualDesk
from streams.risk.margin import AccountState, MarketAtr, margin_states
from streams.risk.protection import protective_stops
from streams.signals.indicators.market import IndicatorSnapshot, indicators
from streams.signals.scoring import SignalScore, scores
from streams.sources.subscriptions import Staleness
from streams.strategy.targets import Schedule, Target, targets

BOOK_DEPTH = 10
VENUE_RESOLUTIONS = ("1MIN",)
"""The candle resolutions the sources subscribe to (`LiveConfig`'s default, the bundled recording's)."""


@dataclass
class Graph:
    """Hot observables, one per layer output; `kill_switch` is the one input besides the frames.
    Nothing flows until `connect()`: subscribe first, so no subscriber misses the start."""

    events: Observable[Event]
    markets: Observable[MarketInfo]
    books: Observable[BookTop]
    candles: Observable[CandleUpdate]
    health: Observable[StreamHealth]
    health_changes: Observable[StreamHealth]
    indicators: Observable[IndicatorSnapshot]
    scores: Observable[SignalScore]
    targets: Observable[Target]
    account: Observable[AccountState]
    risk: Observable[RiskState]
    orders: Observable[OrderIntent | StopIntent | CancelIntent | IntentBlocked | OrderUpdate | Fill | FundingPayment]
    pnl: Observable[SessionPnl]
    ledger: Observable[LedgerEntry]
    """Each fill as the session ledger books it: the PnL it realised and the position it left."""
    trades: Observable[MarketTrade]
    """Every market's trades, for the tape: demand-driven (the stage runs only while this is subscribed to)."""
    resyncs: Observable[ResyncRequest]
    heights: Observable[BlockHeight]
    kill_switch: KillSwitch
    desk: ManualDesk
    _connect: Any

    def connect(self) -> DisposableBase:
        return self._connect()


def build_graph(frames: Observable[Frame], config: Config = Config(), broker: Broker | None = None,
                staleness: Staleness = Staleness(), health_rates: bool = True, all_snapshots: bool = True) -> Graph:
    """The whole graph over `frames`: with the paper broker (the default, and the only broker in replay),
    or with a connected live `Broker`, whose account then comes from the frames' v4_subaccounts messages.
    `staleness` is the silence data health calls stale (a live source's own, so that both agree).
    `health_rates`: `health` reports every stream's rate and age every second, as the dashboard shows
    them; without, only its changes (`health_changes`, the same either way, which the risk engine reads).
    `all_snapshots`: `indicators` and `scores` follow every update of every market, as the dashboard shows
    them; without, only what the strategy acts on (each closed candle, and a market when it is due), which
    leaves every decision as it was and skips most of the indicators' and the scores' work."""
    turns = rx.Turns()
    to_turns: Callable[[Observable[Frame]], Observable[Frame]] = turns.operator()
    source: rx.Shared[Frame] = frames.pipe(to_turns, rx.publish())
    events = source.pipe(parse(), rx.routed(route_key))
    statuses = source.pipe(rx.filter(_is_status), rx.share())
    book_out = events.only(*BOOK_READS).pipe(order_books(BOOK_DEPTH), rx.share())
    books = book_out.pipe(rx.of_type(BookTop), rx.share())
    market_infos = events.only(*MARKET_READS).pipe(markets(), rx.share())
    candle_updates = events.only(*CANDLE_READS).pipe(candles(), rx.share())
    if config.signals.resolution not in VENUE_RESOLUTIONS:  # not sent by the venue: built from its trades
        derived = events.pipe(candles_from_trades((config.signals.resolution,)))
        candle_updates = rx.merge(candle_updates, derived).pipe(rx.share())
    # health hears the source's statuses one trampoline step after the risk engine does, so that a lost
    # connection halts new risk as what it is ("disconnected"), not as the resyncs health derives from it
    source_said = statuses.pipe(to_turns)
    book_faults = book_out.pipe(rx.of_type(ResyncRequest, Uncrossed, CrossCleared))  # what health reads of the books
    data_health = rx.merge(events, book_faults, source_said).pipe(
        health(staleness=staleness, rates=health_rates), rx.share())
    health_changes = data_health.pipe(changes(), rx.share())
    schedule = Schedule(config.strategy)
    due = None if all_snapshots else schedule.due
    snapshots = rx.merge(candle_updates, books, market_infos).pipe(indicators(config.signals, due), rx.share())
    signal_scores = snapshots.pipe(scores(config.signals), rx.share())

    # the account as the margin engine reads it: the paper broker's snapshots, or the venue's raw
    # v4_subaccounts messages (and the REST answers that catch up on them)
    account_events: Observable[AccountSnapshot] | Observable[Event]
    bind: Callable[[], DisposableBase]
    broker_events: Observable[OrderUpdate | Fill | FundingPayment]
    if broker is None:
        paper = PaperBroker(rx.merge(events, books, market_infos), config.paper, defer=turns.run)
        broker_events, account_events, bind = paper.events, paper.accounts, lambda: Disposable()
        funding: Observable[FundingPayment] = paper.funding
        submit, cancel = paper.submit, paper.cancel
    else:
        from streams.execution.reconcile import is_account_message  # live only: it imports dydx-v4-client

        subaccount = events.pipe(rx.filter(is_account_message), rx.share())
        broker_events, account_events = broker.events, subaccount
        funding = reactivex.empty()
        # in a later turn, as the paper broker's: a market order is then priced off the book top that
        # the frame behind it made, which the broker has not been told of while the frame is on its way
        submit = lambda intent: turns.run(lambda: broker.submit(intent))  # noqa: E731
        cancel = lambda intent: turns.run(lambda: broker.cancel(intent))  # noqa: E731
        # bound now, before anything reads the account: the broker then hears each account message before
        # the margin engine does, so a message's fills and funding reach the ledger before its account state
        bound = broker.bind(markets=market_infos, books=books, account=subaccount)
        bind = lambda: bound  # noqa: E731
    # each market's ATR as its candles close, so that the account's distances to liquidation are in ATRs too
    account = margin_states(market_infos, account_events, atr=snapshots.pipe(rx.filter_map(closed_atr))).pipe(
        rx.share())
    # a live broker's funding payments come with its fills (the paper broker's own stream, which `orders` shows too)
    booked = rx.merge(broker_events.pipe(rx.of_type(Fill, FundingPayment)), funding, account).pipe(
        session_ledger(), rx.share())
    kill_switch = KillSwitch()
    desk = ManualDesk()
    risk_states: Subject[RiskState] = Subject()
    decisions = rx.merge(signal_scores, snapshots, account, market_infos, books, risk_states).pipe(
        targets(config.strategy, config.risk, schedule=schedule), rx.share())
    risk_out = rx.merge(
        account, health_changes, statuses, broker_events,
        kill_switch.commands, market_infos, decisions.pipe(rx.of_type(OrderIntent)), desk.commands,
    ).pipe(risk_engine(config.risk), rx.share())
    risk = risk_out.pipe(rx.of_type(RiskState), rx.share())
    protection = config.risk.protection
    stops: list[Observable[StopIntent | CancelIntent]] = []  # the protective stops, when they are on
    if protection.live if broker is not None else protection.paper:
        stops.append(rx.merge(account, market_infos, broker_events.pipe(rx.of_type(OrderUpdate))).pipe(
            protective_stops(protection), rx.share()))

    def connect() -> DisposableBase:
        wiring = [
            risk.subscribe(risk_states),
            source.subscribe(kill_switch.on_frame),
            source.subscribe(desk.on_frame),
            desk.cancels.subscribe(cancel),
            risk_out.pipe(rx.of_type(OrderIntent)).subscribe(submit),
            risk_out.pipe(rx.of_type(CancelIntent)).subscribe(cancel),
            *(stop.pipe(rx.of_type(StopIntent)).subscribe(submit) for stop in stops),
            *(stop.pipe(rx.of_type(CancelIntent)).subscribe(cancel) for stop in stops),
            bind(),
        ]
        return CompositeDisposable(*wiring, source.connect())

    orders = rx.merge(risk_out.pipe(rx.of_type(OrderIntent, CancelIntent, IntentBlocked)), *stops, desk.cancels,
                      broker_events, funding)
    return Graph(
        events=events, markets=market_infos, books=books, candles=candle_updates, health=data_health,
        health_changes=health_changes,
        indicators=snapshots, scores=signal_scores, targets=decisions.pipe(rx.of_type(Target)), account=account,
        risk=risk, orders=orders.pipe(rx.share()), pnl=booked.pipe(rx.of_type(SessionPnl), rx.share()),
        ledger=booked.pipe(rx.of_type(LedgerEntry), rx.share()),
        trades=events.only(*TRADE_READS).pipe(tape(config.tape), rx.share()),
        resyncs=book_out.pipe(rx.of_type(ResyncRequest)),
        heights=events.only(*HEIGHT_READS).pipe(block_heights(), rx.share()),
        kill_switch=kill_switch, desk=desk, _connect=connect,
    )


def closed_atr(snapshot: IndicatorSnapshot) -> MarketAtr | None:
    """A closed candle's ATR of its market, for the margin engine (the indicator's float back to a Decimal
    through its shortest repr, so that the same float always gives the same Decimal)."""
    atr = snapshot.values.get("atr")
    return MarketAtr(snapshot.t, snapshot.market, Decimal(repr(atr))) if snapshot.closed and atr else None


def _is_status(frame: Frame) -> bool:
    """The source's own word (connections, resyncs...), not the venue's."""
    return frame.kind == "status"
