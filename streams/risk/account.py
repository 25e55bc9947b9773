"""The account model the margin engine works on: market parameters, positions and one subaccount's USDC
balance, built from Indexer payloads and moved forward by Indexer updates or by the bot's own fills.

Values are immutable: every update returns a new `Account`, so a state computed from one never changes
under its reader. Money and sizes are `Decimal` throughout.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from msgspec import Struct, structs

from streams.market import events as ev
from streams.market.state import MarketInfo

ZERO = Decimal(0)

COLLATERAL = "USDC"
"""The only collateral asset on dYdX v4; other asset positions cannot exist and are ignored."""

FIRST_CHILD_SUBACCOUNT = 128
"""The front end holds each isolated-margin position in a child subaccount `128·k + parent`."""


class MarginError(ValueError):
    """Inputs the margin math cannot work with (a missing price, an impossible position mix)."""


class Market(Struct, frozen=True):
    """The margin parameters of one perpetual market.

    `mmf` is absolute (base IMF × maintenance fraction, as the Indexer reports it) and never scales;
    the open-interest caps are in USDC and `0`/`0` means no scaling; `funding_rate` is hourly.
    """

    ticker: str
    imf: Decimal
    mmf: Decimal
    open_interest: Decimal = ZERO  # base units
    open_interest_lower_cap: Decimal = ZERO
    open_interest_upper_cap: Decimal = ZERO
    isolated: bool = False
    funding_rate: Decimal | None = None

    @classmethod
    def from_info(cls, info: MarketInfo) -> Market:
        return cls(ticker=info.market, imf=info.initial_margin_fraction,
                   mmf=info.maintenance_margin_fraction, open_interest=info.open_interest or ZERO,
                   open_interest_lower_cap=info.open_interest_lower_cap or ZERO,
                   open_interest_upper_cap=info.open_interest_upper_cap or ZERO,
                   isolated=info.market_type == "ISOLATED", funding_rate=info.next_funding_rate)

    @classmethod
    def from_perpetual_market(cls, market: ev.PerpetualMarket) -> Market:
        return cls(ticker=market.ticker, imf=market.initialMarginFraction,
                   mmf=market.maintenanceMarginFraction, open_interest=market.openInterest or ZERO,
                   open_interest_lower_cap=market.openInterestLowerCap or ZERO,
                   open_interest_upper_cap=market.openInterestUpperCap or ZERO,
                   isolated=market.marketType == "ISOLATED", funding_rate=market.nextFundingRate)


class Position(Struct, frozen=True):
    """`size` is signed (negative = short). `funding_accrued` is funding earned (+) or owed (−) that is
    not yet settled into the USDC balance; the Indexer settles it before reporting, so it is 0 there."""

    market: str
    size: Decimal
    entry_price: Decimal | None = None
    funding_accrued: Decimal = ZERO


class Account(Struct, frozen=True):
    """One subaccount: its signed USDC balance Q, open positions by market, and the per-market leverage
    the owner chose (`MsgUpdateLeverage`: the initial margin fraction is then at least 1/leverage).

    `isolated` marks a subaccount holding a single position in isolated margin mode; positions in one
    subaccount always share its collateral, so this only names the margin mode.
    """

    usdc: Decimal
    positions: dict[str, Position] = {}
    leverage: dict[str, Decimal] = {}
    isolated: bool = False


class AccountSnapshot(Struct, frozen=True):
    """A whole account at event time `t`, replacing the tracked one: the paper broker publishes its
    subaccount this way after every change (fills, funding, liquidation)."""

    t: float
    account: Account


def _usdc(asset: ev.AssetPosition) -> Decimal:
    return -asset.size if asset.side == "SHORT" else asset.size


def _signed_size(position: ev.PerpetualPosition) -> Decimal:
    # The side decides the sign: REST sends signed sizes, but `side` is the field every message kind
    # carries the same way.
    return -abs(position.size) if position.side == "SHORT" else abs(position.size)


def _position(position: ev.PerpetualPosition) -> Position:
    return Position(market=position.market, size=_signed_size(position), entry_price=position.entryPrice)


def account_from_subaccount(subaccount: ev.Subaccount, leverage: Mapping[str, Decimal] | None = None
                            ) -> Account:
    """An account from a REST subaccount body (also the `subaccount` of a v4_subaccounts snapshot)."""
    asset = subaccount.assetPositions.get(COLLATERAL)
    positions = {p.market: _position(p) for p in subaccount.openPerpetualPositions.values()
                 if p.status == "OPEN" and p.size}
    return Account(usdc=_usdc(asset) if asset else ZERO, positions=positions, leverage=dict(leverage or {}),
                   isolated=subaccount.subaccountNumber >= FIRST_CHILD_SUBACCOUNT)


def parent_of(subaccount: int) -> int:
    """The parent subaccount of `subaccount` (itself when it is one)."""
    return subaccount % FIRST_CHILD_SUBACCOUNT


def accounts_of_parent(parent: ev.ParentSubaccount, leverage: Mapping[str, Decimal] | None = None
                       ) -> dict[int, Account]:
    """Every subaccount of a parent (its REST body, or a v4_parent_subaccounts snapshot's `subaccount`),
    by number: the parent's cross positions and each child's isolated one, each on its own collateral."""
    return {child.subaccountNumber: account_from_subaccount(child, leverage) for child in parent.childSubaccounts}


def apply_parent_update(accounts: Mapping[int, Account], update: ev.SubaccountUpdate, subaccount: int
                        ) -> dict[int, Account]:
    """A v4_parent_subaccounts update: each position and balance goes to the subaccount it names, or to
    `subaccount` (the frame's `subaccountNumber`, else the parent's) if it names none. A child seen for the
    first time starts empty; a child left with no position and no USDC (its collateral went back to the
    parent) is dropped."""
    parts: dict[int, ev.SubaccountUpdate] = {}
    for kind, items in (("perpetualPositions", update.perpetualPositions), ("assetPositions", update.assetPositions)):
        for item in items:
            number = item.subaccountNumber if item.subaccountNumber is not None else subaccount
            part = parts.setdefault(number, ev.SubaccountUpdate())
            parts[number] = structs.replace(part, **{kind: [*getattr(part, kind), item]})
    if not parts:
        return dict(accounts)
    result = dict(accounts)
    for number, part in parts.items():
        held = result.get(number) or Account(usdc=ZERO, isolated=number >= FIRST_CHILD_SUBACCOUNT)
        account = apply_update(held, part)
        if number >= FIRST_CHILD_SUBACCOUNT and not account.positions and not account.usdc:
            result.pop(number, None)
        else:
            result[number] = account
    return result


def implied_oracle_prices(subaccount: ev.Subaccount) -> dict[str, Decimal]:
    """The oracle prices the Indexer valued the positions at: `entry + unrealizedPnl / size`.

    A subaccount body carries no prices, but its unrealized PnL is `size·(P − entry)`, so the prices
    behind its `equity` and `freeCollateral` can be recovered (exactly, for every real capture tested).
    """
    return {
        p.market: p.entryPrice + p.unrealizedPnl / _signed_size(p)
        for p in subaccount.openPerpetualPositions.values()
        if p.size and p.entryPrice is not None and p.unrealizedPnl is not None
    }


def apply_update(account: Account, update: ev.SubaccountUpdate) -> Account:
    """A v4_subaccounts update: positions and the USDC balance are sent as new absolute values.

    Fills are not applied: each fill also changes the positions and balance, and the Indexer sends
    those new values too (the chain's subaccount update), so applying fills would count them twice.
    Orders, transfers and rewards do not change margin (a transfer arrives as a balance update).
    """
    usdc = account.usdc
    for asset in update.assetPositions:
        if asset.symbol == COLLATERAL:
            usdc = _usdc(asset)
    if not update.perpetualPositions and usdc == account.usdc:
        return account
    positions = dict(account.positions)
    for p in update.perpetualPositions:
        if p.status == "OPEN" and p.size:
            positions[p.market] = _position(p)
        else:
            positions.pop(p.market, None)
    return structs.replace(account, usdc=usdc, positions=positions)


def apply_trade(account: Account, market: str, size: Decimal, price: Decimal, fee: Decimal = ZERO
                ) -> Account:
    """The account after buying (`size` > 0) or selling `size` of `market` at `price`, paying `fee`.

    As on chain, accrued funding is settled into the balance first. The entry price is the size-weighted
    average while a position grows, stays while it shrinks, and is the trade price after a flip.
    """
    usdc = account.usdc - size * price - fee + sum((p.funding_accrued for p in account.positions.values()),
                                                  ZERO)
    positions = {name: structs.replace(p, funding_accrued=ZERO) if p.funding_accrued else p
                 for name, p in account.positions.items()}
    held = positions.get(market)
    old = held.size if held else ZERO
    new = old + size
    entry: Decimal | None
    if new == 0:
        positions.pop(market, None)
    else:
        if held is None or old == 0 or (old > 0) != (new > 0):
            entry = price
        elif abs(new) > abs(old):
            entry = None if held.entry_price is None else (old * held.entry_price + size * price) / new
        else:
            entry = held.entry_price
        positions[market] = Position(market=market, size=new, entry_price=entry)
    return structs.replace(account, usdc=usdc, positions=positions)


def isolation_conflict(account: Account, markets: Mapping[str, Market]) -> str | None:
    """Why the chain would refuse this mix of positions (an ISOLATED market must be held alone in its
    subaccount, error 2005), or None."""
    if len(account.positions) < 2:
        return None
    for name in account.positions:
        market = markets.get(name)
        if market is not None and market.isolated:
            others = ", ".join(sorted(set(account.positions) - {name}))
            return f"ISOLATED market {name} shares a subaccount with {others} (dYdX error 2005)"
    return None
