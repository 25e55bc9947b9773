"""Market detail of the selected market: status and margin mode, margin fractions and the leverage they
allow, oracle price, 24 h change and volume, open interest, and the hourly funding rate with its recent
history (each change seen this session)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from textual.content import Content
from textual.widgets import Static

from streams.market.state import MarketInfo
from widgets.format import DIM, MISSING, compact, join, percent, price, sign_style, utc_clock
from widgets.panel import Panel
from widgets.rows import show_text
from widgets.tcss import beside

LABEL = 12
HISTORY = 6
"""Funding rate changes shown, newest last."""


@dataclass(frozen=True)
class MarketDetailState:
    market: str | None = None
    info: MarketInfo | None = None
    funding: tuple[tuple[float, Decimal], ...] = ()
    """(event time, hourly rate) at each change of the market's next funding rate, oldest first."""


def max_leverage(imf: Decimal) -> str:
    return MISSING if not imf else f"{1 / imf:.0f}×"


def figures(state: MarketDetailState) -> Content:
    info = state.info
    if info is None:
        return Content.styled(f"{state.market or 'no market selected'}: waiting for its parameters", DIM)

    def line(label: str, *parts: Content | str) -> Content:
        return join([Content.styled(label.ljust(LABEL), DIM), *parts])

    funding = info.next_funding_rate
    history = [Content.assemble((utc_clock(t)[:5], DIM), " ", (percent(rate, 4, signed=True), sign_style(rate)))
               for t, rate in state.funding[-HISTORY:]]
    return Content("\n").join([
        Content.assemble((info.market, "bold"), f"  {info.status.lower()}  {info.market_type.lower()} margin"),
        line("Margin", f"initial {percent(info.initial_margin_fraction, 2)}",
             f"maintenance {percent(info.maintenance_margin_fraction, 2)}",
             f"max leverage {max_leverage(info.initial_margin_fraction)}"),
        line("Oracle", price(info.oracle_price, info.tick_size),
             f"24h volume {compact(info.volume_24h)}{'' if info.volume_24h is None else ' USDC'}",
             f"open interest {compact(info.open_interest)}"),
        line("Funding/h", Content.styled(percent(funding, 4, signed=True), sign_style(funding)),
             *([Content.styled("history", DIM), *history] if history else [])),
    ])


class MarketDetailPanel(Panel):
    DEFAULT_CSS = beside(__file__)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Market", id=id)

    def compose(self):
        yield Static(id="figures")

    def render_state(self, state: MarketDetailState) -> None:
        show_text(self.query_one("#figures", Static), figures(state))
