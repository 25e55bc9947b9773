"""The paper subaccount: fees, hourly funding, the protocol's liquidation, the stream the margin engine
reads, and determinism. Inline data only: these run without ../shared."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec
import pytest

from streams.execution.fees import FeeSchedule
from streams.execution.paper_broker import FundingPayment, PaperConfig, PaperExchange
from streams.kernel.orders import Fill, OrderUpdate
from streams.risk.account import AccountSnapshot, Market
from streams.risk.margin import account_state
from tests.execution.test_paper_broker import ASKS, BIDS, ETH, book, eth, intent, of, trade

BTC = "BTC-USD"


def long_eth(size: str = "5", usdc: str = "1000", rate: str = "0", t: float = 1.0) -> PaperExchange:
    """An account of `usdc` that bought `size` ETH at 3393.5."""
    paper = PaperExchange(PaperConfig(starting_usdc=D(usdc)))
    for event in (eth(rate=rate), book(0.0, BIDS, [("3393.5", "100")]),
                  intent(t, "BUY", size, "3393.5", time_in_force="IOC")):
        paper.on_event(event)
    return paper


# -- fees --------------------------------------------------------------------------------------------


def test_fees_are_a_fraction_of_the_notional_by_liquidity():
    fees = FeeSchedule()
    assert fees.fee(D(-10_000), "TAKER") == D(5) and fees.fee(D(10_000), "MAKER") == D(1)
    rebate = FeeSchedule(taker=D("0.00025"), maker=D("-0.00011"))
    assert rebate.fee(D(10_000), "MAKER") == D("-1.1")


def test_a_custom_fee_schedule_is_charged_on_fills():
    paper = PaperExchange(PaperConfig(fees=FeeSchedule(taker=D("0.001"), maker=D(0))))
    paper.on_event(eth())
    paper.on_event(book(0.0, BIDS, ASKS))
    (fill,) = of(Fill, paper.on_event(intent(1.0, "BUY", "1", "3393.5", time_in_force="IOC")))
    assert fill.fee == D("3.3935") and paper.account.usdc == D(10_000) - D("3393.5") - D("3.3935")


@pytest.mark.parametrize("section, data, message", [
    (FeeSchedule, {"taker": -0.1}, "taker: expected a finite number >= 0 and < 1"),
    (FeeSchedule, {"taker": 0.0001, "maker": -0.0002}, "maker: a rebate cannot exceed the taker fee"),
    (PaperConfig, {"starting_usdc": -1}, r"starting_usdc: expected a finite number >= 0 and <= 1000000000000"),
    (PaperConfig, {"block_seconds": 0}, "block_seconds: expected a finite number > 0 and <= 3600"),
    (PaperConfig, {"max_liquidation_fee": 1}, "max_liquidation_fee: expected a finite number >= 0 and < 1"),
    (PaperConfig, {"bankruptcy_adjustment": 0.5}, "bankruptcy_adjustment: expected a finite number >= 1 and <= 1000"),
    (PaperConfig, {"spread_to_maintenance": -1}, "spread_to_maintenance: expected a finite number >= 0 and <= 1000"),
    (PaperConfig, {"slippage": 1}, "unknown field `slippage`"),
])
def test_bad_paper_settings_are_refused_naming_the_key(section, data, message):
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(data, section)


# -- funding -----------------------------------------------------------------------------------------


def test_funding_is_paid_at_each_whole_hour_of_event_time():
    paper = long_eth("1", rate="0.0001", t=3500.0)
    paper.on_event(eth(t=3590.0, oracle="3400", rate="0.0001"))
    before = paper.account.usdc
    assert of(FundingPayment, paper.on_event(book(3599.9, BIDS, ASKS))) == []
    out = paper.on_event(book(3600.1, BIDS, ASKS))
    assert of(FundingPayment, out) == [FundingPayment(3600.0, ETH, D(1), D(3400), D("0.0001"), D("-0.34"))]
    assert paper.account.usdc == before - D("0.34") and of(AccountSnapshot, out)[0].account == paper.account


def test_shorts_receive_positive_funding_and_every_skipped_hour_is_paid():
    paper = PaperExchange()
    for event in (eth(rate="0.0001"), book(0.0, BIDS, ASKS), intent(10.0, "SELL", "2", "3393.2", time_in_force="IOC")):
        paper.on_event(event)
    payments = of(FundingPayment, paper.on_event(book(3 * 3600 + 5.0, BIDS, ASKS)))
    assert [(p.t, p.amount) for p in payments] == [(3600.0, D("0.67866")), (7200.0, D("0.67866")),
                                                   (10800.0, D("0.67866"))]


def test_no_rate_no_position_no_payment():
    paper = long_eth("1", rate="0")
    assert of(FundingPayment, paper.on_event(book(7200.0, BIDS, ASKS))) == []
    flat = PaperExchange()
    flat.on_event(eth(rate="0.001"))
    assert of(FundingPayment, flat.on_event(book(7200.0, BIDS, ASKS))) == []


# -- liquidation -------------------------------------------------------------------------------------


def test_an_oracle_drop_below_maintenance_liquidates_at_the_fillable_price_with_the_penalty():
    paper = long_eth("5")  # 1000 USDC, 5 ETH bought at 3393.5
    usdc = D(1000) - 5 * D("3393.5") - 5 * D("3393.5") * D("0.0005")
    assert paper.account.usdc == usdc
    assert of(Fill, paper.on_event(eth(t=2.0, oracle="3300"))) == []  # NC 524.0 >= MMR 495.0
    out = paper.on_event(eth(t=3.0, oracle="3290"))
    equity, maintenance = usdc + 5 * D(3290), 5 * D(3290) * D("0.03")  # 474.01625 < 493.5
    rating = 1 - equity / maintenance  # ABR, with BA = 1
    price = D(3290) * (1 - rating * D("0.1") * D("0.03"))  # P·(1 − ABR·SMMR·MMF) for a long
    penalty = D("0.015") * 5 * price
    (fill,) = of(Fill, out)
    assert fill == Fill(3.0, ETH, "SELL", D(5), price, penalty, "TAKER", None, "LIQUIDATION")
    assert paper.account.positions == {}
    assert paper.account.usdc == equity + 5 * (price - 3290) - penalty
    assert of(AccountSnapshot, out)[0].account == paper.account


def test_a_bankrupt_account_pays_no_penalty_and_the_insurance_fund_takes_the_deficit():
    paper = long_eth("5")
    (fill,) = of(Fill, paper.on_event(eth(t=2.0, oracle="3100")))  # NC −475.98: rating clamps to 1
    assert fill.kind == "LIQUIDATION" and fill.price == D(3100) * (1 - D("0.003")) and fill.fee == 0
    assert paper.account.usdc == 0 and paper.account.positions == {}


def test_liquidation_closes_the_largest_maintenance_margin_first_and_stops_once_healthy():
    paper = long_eth("5")
    for event in (eth(market=BTC, oracle="68000"), book(1.0, [("68000", "1")], [("68010", "1")], market=BTC),
                  intent(1.5, "BUY", "0.01", "68010", market=BTC, client_id=2, time_in_force="IOC")):
        paper.on_event(event)
    markets = {name: Market.from_info(eth(market=name)) for name in (ETH, BTC)}
    assert account_state(paper.account, {ETH: D(3290), BTC: D(68000)}, markets).liquidatable
    fills = of(Fill, paper.on_event(eth(t=2.0, oracle="3290")))
    assert [(f.market, f.kind) for f in fills] == [(ETH, "LIQUIDATION")]
    assert list(paper.account.positions) == [BTC]


def test_funding_can_tip_an_account_into_liquidation():
    paper = long_eth("5", rate="0.004")  # 4 % an hour: 5 · 3300 · 0.004 = 66 USDC due at 3600
    paper.on_event(eth(t=2.0, oracle="3300", rate="0.004"))  # NC 524.0 vs MMR 495.0: still healthy
    out = paper.on_event(book(3600.0, BIDS, ASKS))
    assert [type(o).__name__ for o in out] == ["FundingPayment", "Fill", "AccountSnapshot"]
    assert of(Fill, out)[0].kind == "LIQUIDATION" and of(Fill, out)[0].t == 3600.0


# -- the account stream and determinism --------------------------------------------------------------


def test_the_account_is_published_at_the_first_event_and_after_every_change_only():
    paper = PaperExchange()
    first = paper.on_event(eth())
    assert first == [AccountSnapshot(0.0, paper.account)] and paper.account.usdc == D(10_000)
    assert of(AccountSnapshot, paper.on_event(book(1.0, BIDS, ASKS))) == []
    assert of(AccountSnapshot, paper.on_event(intent(2.0, "BUY", "1", "3390.0"))) == []  # resting changes nothing
    assert len(of(AccountSnapshot, paper.on_event(trade(3.0, "SELL", "30", "3389.0")))) == 1


def test_two_runs_of_the_same_events_give_identical_outputs():
    events = [eth(rate="0.00002"), book(0.0, BIDS, ASKS),
              intent(5.0, "BUY", "6", "3393.6", time_in_force="IOC"),
              intent(6.0, "SELL", "2", "3393.4", client_id=2),
              trade(7.0, "BUY", "1", "3393.4"),
              book(8.0, [("3393.5", "1")] + BIDS, ASKS),
              eth(t=9.0, oracle="3350", rate="0.00002"),
              intent(10.0, "BUY", "1", "3390.0", client_id=3),
              book(3700.0, BIDS, ASKS),
              eth(t=3701.0, oracle="2800", rate="0.00002")]

    def run() -> list:
        paper = PaperExchange()
        return [out for event in events for out in paper.on_event(event)]

    first, second = run(), run()
    assert first == second
    assert {type(out).__name__ for out in first} == {"AccountSnapshot", "Fill", "OrderUpdate", "FundingPayment"}
    assert msgspec.json.encode(first) == msgspec.json.encode(second)
    assert [u.status for u in of(OrderUpdate, first)] == ["FILLED", "OPEN", "PARTIALLY_FILLED", "FILLED", "OPEN",
                                                        "EXPIRED"]
