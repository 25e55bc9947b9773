"""Margin health: equity, free collateral, a margin usage gauge coloured by the de-risking ladder's
thresholds, leverage, the protective stops resting on the venue, and the ladder's state with its reason,
prominent: what a trader checks first."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from textual.content import Content
from textual.widgets import Static

from streams.kernel.orders import StopIntent
from streams.risk.config import RiskConfig
from streams.risk.ladder import LEVELS, RiskState
from streams.risk.margin import AccountState
from widgets.format import DIM, MISSING, join, number, percent, price
from widgets.panel import Panel
from widgets.tcss import beside

GAUGE = 15
"""Cells of the margin usage gauge (0 to 100 %)."""

LABEL = 10


@dataclass(frozen=True)
class MarginState:
    account: AccountState | None = None
    risk: RiskState | None = None
    stops: tuple[StopIntent, ...] = ()


def nearest_liquidation(account: AccountState) -> str:
    """How far the position nearest its liquidation price is from it: `ETH-USD 7.9% 3.2 ATR` (the ATRs once
    its market has closed candles enough for one); "" when no position can be liquidated."""
    near = [p for p in account.positions if p.distance_to_liquidation_pct is not None]
    if not near:
        return ""
    position = min(near, key=lambda p: p.distance_to_liquidation_pct or 0)
    atr = position.distance_to_liquidation_atr
    return f"{position.market} {position.distance_to_liquidation_pct:.1f}%" + (
        "" if atr is None else f" {atr:.1f} ATR" if atr < 10 else f" {atr:.0f} ATR")


class MarginHealthPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, risk: RiskConfig = RiskConfig(), *, id: str | None = None) -> None:
        super().__init__("Margin health", id=id)
        # (usage at which a rung starts, its style), most severe first
        self._bands = ((risk.flatten.enter_usage, "bold $text-error"), (risk.reduce.enter_usage, "$text-error"),
                       (risk.no_new_risk.enter_usage, "$text-warning"))
        self._marks = {min(GAUGE - 1, int(level * GAUGE)) for level, _ in self._bands}

    def compose(self):
        yield Static(id="figures")
        yield Static(id="state")
        yield Static(id="reason")

    def usage_style(self, usage: Decimal) -> str:
        return next((style for level, style in self._bands if usage >= level), "$text-success")

    def gauge(self, usage: Decimal | None) -> Content:
        """Filled cells in the band's style; the unfilled part marks where each rung starts."""
        if usage is None:
            return Content.styled("░" * GAUGE, DIM)
        filled = min(GAUGE, round(usage * GAUGE))
        rest = "".join("┆" if cell in self._marks else "░" for cell in range(filled, GAUGE))
        return Content.assemble(("█" * filled, self.usage_style(usage)), (rest, DIM))

    def figures(self, account: AccountState | None, stops: tuple[StopIntent, ...] = ()) -> Content:
        def line(label: str, *value: Content | str) -> Content:
            return join([Content.styled(label.ljust(LABEL), DIM), *value], "")

        if account is None:
            return Content.styled("waiting for the account", DIM)
        usage = account.margin_usage
        return Content("\n").join([
            line("Equity", f"{number(account.equity):>13} USDC"),
            line("Free coll.", f"{number(account.free_collateral):>13} USDC"),
            line("Usage", self.gauge(usage), " ",
                 Content.styled(percent(usage).rjust(6), DIM if usage is None else self.usage_style(usage))),
            line("Leverage", MISSING if account.leverage is None else f"{account.leverage:>12.2f}×",
                 Content.styled("  LIQUIDATABLE", "bold $text-error") if account.liquidatable else ""),
            *([line("Liq. dist", nearest)] if (nearest := nearest_liquidation(account)) else []),
            # a stop closes its whole position: the market and where it fires say it all
            *(line("Stops" if i == 0 else "", f"{stop.market} {'≤' if stop.side == 'SELL' else '≥'} "
                   f"{price(stop.trigger_price, None)}") for i, stop in enumerate(stops)),
        ])

    def render_state(self, state: MarginState) -> None:
        self.query_one("#figures", Static).update(self.figures(state.account, state.stops))
        badge = self.query_one("#state", Static)
        risk = state.risk
        level = None if risk is None else risk.state
        for name in LEVELS:
            badge.set_class(name == level, f"-{name.lower().replace('_', '-')}")
        if risk is None:
            badge.update(MISSING)
        else:
            badge.update(f" {risk.state.replace('_', ' ')}{' · flattening' if risk.flatten else ''} ")
        self.query_one("#reason", Static).update("" if state.risk is None else state.risk.reason)
