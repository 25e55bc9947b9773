"""The dashboard: every layer of the graph on one screen, fed by a recording or the live indexer, with the
source switchable while it runs.

Each source is a session of the backend with its own graph; the app binds a fresh `DashboardModel` to a
session through the bridge (at most 10 batches a second, on this loop), shows the model of the current
session, and renders a panel only when its state changed. Replay controls, market selection, the kill
switch and opening recordings are keys; errors are notifications and the app carries on.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer

from app.backend import Backend, GraphFactory, LiveSession, ReplaySession, Session, Severity
from app.desk_actions import DESK_BINDINGS, DeskActions
from app.screens.confirm import ConfirmScreen
from app.screens.help import HelpScreen
from app.screens.jump_to_time import JumpScreen
from app.screens.mainnet import MainnetScreen
from app.screens.open_recording import OpenRecordingScreen, bundled_recordings
from app.sources import ReplaySource
from app.ui_bridge import FrameMeter, UiBridge
from app.view_model import (
    BOOK,
    CHART,
    DETAIL,
    HEALTH,
    LOG,
    MARGIN,
    MARKETS,
    PANELS,
    PNL,
    POSITIONS,
    SELECTION,
    SIGNALS,
    TAPE,
    DashboardModel,
    state_key,
)
from streams.config import Config
from streams.graph import Graph, build_graph
from streams.sources.endpoints import NETWORKS
from streams.sources.live import LiveConfig
from streams.sources.replay import ReplayStatus
from widgets.candle_chart import CandleChartPanel
from widgets.data_health import DataHealthPanel
from widgets.event_log import MAX_LINES, EventLogPanel, LogEntry
from widgets.margin_health import MarginHealthPanel
from widgets.market_detail import MarketDetailPanel
from widgets.markets import MarketsPanel
from widgets.order_book import OrderBookPanel
from widgets.panel import Panel
from widgets.positions import PositionsPanel
from widgets.session_pnl import SessionPnlPanel, summary
from widgets.signals import SignalsPanel
from widgets.status_bar import StatusBar, StatusState, Trading
from widgets.trades_tape import TradesTapePanel
from widgets.views import Views, ViewSpec

if TYPE_CHECKING:  # live trading's modules load only when it is asked for
    from app.trading import LiveTrading, TradingRequest

SPEED = Binding.Group("speed", compact=True)
MARKET = Binding.Group("market", compact=True)
KILL = Binding.Group("kill", compact=True)
"""Keys that share one place in the footer, so that all of them fit in 80 columns."""

WIDE = 120
"""Columns from which the signals panel has room beside the views; below, it is one of them."""

SPEEDS: tuple[float | None, ...] = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, None)
"""Replay speeds `+` and `-` step through; None is as fast as possible."""

AFTER_THE_END = "g jumps back in it, o opens another, l goes live"

NOTIFY_SECONDS = {"information": 4.0, "warning": 8.0, "error": 12.0}

STATE_STREAMS = ("markets", "books", "health", "scores", "account", "risk", "pnl", "heights")
"""Graph outputs the panels show (the latest value of each thing)."""
CHART_HZ = 2.0
"""The candles (the chart's input besides our rare fills) come less often than the rest: a plotext chart costs
10-40 ms to draw (its overlay lines 2 ms more to compute, over the 240 candles kept), and the open candle
changes with every trade."""
LOG_STREAMS = ("orders", "risk", "resyncs")
"""Graph outputs the event log shows (every value)."""
BOOKED_STREAMS = ("orders", "ledger")
"""Graph outputs the blotter and the history keep (every value, however many come at once)."""
TAPE_BATCH = 5000
"""Trades a batch keeps for the tape (the latest; a market's tape shows far fewer)."""

PANEL_STATES: dict[str, tuple[type[Panel], Callable[[DashboardModel], Any]]] = {
    MARKETS: (MarketsPanel, DashboardModel.markets_state),
    SIGNALS: (SignalsPanel, DashboardModel.signals_state),
    POSITIONS: (PositionsPanel, DashboardModel.positions_state),
    MARGIN: (MarginHealthPanel, DashboardModel.margin_state),
    CHART: (CandleChartPanel, DashboardModel.chart_state),
    HEALTH: (DataHealthPanel, DashboardModel.health_state),
    LOG: (EventLogPanel, DashboardModel.log_state),
    PNL: (SessionPnlPanel, DashboardModel.pnl_state),
    BOOK: (OrderBookPanel, DashboardModel.book_state),
    DETAIL: (MarketDetailPanel, DashboardModel.detail_state),
    TAPE: (TradesTapePanel, DashboardModel.tape_state),
}
"""Panel name -> the widget showing it and the model's state for it."""


def resident_memory() -> int:
    return psutil.Process().memory_info().rss


def network_name(live: LiveConfig) -> str:
    """`mainnet`, `testnet`, or the host of custom endpoints."""
    named = next((name for name, endpoints in NETWORKS.items() if endpoints == live.endpoints), None)
    return named or live.endpoints.rest.split("://", 1)[-1]


@dataclass
class View:
    """What the app keeps per session: the model its streams fold into, and its replay status."""

    session: Session
    model: DashboardModel
    replay_status: ReplayStatus | None = None


@dataclass
class Performance:
    """The status bar's measurements, sampled once a `status_interval`."""

    rate: float | None = None
    latency: float | None = None
    memory: int | None = None
    meter: FrameMeter | None = None
    """The meter counted at the last sample, its count then, and when (a new source restarts the rate)."""
    count: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class Runtime:
    """What the dashboard runs on besides its data and config: threads, clocks, the process. The defaults
    are production's; tests put replay and conflation on one virtual clock (`replay_scheduler`,
    `bridge_timer`), fix the clock and the memory figure, and stop the periodic sampling (`status_interval`
    None)."""

    graph_factory: GraphFactory | None = None
    """The graph over a source's frames (default: `build_graph` with the app's config)."""
    replay_scheduler: abc.SchedulerBase | None = None
    bridge_timer: abc.SchedulerBase | None = None
    clock: Callable[[], float] = time.monotonic
    memory: Callable[[], int] = resident_memory
    status_interval: float | None = 1.0


class DashboardApp(DeskActions, App[None]):
    CSS_PATH = "tui.tcss"
    TITLE = "dydx-bot"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    BINDINGS = [
        Binding("l", "toggle_source", "live", tooltip="live indexer <-> recording, while running"),
        Binding("space", "pause", "pause", key_display="␣", tooltip="pause or resume the replay"),
        Binding("n", "step", "step", tooltip="play the next message of the replay (pauses it)"),
        Binding("plus,equals_sign", "faster", "faster", key_display="+", group=SPEED,
                tooltip="replay faster (up to max)"),
        Binding("minus", "slower", "slower", key_display="-", group=SPEED, tooltip="replay slower"),
        Binding("g", "jump", "jump", tooltip="jump to a time of the recording"),
        Binding("left_square_bracket", "select(-1)", "prev", key_display="[", group=MARKET,
                tooltip="select the previous market"),
        Binding("right_square_bracket", "select(1)", "next", key_display="]", group=MARKET,
                tooltip="select the next market"),
        Binding("v", "next_view", "view", tooltip="show the next view in the bottom panel (its title names them)"),
        # on ? only: the footer is full at 80 columns
        Binding("i", "next_overlay", "chart overlay", show=False,
                tooltip="the chart's next overlay: none, EMA, Bollinger bands, VWAP, all (its title names it)"),
        Binding("u", "toggle_volume", "chart volume", show=False, tooltip="volume bars under the chart's candles"),
        Binding("k", "kill(False)", "kill", group=KILL, tooltip="cancel every order and halt (asks first)"),
        Binding("K", "kill(True)", "kill+flatten", group=KILL, tooltip="kill, and close every position (asks first)"),
        Binding("r", "reset", "reset", tooltip="lift a halt so trading resumes (asks first)"),
        *DESK_BINDINGS,
        Binding("o", "open", "open", tooltip="open a recording"),
        Binding("question_mark", "help", "help", key_display="?", tooltip="this help"),
        Binding("q", "quit", "quit", tooltip="quit (asks first while positions are open)"),
    ]

    def __init__(self, config: Config, *, start: ReplaySource | LiveConfig | None = None,
                 live: LiveConfig = LiveConfig(), runtime: Runtime = Runtime(), warnings: Sequence[str] = (),
                 trading: TradingRequest | None = None) -> None:
        """Starts on `start` (None: the bundled recording); `live` is where `l` connects; `warnings` (about
        the config) are shown as notifications; with `trading`, live sessions trade through the live broker,
        connected first (mainnet once its confirmation is typed; should it be refused or the broker not
        connect, the app ends and `refusal` says why, before anything trades). `runtime`: see `Runtime`."""
        super().__init__()
        self.theme = "textual-dark"
        self.animation_level = "none"
        self.config = config
        self.paused_markets: set[str] = set()
        """Markets the trader paused the strategy on (the desk's keys)."""
        self._first = start
        self._live = live
        self._warnings = tuple(warnings)
        self._runtime = runtime
        self._graph_factory = runtime.graph_factory or partial(build_graph, config=config)
        self._clock = runtime.clock
        self.view: View | None = None
        self.note = ""
        self.performance = Performance()
        self.exit_summary = ""
        """`session_summary()` as the app closed: `run_tui` prints it."""
        self._trading = trading
        self.refusal = ""
        """Why live trading did not start (the app then ended): `run_tui` says it as the headless runner does."""

    def compose(self) -> ComposeResult:
        yield MarketsPanel()
        with Horizontal(id="middle"):
            yield CandleChartPanel(self.config.chart)
            yield MarginHealthPanel(self.config.risk)
        yield PositionsPanel(self.config.risk)
        with Horizontal(id="bottom"):
            yield SignalsPanel(id="signals-beside")
            yield Views(self.views(), id="views")
        yield StatusBar()
        yield Footer()

    def views(self) -> list[ViewSpec]:
        """The bottom panel's views, in the order `v` shows them."""
        return [("events", "Orders & events", EventLogPanel()), ("pnl", "PnL", SessionPnlPanel()),
                ("book", "Book", OrderBookPanel()), ("trades", "Trades", TradesTapePanel()),
                ("market", "Market", MarketDetailPanel()),
                ("signals", "Signals", SignalsPanel()), ("health", "Data health", DataHealthPanel())]

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < WIDE
        self.query_one(Footer).compact = narrow
        self.query_one(Views).leave_out(() if narrow else ("signals",))

    def on_mount(self) -> None:
        self._ui = AsyncIOThreadSafeScheduler(asyncio.get_running_loop())
        runtime = self._runtime
        self.bridge = UiBridge(self._ui, timer=runtime.bridge_timer, clock=self._clock)
        self.backend = Backend(self._graph_factory, self.report_from_anywhere, live=self._live,
                               live_name=network_name(self._live), replay_scheduler=runtime.replay_scheduler,
                               clock=self._clock)
        self.render_status()
        for warning in self._warnings:
            self.notify(warning, title="config", severity="warning")
        if runtime.status_interval is not None:
            self.set_interval(runtime.status_interval, self.sample_performance)
        if self._trading is not None:
            if self._trading.mainnet:
                self.push_screen(MainnetScreen(), self._mainnet_typed)
            else:
                self._trade_live("")
        elif isinstance(self._first, LiveConfig):
            self.run_worker(self._go_live(), group="source", exclusive=True)
        else:
            source = self._first
            session = self.backend.open_replay(None) if source is None else self.backend.replay(source)
            self.run_worker(self.switch_to(session), group="source", exclusive=True)

    async def on_unmount(self) -> None:
        self.exit_summary = self.session_summary()
        await self.backend.close()
        if self.backend.broker is not None:
            await self.backend.broker.close()

    # -- live trading ----------------------------------------------------------------------------------

    def _mainnet_typed(self, typed: str | None) -> None:
        if typed is None:
            self._refuse("mainnet not confirmed: nothing traded")
        else:
            self._trade_live(typed)

    def _trade_live(self, typed: str) -> None:
        """Choose the network with what was typed, connect the broker, then go live through it."""
        from streams.execution.networks import NetworkRefusedError

        assert self._trading is not None
        try:
            choice = self._trading.choose(typed)
        except NetworkRefusedError as exc:
            self._refuse(str(exc))
            return
        self.note = "connecting the live broker…"
        self.render_status()
        self.run_worker(self._connect_broker(choice), group="broker")  # no source switch may cancel it

    async def _connect_broker(self, choice: LiveTrading) -> None:
        from streams.execution.live_broker import BrokerSetupError
        from streams.execution.secrets import MnemonicUnavailableError

        try:
            broker = await choice.connect()
        except (BrokerSetupError, MnemonicUnavailableError) as exc:
            self._refuse(str(exc))
            return
        self.backend.trade_live(broker)
        self.note = ""
        await self._go_live()

    def _refuse(self, reason: str) -> None:
        self.refusal = reason
        self.exit(return_code=1)

    def session_summary(self) -> str:
        """What the session did, for the terminal once the dashboard is gone."""
        if self.view is None:
            return "no source ran"
        session, model = self.view.session, self.view.model
        return f"{session.kind} {session.name}: {summary(model.pnl)}"

    # -- sessions --------------------------------------------------------------------------------------

    def attach(self, session: Session) -> View:
        """Bind a fresh model to `session`'s streams (before it starts, so it sees everything)."""
        view = View(session, DashboardModel(self.config.signals.resolution, self.config.chart))
        graph = session.graph
        state = reactivex.merge(*(self._surviving(graph, name) for name in STATE_STREAMS))
        log = reactivex.merge(*(self._surviving(graph, name) for name in LOG_STREAMS))
        candles = self._surviving(graph, "candles")
        booked = reactivex.merge(*(self._surviving(graph, name) for name in BOOKED_STREAMS))
        session.attach(
            self.bridge.bind(state, partial(self._on_state, view), key=state_key, meter=session.meter),
            self.bridge.bind(candles, partial(self._on_state, view), key=state_key, hz=CHART_HZ),
            self.bridge.bind(log, partial(self._on_log, view), limit=MAX_LINES),
            self.bridge.bind(booked, view.model.book),
            self.bridge.bind(self._surviving(graph, "trades"), partial(self._on_trades, view), limit=TAPE_BATCH),
        )
        if isinstance(session, ReplaySession):
            session.attach(self.bridge.bind(session.status, partial(self._on_replay_status, view),
                                            key=lambda _status: 0))
        return view

    def _surviving(self, graph: Graph, name: str) -> Observable[Any]:
        """A graph output that, should its layer fail, is reported and ends alone: the panels fed by the
        other outputs carry on."""

        def failed(error: Exception, _source: Observable[Any]) -> Observable[Any]:
            self.report_from_anywhere(f"the {name} stream failed: {error!r}", "error")
            return reactivex.empty()

        return getattr(graph, name).pipe(ops.catch(failed))

    async def switch_to(self, session: Session | None, note: str = "") -> bool:
        """Bind `session`, start it and show it; the current one stays if it does not start."""
        if session is None:
            return False
        view = self.attach(session)
        self.note = note
        self.render_status()
        switched = await self.backend.switch(session)
        self.note = ""
        if switched:
            self.view = view
            view.model.note(LogEntry(None, f"source: {session.kind} {session.name}"))
            self.show_panels(PANELS)
        self.render_status()
        return switched

    async def _go_live(self) -> None:
        await self.switch_to(self.backend.open_live(), note=f"connecting to {network_name(self._live)}…")

    def _replay(self) -> ReplaySession | None:
        """The current replay session, or None (with a hint) when the source is live or missing."""
        session = self.backend.session
        if isinstance(session, ReplaySession):
            return session
        self.notify("replay controls need a recording: press l to go back to it, or o to open one",
                    severity="warning")
        return None

    # -- from the streams ------------------------------------------------------------------------------

    def _on_state(self, view: View, values: list[Any]) -> None:
        changed = view.model.apply(values)
        if view is self.view:
            self.show_panels(changed)
            if PNL in changed:
                self.render_status()

    def _on_log(self, view: View, values: list[Any]) -> None:
        changed = view.model.record(values)
        if view is self.view:
            self.show_panels({LOG} | changed)

    def _on_trades(self, view: View, values: list[Any]) -> None:
        changed = view.model.trades(values)
        if view is self.view:
            self.show_panels(changed)

    def _on_replay_status(self, view: View, statuses: list[ReplayStatus]) -> None:
        ended = statuses[-1].done and not (view.replay_status is not None and view.replay_status.done)
        view.replay_status = statuses[-1]
        if view is self.view:
            self.render_status()
            if ended:
                self.report(f"end of the recording {view.session.name}: {AFTER_THE_END}", "information")

    def report(self, message: str, severity: Severity) -> None:
        """A notification, also kept in the event log of the source on screen."""
        self.notify(message, severity=severity, timeout=NOTIFY_SECONDS[severity], markup=False)
        if self.view is not None:
            self.view.model.note(LogEntry(None, message, "info" if severity == "information" else severity))
            self.show_panels({LOG})

    def report_from_anywhere(self, message: str, severity: Severity) -> None:
        def report(_scheduler: Any, _state: Any = None) -> None:
            self.report(message, severity)
            self.render_status()  # what is reported may be a change of the connection the status bar shows

        self._ui.schedule(report)

    # -- rendering -------------------------------------------------------------------------------------

    def show_panels(self, panels: Iterable[str]) -> None:
        """Give each of `panels` its state from the model on screen (there is one: callers check)."""
        assert self.view is not None
        model = self.view.model
        for name in panels:
            widget, state = PANEL_STATES[name]
            panel: Any  # each panel widget has its own render_state
            for panel in self.query(widget):  # a panel may be both beside and a view (signals)
                if panel.is_mounted:
                    panel.render_state(state(model))
                else:  # mounted just now, its children not yet: its own queue renders it after they are
                    panel.call_later(lambda panel=panel, state=state: panel.render_state(state(model)))

    def render_status(self) -> None:
        perf, view = self.performance, self.view
        pending = self.backend.pending
        note = self.note
        if isinstance(pending, LiveSession) and pending.connection.state != "connecting":
            note = f"{note} {pending.connection.text(self._clock())} (l: give up)"
        if view is None:
            state = StatusState(note=note, rate=perf.rate, latency=perf.latency, memory=perf.memory)
        else:
            session, replay = view.session, view.replay_status
            position = replay.t if replay is not None and replay.t is not None else view.model.t
            state = StatusState(
                source=session.kind, name=session.name, position=position,
                progress=session.progress(position) if isinstance(session, ReplaySession) else None,
                speed=replay.speed if replay is not None else None,
                paused=replay is not None and replay.paused, done=replay is not None and replay.done,
                connection=session.connection.text(self._clock()) if isinstance(session, LiveSession) else None,
                trading=_trading(session), pnl=view.model.pnl, note=note, rate=perf.rate, latency=perf.latency,
                memory=perf.memory)
        self.query_one(StatusBar).render_state(state)

    def sample_performance(self) -> None:
        """Message rate since the last sample, the worst latency since then, and memory now."""
        perf, now = self.performance, self._clock()
        meter = self.view.session.meter if self.view is not None else None
        if meter is not None:
            if meter is perf.meter and now > perf.at:
                perf.rate = (meter.count - perf.count) / (now - perf.at)
            perf.meter, perf.count, perf.at = meter, meter.count, now
        perf.latency = self.bridge.latency.take()
        perf.memory = self._runtime.memory()
        self.render_status()

    # -- keys ------------------------------------------------------------------------------------------

    def action_toggle_source(self) -> None:
        """Live <-> replay. Without a source (the first one failed to start), to the other kind. While a
        live source is still trying to connect, gives it up (the current source plays on)."""
        if self._trading is not None and self.backend.broker is None:  # live trading goes live once connected
            self.notify("live trading starts once the broker is connected: the source follows then",
                        severity="warning")
            return
        if isinstance(self.backend.pending, LiveSession):
            self.backend.pending.give_up()
            return
        session = self.backend.session
        live_now = session.kind == "live" if session is not None else isinstance(self._first, LiveConfig)
        if not live_now:
            self.run_worker(self._go_live(), group="source", exclusive=True)
            return
        last = self.backend.last_replay
        session = self.backend.replay(last) if last is not None else self.backend.open_replay(None)
        self.run_worker(self.switch_to(session), group="source", exclusive=True)

    def _playing(self) -> ReplaySession | None:
        """The current replay session if it has frames left to play; else None, saying why."""
        session = self._replay()
        status = self.view.replay_status if self.view is not None else None
        if session is not None and status is not None and status.done:
            self.notify(f"the recording has ended, nothing is left to play: {AFTER_THE_END}", severity="warning")
            return None
        return session

    def action_pause(self) -> None:
        if session := self._playing():
            session.toggle_pause()

    def action_step(self) -> None:
        if session := self._playing():
            session.step()

    def _change_speed(self, step: int) -> None:
        if not (session := self._replay()):
            return
        speed = session.speed
        at = SPEEDS.index(speed) if speed in SPEEDS else SPEEDS.index(1.0)
        session.set_speed(SPEEDS[min(len(SPEEDS) - 1, max(0, at + step))])

    def action_faster(self) -> None:
        self._change_speed(+1)

    def action_slower(self) -> None:
        self._change_speed(-1)

    def action_jump(self) -> None:
        if not (session := self._replay()):
            return
        now = session.replayer.position or (session.span[0] if session.span else None)
        if now is None:
            self.notify("nothing has played yet: jump once the replay has started", severity="warning")
            return
        self.push_screen(JumpScreen(now, session.span), partial(self._jump, session))

    def _jump(self, session: ReplaySession, target: float | None) -> None:
        if target is None or session is not self.backend.session:
            return
        position = session.replayer.position
        if position is None or target >= position:
            session.seek(target)
        else:  # the graph only moves forward: replay the recording from its start up to `target`
            source = replace(session.source, speed=session.speed)
            again = self.backend.replay(source, at=target, paused=session.replayer.paused)
            self.run_worker(self.switch_to(again), group="source", exclusive=True)

    def action_select(self, step: int) -> None:
        if self.view is not None and self.view.model.select_next(step):
            self.show_panels(SELECTION)

    def on_markets_panel_selected(self, message: MarketsPanel.Selected) -> None:
        if self.view is not None and self.view.model.select(message.market):
            self.show_panels(SELECTION)

    def action_kill(self, flatten: bool) -> None:
        question = ("Kill switch: cancel every order, close every position and halt trading until reset?"
                    if flatten else "Kill switch: cancel every order and halt trading until reset?")
        self.push_screen(ConfirmScreen(question, "Kill + flatten" if flatten else "Kill"),
                         partial(self._kill, flatten))

    def _kill(self, flatten: bool, confirmed: bool | None) -> None:
        session = self.backend.session
        if not confirmed or session is None:
            return
        session.run_on_source(lambda: session.graph.kill_switch.kill(flatten=flatten, source="ui"))
        self.report("kill switch pulled" + (" (flatten)" if flatten else ""), "warning")

    def action_reset(self) -> None:
        self.push_screen(ConfirmScreen("Lift the halt and let the bot trade again?", "Reset"), self._reset)

    def _reset(self, confirmed: bool | None) -> None:
        session = self.backend.session
        if not confirmed or session is None:
            return
        session.run_on_source(lambda: session.graph.kill_switch.reset(source="ui"))
        self.report("kill switch reset", "information")

    def action_open(self) -> None:
        self.push_screen(OpenRecordingScreen(bundled_recordings()), self._open)

    def _open(self, path: Path | None) -> None:
        if path is None:
            return
        current = self.backend.session
        session = self.backend.open_replay(path, current.speed if isinstance(current, ReplaySession) else 1.0)
        if session is not None:
            self.run_worker(self.switch_to(session), group="source", exclusive=True)

    def action_next_view(self) -> None:
        self.query_one(Views).show_next()

    def action_next_overlay(self) -> None:
        self.query_one(CandleChartPanel).next_overlay()

    def action_toggle_volume(self) -> None:
        self.query_one(CandleChartPanel).toggle_volume()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Quit; with positions open, once confirmed (nothing manages them while the bot is gone)."""
        account = self.view.model.account if self.view is not None else None
        held = [position.market for position in account.positions if position.size] if account else []
        if not held:
            self.exit()
            return
        question = (f"{len(held)} position{'s' if len(held) > 1 else ''} open ({', '.join(held)}): quit anyway? "
                    "Nothing manages them while the bot is gone.")
        self.push_screen(ConfirmScreen(question, "Quit"), lambda confirmed: self.exit() if confirmed else None)


def _trading(session: Session) -> Trading | None:
    """Whose account the session's orders are on: None for the paper broker."""
    broker = session.broker if isinstance(session, LiveSession) else None
    return None if broker is None else Trading(broker.chain_id, broker.address, broker.subaccount)


def run_tui(*, config: Config, replay: ReplaySource | None = None, live: LiveConfig | None = None,
            target: LiveConfig | None = None, trading: TradingRequest | None = None,
            warnings: Sequence[str] = ()) -> int:
    """The dashboard on `live` when given, else on `replay` (None: the bundled recording); `l` goes live
    to `live`, else to `target` (else mainnet); `trading`: live sessions trade through the live broker;
    `warnings` (about the config) shown as notifications. Returns the exit status once the user quits."""
    app = DashboardApp(config, start=live or replay, live=live or target or LiveConfig(), warnings=warnings,
                       trading=trading)
    app.run()
    if app.refusal:
        print(f"dydx-bot: live trading: {app.refusal}", file=sys.stderr)
        return 1
    if app.exit_summary:
        print(f"dydx-bot: {app.exit_summary}")
    return 0
