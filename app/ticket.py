"""What the order ticket needs besides its screen: the trader's fields -> an `OrderIntent` (or the reason
they do not make one), and the pre-trade what-if of the margin engine: margin usage and the market's
liquidation price now and after the order fills at the oracle price."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from streams.kernel.orders import OrderIntent, Side
from streams.market.state import MarketInfo
from streams.risk.account import MarginError, Market
from streams.risk.margin import AccountState, what_if
from streams.strategy.targets import account_of
from widgets.format import MISSING, percent, price

ORDER_TYPES = ("market", "limit", "post-only", "IOC", "reduce-only")
"""reduce-only is a market order that may only shrink the position (dYdX takes reduce-only as IOC only)."""


def ticket_intent(market: str, side: Side, size: str, order_type: str, limit: str, max_slippage: Decimal
                  ) -> OrderIntent | str:
    """The order the ticket describes, or what is wrong with it (one line)."""
    try:
        amount = Decimal(size)
    except InvalidOperation:
        return f"size {size!r} is not a number"
    if not amount.is_finite() or amount <= 0:
        return "size must be a positive number"
    if order_type in ("market", "reduce-only"):
        return OrderIntent(0.0, market, side, amount, kind="MARKET", time_in_force="IOC",
                           reduce_only=order_type == "reduce-only", max_slippage=max_slippage)
    try:
        at = Decimal(limit)
    except InvalidOperation:
        return f"a {order_type} order needs a limit price, not {limit!r}"
    if not at.is_finite() or at <= 0:
        return "the limit price must be a positive number"
    return OrderIntent(0.0, market, side, amount, price=at, post_only=order_type == "post-only",
                       time_in_force="IOC" if order_type == "IOC" else "GTT")


def preview(intent: OrderIntent, account: AccountState | None, infos: Mapping[str, MarketInfo]) -> str:
    """Margin usage and `intent.market`'s liquidation price, now -> after the order fills at the oracle
    price (no fees), as one line; or why there is no what-if yet."""
    if account is None:
        return "no account state yet: no what-if"
    markets = {name: Market.from_info(info) for name, info in infos.items()}
    prices = {name: info.oracle_price for name, info in infos.items() if info.oracle_price is not None}
    signed = intent.size if intent.side == "BUY" else -intent.size
    try:
        after = what_if(account_of(account), [(intent.market, signed)], prices, markets)
    except MarginError as exc:
        return f"no what-if: {exc}"
    tick = infos[intent.market].tick_size if intent.market in infos else None

    def liquidation(state: AccountState) -> str:
        row = next((p for p in state.positions if p.market == intent.market), None)
        return MISSING if row is None or row.liquidation_price is None else price(row.liquidation_price, tick)

    return (f"margin usage {percent(account.margin_usage)} → {percent(after.margin_usage)} · "
            f"liquidation {liquidation(account)} → {liquidation(after)}")
