"""The session ledger: what trading did to the account since the session began - realised and unrealised
PnL, fees paid, funding paid or received, trades and win rate - folded from the broker's fills, the
funding payments and the account's margin states.

Positions are carried at their average entry price: a fill that reduces a position realises
`closed × (price − entry)` for a long (the reverse for a short), and one that flips it opens the rest at
its own price. Unrealised PnL marks the ledger's own positions at the account's oracle prices, so that
`net` (realised + unrealised − fees + funding) is the change of equity since the first account state,
as the chain counts it (to the rounding of the average entry's division, ~1e-25 USDC). Positions held
when the session begins (live) enter at that state's oracle price: the session counts what they did from
then on. A fill that closes (part of) a position is a round trip; it is a win when it realised more than
nothing. A state is emitted with each account state (fills and funding change the account, and the
account state that follows them carries the prices they are marked at). Each fill also goes out at once as
its `LedgerEntry`: the trade history, with the PnL the fill realised and the position it left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from msgspec import Struct
from reactivex import Observable

from streams.execution.paper_broker import FundingPayment
from streams.kernel.orders import Fill
from streams.kernel.stage import NOTHING, Stage, lift
from streams.risk.margin import AccountState

ZERO = Decimal(0)

LedgerInput = Fill | FundingPayment | AccountState


class SessionPnl(Struct, frozen=True):
    """The session so far, at event time `t`. Money in USDC; `fees` is what was paid (positive),
    `funding` what was received (negative: paid)."""

    t: float
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    funding: Decimal
    trades: int
    """Fills (liquidations and deleveraging included)."""
    round_trips: int
    """Fills that closed (part of) a position."""
    wins: int
    """Round trips that realised more than nothing."""
    equity: Decimal
    start_equity: Decimal

    @property
    def net(self) -> Decimal:
        return self.realized + self.unrealized - self.fees + self.funding

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.round_trips if self.round_trips else None


class LedgerEntry(Struct, frozen=True):
    """One fill in the trade history, with the PnL it realised (before its fee) and the position after."""

    fill: Fill
    realized_pnl: Decimal
    position: Decimal  # signed


class _Holding:
    __slots__ = ("entry", "size")

    def __init__(self) -> None:
        self.size = ZERO
        self.entry = ZERO


LedgerOutput = SessionPnl | LedgerEntry


class Ledger(Stage[LedgerInput, LedgerOutput]):
    def __init__(self) -> None:
        self._held: dict[str, _Holding] = {}
        self._realized = self._fees = self._funding = ZERO
        self._trades = self._round_trips = self._wins = 0
        self._start: Decimal | None = None

    def on_event(self, event: LedgerInput) -> Iterable[LedgerOutput]:
        if isinstance(event, Fill):
            return (self.on_fill(event),)
        if isinstance(event, FundingPayment):
            self.on_funding(event.amount)
        if isinstance(event, AccountState):
            return (self._state(event),)
        return NOTHING

    def on_funding(self, amount: Decimal) -> None:
        self._funding += amount

    def on_fill(self, fill: Fill) -> LedgerEntry:
        self._trades += 1
        self._fees += fill.fee
        held = self._held.setdefault(fill.market, _Holding())
        signed = fill.size if fill.side == "BUY" else -fill.size
        if held.size == 0 or (held.size > 0) == (signed > 0):  # opens or adds: a new average entry
            total = held.size + signed
            held.entry = (held.entry * abs(held.size) + fill.price * abs(signed)) / abs(total)
            held.size = total
            return LedgerEntry(fill, ZERO, total)
        closed = min(abs(signed), abs(held.size))
        realized = closed * (fill.price - held.entry) * (1 if held.size > 0 else -1)
        self._realized += realized
        self._round_trips += 1
        self._wins += realized > 0
        rest = held.size + signed
        if rest == 0 or (rest > 0) == (held.size > 0):  # reduced (or closed): the entry stays
            held.size = rest
        else:  # flipped: the rest opens at this fill's price
            held.size, held.entry = rest, fill.price
        return LedgerEntry(fill, realized, rest)

    def _state(self, account: AccountState) -> SessionPnl:
        if self._start is None:
            self._start = account.equity
            for position in account.positions:
                held = self._held.setdefault(position.market, _Holding())
                held.size, held.entry = position.size, position.oracle_price
        oracle = {position.market: position.oracle_price for position in account.positions}
        unrealized = sum((held.size * (oracle[market] - held.entry) for market, held in self._held.items()
                          if held.size and market in oracle), ZERO)
        return SessionPnl(account.t, self._realized, unrealized, self._fees, self._funding, self._trades,
                          self._round_trips, self._wins, account.equity, self._start)


def session_ledger() -> Callable[[Observable[LedgerInput]], Observable[LedgerOutput]]:
    """The operator: fills, funding payments and account states in (one account's, on one thread), each
    fill's entry out as it comes and the session's PnL after each account state."""
    return lift(Ledger)
