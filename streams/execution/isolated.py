"""Where an order for an ISOLATED market goes: the chain lets an isolated market be held only alone in a
subaccount (mixing is error 2005), so, as the dYdX front end does, each isolated position lives in a
child subaccount `128·k + parent` (k ≥ 1) on its own collateral. An order adds to or reduces the child
that holds the market's position; a new position takes the first unused child (no position, no open
order). The bot does not move collateral from the parent to a child: an order whose child lacks the
initial margin it needs (a new child for the order alone; the holder for its position after the order)
is refused with that reason instead of a chain error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from streams.risk.account import FIRST_CHILD_SUBACCOUNT

USDC_QUANTUM = Decimal("0.000001")
MAX_SUBACCOUNT = 127_999
"""The chain's largest subaccount number (x/subaccounts MaxSubaccountIdNumber is 128 000, exclusive)."""


class ChildRefusedError(Exception):
    """The order cannot go to a child subaccount; says why."""


def child_for(market: str, parent: int, *, reduce_only: bool, margin_needed: Decimal, holders: Mapping[str, int],
              busy: Collection[int], usdc: Mapping[int, Decimal]) -> int:
    """The child subaccount an order of `margin_needed` USDC of initial margin in `market` goes to."""
    held = holders.get(market)
    if held is not None:
        return held
    if reduce_only:
        raise ChildRefusedError(f"{market} is an ISOLATED market and no child subaccount of {parent} holds a "
                           "position in it to reduce")
    child = next((n for n in range(FIRST_CHILD_SUBACCOUNT + parent, MAX_SUBACCOUNT + 1, FIRST_CHILD_SUBACCOUNT)
                  if n not in busy), None)
    if child is None:
        raise ChildRefusedError(f"every child subaccount of {parent} is in use")
    balance = usdc.get(child, Decimal(0))
    if balance < margin_needed:
        needed = margin_needed.quantize(USDC_QUANTUM, ROUND_CEILING).normalize()
        raise ChildRefusedError(
            f"{market} is an ISOLATED market: it trades in child subaccount {child} (unused), which holds "
            f"{balance.normalize():f} USDC of the {needed:f} USDC initial margin this order needs; the bot does not "
            f"move collateral from subaccount {parent}: transfer it to subaccount {child} first")
    return child


def check_holder_margin(market: str, child: int, parent: int, *, usdc: Decimal, size: Decimal, delta: Decimal,
                        price: Decimal, imf: Decimal) -> None:
    """An order of signed `delta` that grows the position of `size` child subaccount `child` holds in
    `market` must leave the child the initial margin of the position after it, on the child's own USDC
    (its equity at `price`, where the fill leaves it unchanged): else ChildRefusedError. An order that only
    shrinks the position needs no margin."""
    after = size + delta
    if abs(after) <= abs(size) and (after == 0 or (after > 0) == (size > 0)):
        return
    equity, needed = usdc + size * price, abs(after) * price * imf
    if equity >= needed:
        return
    raise ChildRefusedError(
        f"{market} is an ISOLATED market held in child subaccount {child}, whose "
        f"{equity.quantize(USDC_QUANTUM, ROUND_FLOOR).normalize():f} USDC of equity is short of the "
        f"{needed.quantize(USDC_QUANTUM, ROUND_CEILING).normalize():f} USDC initial margin its position needs "
        f"after this order; the bot does not move collateral from subaccount {parent}: transfer it to subaccount "
        f"{child} first")
