"""The session ledger: on the bundled recording (frames in -> the whole graph -> the ledger's stream out)
its net PnL is the account's change of equity (to 1e-12 USDC) and its fees and trades are the fills'; on
hand-made fills, the average-entry arithmetic of adding, reducing, flipping and funding."""

from __future__ import annotations

from decimal import Decimal

import pytest
import reactivex

from app.sources import DEFAULT_RECORDING
from streams.execution.ledger import Ledger, SessionPnl
from streams.execution.paper_broker import FundingPayment
from streams.graph import build_graph
from streams.kernel.orders import Fill
from streams.sources.recording import open_recording
from tests.support.dashboard import T, account

D = Decimal


@pytest.fixture(scope="module")
def bundled() -> tuple[list[SessionPnl], list[Fill], list[FundingPayment], list]:
    frames = list(open_recording(DEFAULT_RECORDING).frames())
    source = reactivex.from_iterable(frames)
    graph = build_graph(source)
    pnl: list[SessionPnl] = []
    fills: list[Fill] = []
    funding: list[FundingPayment] = []
    accounts: list = []
    graph.pnl.subscribe(pnl.append)
    graph.orders.subscribe(lambda o: fills.append(o) if isinstance(o, Fill) else None)
    graph.funding.subscribe(funding.append)
    graph.account.subscribe(accounts.append)
    graph.connect()
    return pnl, fills, funding, accounts


def test_on_the_recording_net_pnl_is_the_change_of_equity(bundled) -> None:
    pnl, fills, funding, accounts = bundled
    assert fills and len(pnl) == len(accounts)
    for state in pnl:
        assert abs(state.net - (state.equity - state.start_equity)) < D("1e-12")  # an average entry divides
    last = pnl[-1]
    assert (last.equity, last.start_equity) == (accounts[-1].equity, accounts[0].equity)
    assert last.fees == sum(fill.fee for fill in fills) > 0
    assert last.funding == sum(payment.amount for payment in funding)
    assert last.trades == len(fills)
    assert 0 < last.round_trips <= last.trades and last.win_rate is not None


def fill(side: str, size: str, price: str, fee: str = "0.1") -> Fill:
    return Fill(T, "BTC-USD", side, D(size), D(price), D(fee), "TAKER")  # type: ignore[arg-type]


def test_adding_reducing_and_flipping_realise_against_the_average_entry() -> None:
    ledger = Ledger()
    ledger.on_event(account(D("10000"), {}))  # the session starts flat
    for event in (fill("BUY", "1", "100"), fill("BUY", "1", "110"),  # long 2 @ 105
                  fill("SELL", "0.5", "115"),  # +5 realised: a win
                  fill("SELL", "2", "95"),  # closes 1.5 at -15 (a loss), opens 0.5 short @ 95
                  FundingPayment(T, "BTC-USD", D("-0.5"), D("95"), D("0.0001"), D("0.25"))):
        assert list(ledger.on_event(event)) == []  # states come with account states
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
