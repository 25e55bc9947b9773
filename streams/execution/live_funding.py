"""A live account's funding payments, from the Indexer's positions: each position's `netFunding` is the
funding it has settled since it opened (received +, paid −: the Indexer's `realizedPnl` includes it), so
each move of it is a payment, booked once as a `FundingPayment` of the move.

Heard in every v4_subaccounts position update and snapshot, it is idempotent by construction: a message
heard twice moves nothing, and the fresh snapshot after a lost connection books exactly what was settled
while nobody listened. A position opened meanwhile books all of its own: the snapshot's `createdAt` tells
it apart, from the `createdAt` of the position last heard of or, when that was heard of on the socket
only (whose positions say none), from when it was last heard of (`SKEW` allows for the clocks).
The first snapshot is the baseline: what was settled before the session is not the session's. A position
that closed while nobody listened is absent from the fresh snapshot, and what it settled after the last
message heard is not known to the account view; the chain has it in the USDC balance all the same.

The Indexer does not say the rate or the oracle price of a settlement, so those are None. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from streams.execution.paper_broker import FundingPayment
from streams.market import events as ev

ZERO = Decimal(0)
SKEW = 60.0
"""Seconds between the chain's time and receive time that still count as the same moment."""

_Key = tuple[int, str]  # (subaccount number, market)


class _Settled(NamedTuple):
    opened: str | None  # the position's createdAt (None: heard of on the socket only)
    heard: float  # event time it was last heard of
    net_funding: Decimal


def _opened_since(before: _Settled, opened: str | None) -> bool:
    """Whether a position opened at `opened` is another than the one `before` describes."""
    if opened is None:
        return False
    if before.opened is not None:
        return opened != before.opened
    try:
        return datetime.fromisoformat(opened).timestamp() > before.heard + SKEW
    except ValueError:  # not a time: nothing tells the two apart
        return False


class LiveFunding:
    def __init__(self) -> None:
        self._settled: dict[_Key, _Settled] = {}

    def on_snapshot(self, subaccount: int, positions: Mapping[str, ev.PerpetualPosition], t: float, *,
                    baseline: bool) -> list[FundingPayment]:
        """A snapshot of one subaccount's open positions (`baseline`: the session's first)."""
        out: list[FundingPayment] = []
        held = {(subaccount, market) for market in positions}
        for key in [k for k in self._settled if k[0] == subaccount and k not in held]:
            del self._settled[key]  # closed while nobody listened
        for market, position in sorted(positions.items()):
            if position.netFunding is None:
                continue
            key = (subaccount, market)
            before = self._settled.get(key)
            self._settled[key] = _Settled(position.createdAt, t, position.netFunding)
            if baseline:
                continue
            new = before is None or _opened_since(before, position.createdAt)  # opened while nobody listened
            out += self._payment(t, position, position.netFunding - (ZERO if new or before is None
                                                                     else before.net_funding))
        return out

    def on_positions(self, subaccount: int, positions: Iterable[ev.PerpetualPosition], t: float
                     ) -> list[FundingPayment]:
        """A v4_subaccounts update's positions (a position first heard of here opened in the session)."""
        out: list[FundingPayment] = []
        for position in positions:
            if position.netFunding is None:
                continue
            key = (position.subaccountNumber if position.subaccountNumber is not None else subaccount,
                   position.market)
            before = self._settled.get(key)
            out += self._payment(t, position, position.netFunding - (before.net_funding if before else ZERO))
            if position.status == "OPEN":
                self._settled[key] = _Settled(before.opened if before else position.createdAt, t, position.netFunding)
            else:  # closed: the market's next position settles from nothing
                self._settled.pop(key, None)
        return out

    @staticmethod
    def _payment(t: float, position: ev.PerpetualPosition, amount: Decimal) -> list[FundingPayment]:
        if not amount:
            return []
        size = abs(position.size) * (-1 if position.side == "SHORT" else 1)
        return [FundingPayment(t, position.market, size, None, None, amount)]
