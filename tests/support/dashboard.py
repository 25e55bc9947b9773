"""Support for the dashboard tests.

- Values for the panels, each built by the layer that makes it in the app (the margin engine, the
  de-risking ladder, the signal scorer) from fixed inputs, so a panel is shown what it will be shown for
  real: normal, de-risking, and data in error; `PanelApp` shows one panel alone.
- `Dashboard`: the whole app on a recording, with replay and conflation on one virtual clock the test
  advances, so any position of a recording gives the same screen every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from reactivex.scheduler import HistoricalScheduler
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select

from app.backend import ReplaySession
from app.screens.blotter import BlotterScreen
from app.sources import ReplaySource
from app.tui import DashboardApp, Runtime
from streams.config import Config
from streams.execution.ledger import Ledger, SessionPnl
from streams.execution.paper_broker import FundingPayment
from streams.kernel.orders import Fill
from streams.market.events import Candle
from streams.market.state import BookTop, MarketInfo, StreamHealth
from streams.risk.account import Account, Market, Position
from streams.risk.config import RiskConfig
from streams.risk.ladder import Ladder, RiskState
from streams.risk.margin import AccountState, account_state
from streams.signals.config import SignalsConfig
from streams.signals.indicators.market import VALUES, IndicatorSnapshot
from streams.signals.scoring import SignalScore, score
from tests.support import builders
from tools.synthetic import synthetic_candles

T = 1_735_812_000.0 + 1242.0  # 2025-01-02 10:20:42 UTC
D = Decimal

# market -> (oracle price, tick, step, 24h change, hourly funding, open interest, IMF, MMF)
MARKETS = {
    "BTC-USD": (D("97012.5"), D("1"), D("0.0001"), D("1203.5"), D("0.0000125"), D("512.3456"), D("0.02"),
                D("0.012")),
    "ETH-USD": (D("3412.1"), D("0.1"), D("0.001"), D("-40.2"), D("-0.0000031"), D("20112.5"), D("0.02"),
                D("0.012")),
    "SOL-USD": (D("187.231"), D("0.001"), D("0.1"), D("2.1"), D("0.0000402"), D("1843522"), D("0.05"),
                D("0.03")),
}


def market_info(market: str, t: float = T, oracle: Decimal | None = None) -> MarketInfo:
    price, tick, step, change, funding, oi, imf, mmf = MARKETS[market]
    return builders.market_info(
        market, t, oracle_price=price if oracle is None else oracle, next_funding_rate=funding,
        initial_margin_fraction=imf, maintenance_margin_fraction=mmf, open_interest=oi, open_interest_lower_cap=None,
        open_interest_upper_cap=None, tick_size=tick, step_size=step, atomic_resolution=-10,
        clob_pair_id=str(list(MARKETS).index(market)), price_change_24h=change)


def book_top(market: str, t: float = T, ticks_wide: int = 1) -> BookTop:
    price, tick = MARKETS[market][0], MARKETS[market][1]
    bid = (price // tick) * tick
    ask = bid + tick * ticks_wide
    return BookTop(t=t, market=market, bids=((bid, D("1.5")),), asks=((ask, D("0.8")),), mid=(bid + ask) / 2,
                   spread=ask - bid, imbalance=0.3)


def health(stream: str, state: str = "ok", t: float = T, **counts: int) -> StreamHealth:
    rate = {"ok": 4.1, "stale": 0.0, "resyncing": 0.4, "error": 0.0}[state]
    age = {"ok": 0.2, "stale": 31.4, "resyncing": 1.2, "error": 3.0}[state]
    return StreamHealth(t=t, stream=stream, rate=rate, last_age=age, messages=counts.get("messages", 1834),
                        gaps=counts.get("gaps", 0), resyncs=counts.get("resyncs", 0),
                        crossed=counts.get("crossed", 0), errors=counts.get("errors", 0), state=state)


def stream_names(market: str) -> list[str]:
    return [f"v4_orderbook:{market}", f"v4_trades:{market}", f"v4_candles:{market}/1MIN"]


def signal_score(market: str, rsi: float | None, macd_hist: float, close: float, imbalance: float,
                 t: float = T) -> SignalScore:
    """A score as the scorer makes it from an indicator snapshot (ATR 1 % of the close)."""
    values: dict[str, float | None] = dict.fromkeys(VALUES)
    atr = close * 0.01
    values.update(close=close, rsi=rsi, macd_hist=None if rsi is None else macd_hist * atr, atr=atr,
                  bb_upper=close * 1.01, bb_lower=close * 0.985, vwap=close * 0.998, imbalance=imbalance)
    return score(IndicatorSnapshot(t=t, market=market, closed=True, values=values), SignalsConfig())


def scores() -> tuple[SignalScore, ...]:
    return (signal_score("BTC-USD", 34.8, 0.42, 97012.5, 0.31), signal_score("ETH-USD", 71.5, -0.4, 3412.1, -0.52),
            signal_score("SOL-USD", None, 0.0, 187.231, 0.05))


def _margin_markets() -> dict[str, Market]:
    return {name: Market(ticker=name, imf=imf, mmf=mmf, funding_rate=funding)
            for name, (_, _, _, _, funding, _, imf, mmf) in MARKETS.items()}


def account(usdc: Decimal, positions: dict[str, tuple[Decimal, Decimal]], prices: dict[str, Decimal] | None = None,
            t: float = T) -> AccountState:
    """The margin engine's state of an account holding `positions` (market -> (size, entry))."""
    held = {market: Position(market=market, size=size, entry_price=entry)
            for market, (size, entry) in positions.items()}
    oracle = {market: spec[0] for market, spec in MARKETS.items()} | (prices or {})
    return account_state(Account(usdc=usdc, positions=held), oracle, _margin_markets(), t=t)


def normal_account() -> AccountState:
    return account(D("-25000"), {"BTC-USD": (D("0.5"), D("95250")), "ETH-USD": (D("-2"), D("3455.4"))})


def derisking_account() -> AccountState:
    """Levered up into a falling market: the BTC liquidation price within the REDUCE rung's distance."""
    return account(D("-147945"), {"BTC-USD": (D("1.8"), D("99120")), "ETH-USD": (D("-4"), D("3380.5"))},
                   prices={"BTC-USD": D("96102"), "ETH-USD": D("3430.8")})


def risk_after(*steps: tuple[str, tuple]) -> RiskState:
    """The ladder's state after feeding it `(method, args)` steps, as the risk engine would."""
    ladder = Ladder(RiskConfig(), t=T - 60)
    for method, args in steps:
        getattr(ladder, method)(*args)
    return ladder.state


def normal_risk(state: AccountState) -> RiskState:
    """Back to NORMAL after usage fell below the NO_NEW_RISK rung's exit."""
    return risk_after(("margin", (T - 60, state.equity, D("0.55"), None)),
                      ("margin", (T, state.equity, state.margin_usage, _nearest(state))))


def derisking_risk(state: AccountState) -> RiskState:
    return risk_after(("margin", (T - 30, D(12_000), D("0.25"), None)),
                      ("margin", (T, state.equity, state.margin_usage, _nearest(state))))


def error_risk(state: AccountState) -> RiskState:
    return risk_after(("margin", (T - 30, state.equity, state.margin_usage, _nearest(state))),
                      ("health", (health("v4_orderbook:ETH-USD", "error", errors=3),)))


def _nearest(state: AccountState) -> Decimal | None:
    distances = [p.distance_to_liquidation_pct / 100 for p in state.positions
                 if p.distance_to_liquidation_pct is not None]
    return min(distances, default=None)


def traded_pnl() -> SessionPnl:
    """The session ledger after a BTC round trip won, one lost, an ETH short held and its funding."""
    ledger = Ledger()
    ledger.on_event(account(D("10000"), {}))
    for side, size, price in (("BUY", "0.2", "97000"), ("SELL", "0.1", "97400"), ("SELL", "0.1", "96900")):
        ledger.on_event(Fill(T, "BTC-USD", side, D(size), D(price), D("3.88"), "TAKER"))  # type: ignore[arg-type]
    ledger.on_event(Fill(T, "ETH-USD", "SELL", D("2"), D("3412.1"), D("1.36"), "MAKER"))
    ledger.on_event(FundingPayment(T, "ETH-USD", D("-2"), D("3412.1"), D("0.00001"), D("0.07")))
    (state,) = ledger.on_event(account(D("16800"), {"ETH-USD": (D("-2"), D("3412.1"))},
                                       prices={"ETH-USD": D("3401.3")}))
    return state


def candles(market: str = "BTC-USD", minutes: int = 40) -> tuple[Candle, ...]:
    """SYNTHETIC 1-minute candles ending at T (a seeded random walk from the market's price)."""
    price, tick, step = MARKETS[market][:3]
    start = (T // 60 - minutes + 1) * 60
    wire = synthetic_candles(market, start, minutes, price, tick, step, random.Random(7))
    return tuple(msgspec.convert(candle, Candle, strict=False) for candle in wire)


class PanelApp(App):
    """One panel alone, shown `state` (deterministic: fixed theme, no animation)."""

    def __init__(self, panel: Widget, state: Any) -> None:
        super().__init__()
        self.theme = "textual-dark"
        self.animation_level = "none"
        self.panel = panel
        self.state = state

    def compose(self) -> ComposeResult:
        yield self.panel

    def on_mount(self) -> None:
        self.panel.render_state(self.state)


# ---------------------------------------------------------------------------------------------------
# The whole dashboard on a recording, in virtual time


TICK = 0.001
"""A virtual millisecond: what runs whatever is due now (a virtual-time scheduler runs nothing unless its
clock moves)."""


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Dashboard:
    """The app replaying a recording with replay and conflation on one virtual clock the test advances, a
    fixed monotonic clock and memory figure, and no periodic sampling: the same screen every run."""

    app: DashboardApp
    source: ReplaySource
    scheduler: HistoricalScheduler
    clock: FakeClock

    @classmethod
    def on(cls, recording: Path, *, speed: float | None = 1.0, config: Config = Config(), **options: Any
           ) -> Dashboard:
        """`options`: the app's `start` and `live`, and `graph_factory` for its runtime."""
        source, scheduler, clock = ReplaySource.open(recording, speed), HistoricalScheduler(), FakeClock()
        runtime = Runtime(graph_factory=options.pop("graph_factory", None), replay_scheduler=scheduler,
                          bridge_timer=scheduler, clock=clock, memory=lambda: 182 * 2**20, status_interval=None)
        app = DashboardApp(config, **{"start": source, **options}, runtime=runtime)
        return cls(app, source, scheduler, clock)

    @property
    def start(self) -> float:
        """When the recording starts (from its manifest): positions relative to it suit any recording."""
        return self.source.recording.manifest["start"]

    @property
    def session(self) -> ReplaySession:
        session = self.app.backend.session
        assert isinstance(session, ReplaySession)
        return session

    async def started(self) -> ReplaySession:
        """Once the source switch the app is busy with is done (its start is posted to the virtual clock)."""
        await self.app.workers.wait_for_complete()
        self.scheduler.advance_by(TICK)
        return self.session

    async def steady(self, pilot: Pilot) -> None:
        """Text cursors shown steadily, for a snapshot: a blinking one is on or off as the wall clock has it."""
        for field in self.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    async def settle(self, pilot: Pilot, seconds: float = 1.0) -> None:
        """Let `seconds` of virtual time pass (the replay plays on, the bridge flushes), then the UI catch up."""
        self.scheduler.advance_by(max(seconds, TICK))
        await pilot.pause()

    async def play_to(self, pilot: Pilot, t: float) -> None:
        """Pause the replay at event time `t` exactly and show what it got to: a fixed position. The status
        bar's rate is that of the frames up to `t` over one second of the fake clock."""
        session = await self.started()

        def seek() -> None:
            session.replayer.pause()
            session.replayer.seek(t)

        session.run_on_source(seek)
        self.app.sample_performance()
        self.scheduler.advance_by(TICK)
        await self.settle(pilot)  # shown in the instant the frames came: no latency
        self.clock.now += 1.0  # and a second later the rate is sampled
        self.app.sample_performance()
        await pilot.pause()

    async def rest_an_order(self, pilot: Pilot, limit: str, size: str = "0.01") -> None:
        """A post-only paper order at `limit` from the order ticket: far under the market, it rests."""
        await pilot.press("t")
        ticket = self.app.screen
        ticket.query_one("#size", Input).value = size
        ticket.query_one("#type", Select).value = "post-only"
        ticket.query_one("#limit", Input).value = limit
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()

    async def open_blotter(self, pilot: Pilot) -> BlotterScreen:
        await pilot.press("b")
        blotter = self.app.screen
        assert isinstance(blotter, BlotterScreen)
        await pilot.pause()
        return blotter
