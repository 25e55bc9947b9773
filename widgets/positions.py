"""Positions: size, entry, mark (book mid) and oracle price, unrealised PnL, liquidation price and its
distance, which turns yellow then red as it comes within the de-risking ladder's distances."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from textual.content import Content
from textual.widgets import Static

from streams.risk.config import RiskConfig
from streams.risk.margin import AccountState, PositionState
from widgets.format import DIM, MISSING, Column, Columns, number, price, quantity, sign_style
from widgets.panel import Panel
from widgets.rows import KeyedRows
from widgets.tcss import beside

COLUMNS = Columns(Column("MARKET", 9, left=True), Column("SIZE", 9), Column("ENTRY", 9), Column("MARK", 9),
                  Column("ORACLE", 9), Column("UPNL", 9), Column("LIQ.PRICE", 9), Column("DIST", 6))


@dataclass(frozen=True)
class PositionsState:
    account: AccountState | None = None
    marks: dict[str, Decimal] = field(default_factory=dict)
    """Book mid per market held."""
    ticks: dict[str, Decimal] = field(default_factory=dict)
    """Tick size per market held, for the price columns."""


def distance_text(distance_pct: Decimal | None) -> str:
    if distance_pct is None:
        return MISSING
    return f"{distance_pct:.1f}%" if distance_pct < 100 else f"{distance_pct:.0f}%"


class PositionsPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, risk: RiskConfig = RiskConfig(), *, id: str | None = None) -> None:
        super().__init__("Positions", id=id)
        # distances as the ladder climbs on them: NO_NEW_RISK, then REDUCE
        self._warn = risk.no_new_risk.enter_distance * 100
        self._danger = risk.reduce.enter_distance * 100

    def compose(self):
        yield Static(COLUMNS.header(), classes="header")
        yield KeyedRows("waiting for the account")

    def distance_style(self, distance_pct: Decimal | None) -> str:
        if distance_pct is None:
            return DIM
        if distance_pct <= self._danger:
            return "bold $text-error"
        return "bold $text-warning" if distance_pct <= self._warn else "$text-success"

    def position_row(self, position: PositionState, state: PositionsState) -> Content:
        tick = state.ticks.get(position.market)
        distance = position.distance_to_liquidation_pct
        return COLUMNS.row(
            (position.market, ""),
            (quantity(position.size, signed=True), sign_style(position.size)),
            (price(position.entry_price, tick), ""),
            (price(state.marks.get(position.market), tick), ""),
            (price(position.oracle_price, tick), ""),
            (number(position.unrealized_pnl, 2, signed=True), sign_style(position.unrealized_pnl)),
            (price(position.liquidation_price, tick), ""),
            (distance_text(distance), self.distance_style(distance)),
        )

    def render_state(self, state: PositionsState) -> None:
        rows = self.query_one(KeyedRows)
        if state.account is not None and not state.account.positions:
            rows.show([("", Content.styled("no open positions", DIM))])
            return
        positions = () if state.account is None else state.account.positions
        rows.show([(p.market, self.position_row(p, state)) for p in positions])
