"""The session ledger: on the bundled recording (frames in -> the whole graph -> the ledger's stream out)
its net PnL is the account's change of equity (to 1e-12 USDC) and its fees and trades are the fills'; on
hand-made fills, the average-entry arithmetic of adding, reducing, flipping and funding, and the trade history
(each fill's realised PnL and the position it left, emitted as the fill comes)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import reactivex

from app.sources import DEFAULT_RECORDING
from streams.execution.ledger import Ledger, LedgerEntry, SessionPnl
from streams.execution.paper_broker import FundingPayment
from streams.graph import build_graph
from streams.kernel.orders import Fill
from streams.sources.recording import open_recording
from tests.support.dashboard import T, account

D = Decimal


@pytest.fixture(scope="module")
def bundled() -> tuple[list[SessionPnl], list[Fill], list[FundingPayment], list, list[LedgerEntry]]:
    frames = list(open_recording(DEFAULT_RECORDING).frames())
    source = reactivex.from_iterable(frames)
    graph = build_graph(source)
    pnl: list[SessionPnl] = []
    fills: list[Fill] = []
    funding: list[FundingPayment] = []
    accounts: list = []
    entries: list[LedgerEntry] = []
    graph.pnl.subscribe(pnl.append)
    graph.ledger.subscribe(entries.append)
    graph.orders.subscribe(lambda o: fills.append(o) if isinstance(o, Fill)
                           else funding.append(o) if isinstance(o, FundingPayment) else None)
    graph.account.subscribe(accounts.append)
    graph.connect()
    return pnl, fills, funding, accounts, entries


def test_on_the_recording_net_pnl_is_the_change_of_equity(bundled) -> None:
    pnl, fills, funding, accounts, _entries = bundled
    assert fills and len(pnl) == len(accounts)
    for state in pnl:
        assert abs(state.net - (state.equity - state.start_equity)) < D("1e-12")  # an average entry divides
    last = pnl[-1]
    assert (last.equity, last.start_equity) == (accounts[-1].equity, accounts[0].equity)
    assert last.fees == sum(fill.fee for fill in fills) > 0
    assert last.funding == sum(payment.amount for payment in funding)
    assert last.trades == len(fills)
    assert 0 < last.round_trips <= last.trades and last.win_rate is not None


def test_on_the_recording_each_fill_is_booked_once_with_what_it_realised(bundled) -> None:
    pnl, fills, _funding, _accounts, entries = bundled
    assert [entry.fill for entry in entries] == fills
    assert sum(entry.realized_pnl for entry in entries) == pnl[-1].realized
    assert sum(1 for entry in entries if entry.realized_pnl) <= pnl[-1].round_trips


def fill(side: str, size: str, price: str, fee: str = "0.1", market: str = "BTC-USD") -> Fill:
    return Fill(T, market, side, D(size), D(price), D(fee), "TAKER")  # type: ignore[arg-type]


def test_adding_reducing_and_flipping_realise_against_the_average_entry() -> None:
    ledger = Ledger()
    ledger.on_event(account(D("10000"), {}))  # the session starts flat
    for event in (fill("BUY", "1", "100"), fill("BUY", "1", "110"),  # long 2 @ 105
                  fill("SELL", "0.5", "115"),  # +5 realised: a win
                  fill("SELL", "2", "95"),  # closes 1.5 at -15 (a loss), opens 0.5 short @ 95
                  FundingPayment(T, "BTC-USD", D("-0.5"), D("95"), D("0.0001"), D("0.25"))):
        booked = list(ledger.on_event(event))  # a fill's entry at once, states with account states
        assert [type(value) for value in booked] == ([LedgerEntry] if isinstance(event, Fill) else [])
    (state,) = ledger.on_event(account(D("10000"), {"BTC-USD": (D("-0.5"), D("95"))},
                                       prices={"BTC-USD": D("90")}))
    assert (state.realized, state.unrealized, state.fees, state.funding) == (D("-10"), D("2.5"), D("0.4"),
                                                                             D("0.25"))
    assert (state.trades, state.round_trips, state.wins, state.win_rate) == (4, 2, 1, 0.5)
    assert state.net == D("-10") + D("2.5") - D("0.4") + D("0.25")


def test_a_position_held_at_the_start_counts_from_the_start() -> None:
    ledger = Ledger()
    (first,) = ledger.on_event(account(D("-40000"), {"BTC-USD": (D("0.5"), D("90000"))},
                                       prices={"BTC-USD": D("97000")}))
    assert (first.realized, first.unrealized, first.net) == (0, 0, 0)
    ledger.on_event(fill("SELL", "0.5", "98000", fee="0"))
    (state,) = ledger.on_event(account(D("9000"), {}, prices={"BTC-USD": D("98000")}))
    assert (state.realized, state.wins, state.unrealized) == (D("500"), 1, 0)


def test_a_round_trip_realises_the_price_difference_and_keeps_fees_apart():
    ledger = Ledger()
    opened, grown, half, rest = (ledger.on_fill(f) for f in (
        fill("BUY", "1", "3000", "1.5"), fill("BUY", "1", "3100", "1.55"), fill("SELL", "1", "3200", "1.6"),
        fill("SELL", "1", "2900", "1.45")))
    assert (opened.realized_pnl, grown.realized_pnl) == (0, 0) and grown.position == 2
    assert half.realized_pnl == 150 and half.position == 1  # entry 3050
    assert rest.realized_pnl == -150 and rest.position == 0
    (state,) = ledger.on_event(account(D("10000"), {}))
    assert (state.realized, state.fees, state.funding) == (D(0), D("6.10"), D(0))


def test_a_flip_closes_one_side_and_opens_the_other_at_the_fill_price():
    ledger = Ledger()
    ledger.on_fill(fill("SELL", "2", "3000"))
    flip = ledger.on_fill(fill("BUY", "3", "2900"))
    assert flip.realized_pnl == 200 and flip.position == 1  # the short gained 100 a unit on 2
    assert ledger.on_fill(fill("SELL", "1", "2950")).realized_pnl == 50  # the new long, from 2900


def test_markets_are_apart_and_funding_adds_to_the_net():
    ledger = Ledger()
    ledger.on_fill(fill("BUY", "1", "3000", "1"))
    ledger.on_fill(fill("BUY", "0.1", "90000", "4.5", market="ETH-USD"))
    assert ledger.on_fill(fill("SELL", "1", "3010", "1")).realized_pnl == 10
    ledger.on_funding(D("-0.25"))
    (state,) = ledger.on_event(account(D("10000"), {}))
    assert state.net == D(10) - D("6.5") - D("0.25")
