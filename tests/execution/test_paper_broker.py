"""The paper exchange's order handling: takers walking the real ETH-USD book, makers queueing behind it,
expiry by block and by time, and every refusal the venue would give."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from streams.execution.paper_broker import BlockClock, PaperBroker, PaperConfig, PaperExchange
from streams.kernel.frames import Frame
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderUpdate, Side, StopIntent
from streams.market import events as ev
from streams.market.books import OrderBooks
from streams.market.parse import parse_frame
from streams.market.state import BookTop, MarketInfo
from streams.risk.account import AccountSnapshot
from tests.support.builders import market_info

ETH = "ETH-USD"


def eth(t: float = 0.0, oracle: str | None = "3393.3", status: str = "ACTIVE", market_type: str = "CROSS",
        market: str = ETH, rate: str = "0") -> MarketInfo:
    """ETH-USD's real parameters (mainnet, July 2024) with its open interest then."""
    return market_info(market, t, oracle_price=oracle, status=status, market_type=market_type, next_funding_rate=rate,
                       open_interest="17208.407")


def book(t: float, bids: list[tuple[str, str]], asks: list[tuple[str, str]], market: str = ETH) -> BookTop:
    as_levels = lambda levels: tuple((D(p), D(s)) for p, s in levels)  # noqa: E731
    return BookTop(t=t, market=market, bids=as_levels(bids), asks=as_levels(asks), mid=None, spread=None,
                   imbalance=None)


# the top of the real snapshot (nautilus-2024/ws/v4_orderbook_snapshot.json), for tests that run without it
BIDS = [("3393.2", "7.795"), ("3393.1", "10.59"), ("3393", "20.189"), ("3392.9", "0.532"), ("3392.8", "3.216")]
ASKS = [("3393.5", "4.946"), ("3393.6", "7.856"), ("3393.7", "30.983"), ("3393.8", "3.006"), ("3393.9", "0.295")]


def intent(t: float, side: Side, size: str, price: str | None = None, client_id: int = 1, **options) -> OrderIntent:
    return OrderIntent(t=t, market=options.pop("market", ETH), side=side, size=D(size),
                       price=None if price is None else D(price), client_id=client_id, **options)


def trade(t: float, side: Side, size: str, price: str, kind: str = "LIMIT") -> ev.ChannelData:
    print_ = ev.Trade(id="014206cf0000000200000002", side=side, size=D(size), price=D(price),
                      createdAt="2024-07-24T19:12:35.705Z", type=kind)
    return ev.ChannelData(connection_id="c", message_id=1, channel="v4_trades", id=ETH,
                          contents=ev.TradesUpdate(trades=[print_]), t=t)


def height(t: float, value: int) -> ev.ChannelData:
    return ev.ChannelData(connection_id="c", message_id=1, channel="v4_block_height", id="v4_block_height",
                          contents=ev.BlockHeightUpdate(blockHeight=str(value), time="2024-12-02T18:45:33.548Z"), t=t)


def of(kind: type, outputs: list) -> list:
    return [out for out in outputs if isinstance(out, kind)]


def exchange(*events, config: PaperConfig = PaperConfig()) -> PaperExchange:
    paper = PaperExchange(config)
    for event in (eth(), book(0.0, BIDS, ASKS), *events):
        paper.on_event(event)
    return paper


@pytest.fixture
def real_book(samples_dir) -> BookTop:
    """The real mainnet ETH-USD snapshot, through the real book operator (top 10 levels)."""
    raw = (samples_dir / "nautilus-2024/ws/v4_orderbook_snapshot.json").read_bytes()
    snapshot = parse_frame(Frame(t=0.0, kind="ws", data=raw))
    assert snapshot is not None
    (top,) = OrderBooks(depth=10).on_event(snapshot)
    assert isinstance(top, BookTop)
    return top


# -- takers ------------------------------------------------------------------------------------------


def test_a_taker_walks_the_real_book_level_by_level_paying_the_taker_fee(real_book):
    paper = PaperExchange()
    paper.on_event(eth())
    paper.on_event(real_book)
    out = paper.on_event(intent(1.0, "BUY", "15", "3393.7", time_in_force="IOC"))
    fills = of(Fill, out)
    assert [(f.price, f.size) for f in fills] == [(D("3393.5"), D("4.946")), (D("3393.6"), D("7.856")),
                                                  (D("3393.7"), D("2.198"))]
    assert all(f.liquidity == "TAKER" and f.fee == f.size * f.price * D("0.0005") for f in fills)
    assert of(OrderUpdate, out) == [OrderUpdate(1.0, 1, ETH, "FILLED", D(15))]
    cost = sum(f.size * f.price + f.fee for f in fills)
    assert paper.account.usdc == D(10_000) - cost
    position = paper.account.positions[ETH]
    assert position.size == D(15) and position.entry_price == sum(f.size * f.price for f in fills) / 15
    assert of(AccountSnapshot, out)[-1].account is paper.account


def test_the_limit_price_bounds_the_walk_and_the_ioc_remainder_is_cancelled(real_book):
    paper = PaperExchange()
    paper.on_event(eth())
    paper.on_event(real_book)
    out = paper.on_event(intent(1.0, "SELL", "30", "3393.1", time_in_force="IOC"))
    assert [(f.price, f.size) for f in of(Fill, out)] == [(D("3393.2"), D("7.795")), (D("3393.1"), D("10.59"))]
    (update,) = of(OrderUpdate, out)
    assert (update.status, update.filled) == ("CANCELED", D("18.385"))
    assert "11.615 unfilled" in update.reason


def test_liquidity_taken_stays_taken_until_the_book_changes_that_level():
    paper = exchange(intent(1.0, "BUY", "5", "3393.5", time_in_force="IOC"))
    assert of(Fill, paper.on_event(intent(2.0, "BUY", "1", "3393.5", client_id=2, time_in_force="IOC"))) == []
    # a new book with the level unchanged keeps it used; a changed size is the market's news
    paper.on_event(book(3.0, BIDS, ASKS))
    assert of(Fill, paper.on_event(intent(4.0, "BUY", "1", "3393.5", client_id=3, time_in_force="IOC"))) == []
    paper.on_event(book(5.0, BIDS, [("3393.5", "2")] + ASKS[1:]))
    fills = of(Fill, paper.on_event(intent(6.0, "BUY", "5", "3393.5", client_id=4, time_in_force="IOC")))
    assert [f.size for f in fills] == [D(2)]


def test_a_market_order_is_an_ioc_limit_max_slippage_past_the_best_price():
    paper = exchange()
    out = paper.on_event(intent(1.0, "BUY", "40", kind="MARKET", max_slippage=D("0.00005")))
    # 3393.5 * 1.00005 = 3393.67 -> floored to the tick: 3393.6
    assert [f.price for f in of(Fill, out)] == [D("3393.5"), D("3393.6")]
    assert of(OrderUpdate, out)[0].status == "CANCELED"
    sell = of(Fill, paper.on_event(intent(2.0, "SELL", "1", kind="MARKET", client_id=2)))
    assert [(f.price, f.size) for f in sell] == [(D("3393.2"), D(1))]


def test_fill_or_kill_fills_whole_or_not_at_all():
    paper = exchange()
    out = paper.on_event(intent(1.0, "BUY", "13", "3393.6", time_in_force="FOK"))
    assert of(Fill, out) == [] and of(OrderUpdate, out)[0].status == "CANCELED"
    assert "only 12.802 of 13" in of(OrderUpdate, out)[0].reason
    out = paper.on_event(intent(2.0, "BUY", "12", "3393.6", time_in_force="FOK", client_id=2))
    assert sum(f.size for f in of(Fill, out)) == 12 and of(OrderUpdate, out)[0].status == "FILLED"


def test_post_only_is_refused_when_it_would_cross_and_rests_otherwise():
    paper = exchange()
    (crossing,) = of(OrderUpdate, paper.on_event(intent(1.0, "BUY", "1", "3393.5", post_only=True)))
    assert crossing.status == "REJECTED" and "cross" in crossing.reason
    (resting,) = of(OrderUpdate, paper.on_event(intent(2.0, "BUY", "1", "3393.3", post_only=True, client_id=2)))
    assert resting.status == "OPEN"


def test_a_gtt_limit_takes_what_crosses_and_rests_the_rest():
    paper = exchange()
    out = paper.on_event(intent(1.0, "BUY", "6", "3393.5"))
    assert [f.size for f in of(Fill, out)] == [D("4.946")]
    assert of(OrderUpdate, out) == [OrderUpdate(1.0, 1, ETH, "OPEN", D("4.946"))]


# -- makers ------------------------------------------------------------------------------------------


def test_a_maker_queues_behind_the_level_and_fills_from_trades_at_and_through_its_price():
    paper = exchange(intent(1.0, "BUY", "1", "3393.2"))  # 7.795 ahead
    assert of(Fill, paper.on_event(trade(2.0, "SELL", "5", "3393.2"))) == []  # 2.795 ahead now
    assert of(Fill, paper.on_event(trade(3.0, "BUY", "9", "3393.2"))) == []  # a buyer's print: not ours
    assert of(Fill, paper.on_event(trade(3.5, "SELL", "9", "3393.3"))) == []  # above our bid
    out = paper.on_event(trade(4.0, "SELL", "3", "3393.2"))
    (fill,) = of(Fill, out)
    assert (fill.size, fill.price, fill.liquidity, fill.fee) == (D("0.205"), D("3393.2"), "MAKER",
                                                                 D("0.205") * D("3393.2") * D("0.0001"))
    assert of(OrderUpdate, out) == [OrderUpdate(4.0, 1, ETH, "PARTIALLY_FILLED", D("0.205"))]
    out = paper.on_event(trade(5.0, "SELL", "2", "3393.0"))  # through our price: we were first
    assert [(f.size, f.price) for f in of(Fill, out)] == [(D("0.795"), D("3393.2"))]
    assert of(OrderUpdate, out) == [OrderUpdate(5.0, 1, ETH, "FILLED", D(1))]


def test_deleveraging_prints_never_fill_a_resting_order():
    paper = exchange(intent(1.0, "BUY", "1", "3393.3"))
    assert of(Fill, paper.on_event(trade(2.0, "SELL", "5", "3393.0", kind="DELEVERAGED"))) == []
    assert of(Fill, paper.on_event(trade(3.0, "SELL", "5", "3393.0", kind="LIQUIDATED"))) != []


def test_the_queue_shortens_with_its_level_and_empties_when_a_visible_level_goes():
    paper = exchange(intent(1.0, "BUY", "1", "3393.1"), intent(1.0, "BUY", "1", "3393.0", client_id=2),
                     intent(1.0, "SELL", "1", "3394.5", client_id=3))  # beyond the visible asks
    paper.on_event(book(2.0, [("3393.2", "7.795"), ("3393.1", "2"), ("3392.9", "1")], ASKS))
    out = paper.on_event(trade(3.0, "SELL", "2.5", "3393.1"))
    assert [(f.client_id, f.size) for f in of(Fill, out)] == [(1, D("0.5"))]
    # through both bids: the better one first; the other's level left the visible book, so nobody is ahead
    out = paper.on_event(trade(4.0, "SELL", "0.7", "3393.0"))
    assert [(f.client_id, f.size) for f in of(Fill, out)] == [(1, D("0.5")), (2, D("0.2"))]
    # placed beyond the visible asks: its queue is unknown until the level shows, so a print there is not ours
    assert of(Fill, paper.on_event(trade(5.0, "BUY", "0.5", "3394.5"))) == []
    paper.on_event(book(6.0, BIDS, [("3394.4", "1"), ("3394.5", "2")]))
    assert of(Fill, paper.on_event(trade(7.0, "BUY", "2.5", "3394.5")))[0].size == D("0.5")


def test_a_book_that_moves_through_a_resting_order_fills_it_at_its_own_price():
    paper = exchange(intent(1.0, "SELL", "1", "3393.4"))
    out = paper.on_event(book(2.0, [("3393.5", "0.4"), ("3393.4", "3")], [("3393.6", "1")]))
    assert [(f.size, f.price, f.liquidity) for f in of(Fill, out)] == [(D("0.4"), D("3393.4"), "MAKER"),
                                                                       (D("0.6"), D("3393.4"), "MAKER")]
    assert of(OrderUpdate, out)[-1].status == "FILLED"


# -- expiry and cancels ------------------------------------------------------------------------------


def test_short_term_orders_expire_after_their_good_til_block_counted_at_one_a_second():
    paper = exchange(intent(100.0, "BUY", "1", "3393.0", good_til_blocks=5))  # the first event was t=0
    assert of(OrderUpdate, paper.on_event(book(105.9, BIDS, ASKS))) == []  # block 105, good til 105
    (update,) = of(OrderUpdate, paper.on_event(book(106.0, BIDS, ASKS)))
    assert (update.status, update.t) == ("EXPIRED", 106.0) and "good til block 105" in update.reason


def test_real_block_heights_drive_expiry_and_carry_over_the_blocks_an_order_had_left():
    paper = exchange(intent(10.0, "BUY", "1", "3393.0", good_til_blocks=20),  # counted: block 10, good til 30
                     intent(10.0, "BUY", "1", "3392.0", client_id=9, short_term=False))
    paper.on_event(height(12.0, 26_543_049))  # real from now: 18 blocks were left -> good til 26543067
    assert of(OrderUpdate, paper.on_event(height(13.0, 26_543_067))) == []
    (update,) = of(OrderUpdate, paper.on_event(height(14.0, 26_543_068)))
    assert update.status == "EXPIRED" and "26543067" in update.reason
    paper.on_event(intent(15.0, "BUY", "1", "3393.0", client_id=2, good_til_blocks=1))
    assert of(OrderUpdate, paper.on_event(book(15.5, BIDS, ASKS))) == []  # within the block
    assert of(OrderUpdate, paper.on_event(book(17.0, BIDS, ASKS)))[0].status == "EXPIRED"  # extrapolated


def test_a_resting_short_term_order_carries_its_good_til_block_only_once_real_heights_are_replayed():
    (counted,) = of(OrderUpdate, exchange().on_event(intent(10.0, "BUY", "1", "3393.0", good_til_blocks=20)))
    assert (counted.status, counted.good_til_block) == ("OPEN", None)  # no height heard: no chain's count
    paper = exchange(height(5.0, 26_543_049), intent(10.0, "BUY", "1", "3393.0", client_id=3, good_til_blocks=20))
    (opened,) = of(OrderUpdate, paper.on_event(intent(11.0, "BUY", "1", "3392.0", client_id=4, good_til_blocks=7)))
    assert (opened.status, opened.good_til_block) == ("OPEN", 26_543_049 + 6 + 7)  # 6 blocks counted since 5.0
    (cancelled,) = of(OrderUpdate, paper.on_event(CancelIntent(12.0, client_id=4)))
    assert (cancelled.status, cancelled.good_til_block) == ("CANCELED", 26_543_062)
    (ioc,) = of(OrderUpdate, paper.on_event(intent(13.0, "BUY", "0.1", "3395.0", client_id=5, time_in_force="IOC")))
    assert ioc.good_til_block is None  # done at once: nothing to count down


def test_a_block_height_snapshot_anchors_the_clock_too():
    clock = BlockClock()
    assert clock.height(5.0) == 0 and clock.height(7.5) == 2
    assert clock.observe(8.0, 100) == 97 and clock.height(10.0) == 102
    assert clock.observe(10.0, 101) == 0  # once real, heights are what the chain says
    paper = PaperExchange()
    snapshot = ev.Subscribed(connection_id="c", message_id=1, channel="v4_block_height", id=None, t=1.0,
                             contents=ev.BlockHeightSnapshot(height="500", time="2024-12-02T18:45:32.548Z"))
    for event in (eth(), book(0.0, BIDS, ASKS), snapshot, intent(1.0, "BUY", "1", "3393.0", good_til_blocks=1)):
        paper.on_event(event)
    assert of(OrderUpdate, paper.on_event(height(2.0, 502)))[0].reason == "good til block 501, now 502"


def test_batched_block_heights_are_each_observed():
    paper = exchange(intent(10.0, "BUY", "1", "3393.0", good_til_blocks=20))  # counted: block 10, good til 30
    batch = ev.ChannelBatchData(connection_id="c", message_id=2, channel="v4_block_height", id="v4_block_height",
                                contents=[height(12.0, value).contents for value in (26_543_049, 26_543_050)],
                                t=12.0)
    assert of(OrderUpdate, paper.on_event(batch)) == []  # real from the first: good til 26543067
    (update,) = of(OrderUpdate, paper.on_event(height(13.0, 26_543_068)))
    assert update.status == "EXPIRED" and "26543067" in update.reason


def test_long_term_orders_expire_after_their_time():
    paper = exchange(intent(10.0, "BUY", "1", "3393.0", short_term=False, good_til_seconds=60))
    assert of(OrderUpdate, paper.on_event(book(69.9, BIDS, ASKS))) == []
    assert of(OrderUpdate, paper.on_event(book(70.0, BIDS, ASKS)))[0].status == "EXPIRED"


def test_cancel_one_by_id_all_of_a_market_or_everything():
    other = eth(market="BTC-USD")
    paper = exchange(other, book(0.0, [("68000", "1")], [("68010", "1")], market="BTC-USD"),
                     intent(1.0, "BUY", "1", "3393.0", client_id=1), intent(1.0, "BUY", "1", "3392.0", client_id=2),
                     intent(1.0, "BUY", "1", "68000", client_id=3, market="BTC-USD"))
    out = paper.on_event(CancelIntent(t=2.0, client_id=1, reason="strategy"))
    assert of(OrderUpdate, out) == [OrderUpdate(2.0, 1, ETH, "CANCELED", D(0), "strategy")]
    assert of(OrderUpdate, paper.on_event(CancelIntent(t=2.0, client_id=1))) == []  # already gone
    out = paper.on_event(CancelIntent(t=3.0, market=ETH))
    assert [u.client_id for u in of(OrderUpdate, out)] == [2]
    out = paper.on_event(CancelIntent(t=4.0))
    assert [(u.client_id, u.reason) for u in of(OrderUpdate, out)] == [(3, "cancelled")]


# -- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("order, reason", [
    (intent(1.0, "BUY", "1", "3393.0", market="DOGE-USD"), "unknown market DOGE-USD"),
    (intent(1.0, "BUY", "1", kind="MARKET", market="DOGE-USD"), "unknown market DOGE-USD"),  # has a book
    (intent(1.0, "BUY", "0.0005", "3393.0"), "not a positive multiple of the step size 0.001"),
    (intent(1.0, "BUY", "0", "3393.0"), "not a positive multiple"),
    (intent(1.0, "BUY", "1", "3393.05"), "not a positive multiple of the tick size 0.1"),
    (intent(1.0, "BUY", "1"), "limit price None"),
    (intent(1.0, "BUY", "1", kind="MARKET", post_only=True), "cannot be post-only"),
    (intent(1.0, "BUY", "1", "3393.0", good_til_blocks=21), "1 to 20 blocks, not 21"),
    (intent(1.0, "BUY", "1", "3393.0", client_id=7), "client id 7 is already an open order"),
])
def test_orders_the_venue_would_refuse_are_rejected_with_the_reason(order, reason):
    paper = exchange(intent(0.5, "BUY", "1", "3390.0", client_id=7), book(0.5, BIDS, ASKS, market="DOGE-USD"))
    (update,) = of(OrderUpdate, paper.on_event(order))
    assert update.status == "REJECTED" and reason in update.reason


def test_markets_not_trading_or_without_a_price_or_book_refuse_orders():
    paper = PaperExchange()
    paper.on_event(eth(oracle=None))
    assert "no oracle price" in of(OrderUpdate, paper.on_event(intent(1.0, "BUY", "1", "3393.0")))[0].reason
    paper.on_event(eth(status="CANCEL_ONLY"))
    assert "ETH-USD is CANCEL_ONLY" in of(OrderUpdate, paper.on_event(intent(1.0, "BUY", "1", "3393.0")))[0].reason
    paper.on_event(eth())
    (update,) = of(OrderUpdate, paper.on_event(intent(1.0, "BUY", "1", kind="MARKET")))
    assert "no ETH-USD liquidity" in update.reason
    (resting,) = of(OrderUpdate, paper.on_event(intent(2.0, "BUY", "1", "3393.0")))  # no book: nothing ahead
    assert resting.status == "OPEN"


def test_reduce_only_never_opens_or_flips_a_position():
    paper = exchange()
    (update,) = of(OrderUpdate, paper.on_event(intent(1.0, "SELL", "1", "3393.0", reduce_only=True,
                                                      time_in_force="IOC")))
    assert update.status == "CANCELED" and "no position left" in update.reason
    paper.on_event(intent(2.0, "BUY", "1", "3393.5", client_id=2, time_in_force="IOC"))
    out = paper.on_event(intent(3.0, "SELL", "3", "3393.0", client_id=3, reduce_only=True))
    assert sum(f.size for f in of(Fill, out)) == 1 and ETH not in paper.account.positions
    assert of(OrderUpdate, out)[0].status == "CANCELED"


def test_fills_that_add_risk_need_initial_margin_after_them():
    paper = exchange(config=PaperConfig(starting_usdc=D(1_000)))
    out = paper.on_event(intent(1.0, "BUY", "10", "3393.7", time_in_force="IOC"))
    assert [f.size for f in of(Fill, out)] == [D("4.946")]  # the next level would need more than NC
    (update,) = of(OrderUpdate, out)
    assert update.status == "CANCELED" and update.reason.startswith("undercollateralized")
    # reducing is always allowed
    out = paper.on_event(intent(2.0, "SELL", "4.946", "3393.0", client_id=2, time_in_force="IOC"))
    assert of(OrderUpdate, out)[0].status == "FILLED"


def test_an_isolated_market_cannot_share_the_subaccount():
    paper = exchange(eth(market="TRY-USD", market_type="ISOLATED"),
                     book(0.0, [("0.0300", "100")], [("0.0301", "100")], market="TRY-USD"),
                     intent(1.0, "BUY", "1", "3393.5", time_in_force="IOC"))
    (update,) = of(OrderUpdate, paper.on_event(intent(2.0, "BUY", "1", "0.1", market="TRY-USD", client_id=2)))
    assert update.status == "CANCELED" and "2005" in update.reason


# -- as a stream -------------------------------------------------------------------------------------


def test_the_broker_runs_in_virtual_time_behind_the_broker_protocol():
    scheduler = TestScheduler()
    market = scheduler.create_hot_observable(
        ReactiveTest.on_next(201, eth(1.0)), ReactiveTest.on_next(202, book(2.0, BIDS, ASKS)),
        ReactiveTest.on_next(300, trade(3.0, "SELL", "9", "3393.2")))
    broker = PaperBroker(market)
    events, accounts = [], []
    broker.events.subscribe(lambda e: events.append((scheduler.clock, e)))
    broker.accounts.subscribe(lambda a: accounts.append(a.account.usdc))
    scheduler.schedule_absolute(250, lambda *_: broker.submit(intent(2.5, "BUY", "1", "3393.2")))
    scheduler.schedule_absolute(260, lambda *_: broker.submit(intent(2.6, "BUY", "1", "3390.0", client_id=2)))
    scheduler.schedule_absolute(270, lambda *_: broker.cancel(CancelIntent(t=2.7, client_id=2)))
    scheduler.start()
    assert [(clock, type(e).__name__, getattr(e, "status", None)) for clock, e in events] == [
        (250, "OrderUpdate", "OPEN"), (260, "OrderUpdate", "OPEN"), (270, "OrderUpdate", "CANCELED"),
        (300, "Fill", None), (300, "OrderUpdate", "FILLED")]
    assert accounts == [D(10_000), D(10_000) - D("3393.2") - D("3393.2") * D("0.0001")]


def test_batched_prints_fill_in_order_and_other_messages_only_move_time():
    paper = exchange(intent(1.0, "BUY", "1", "3393.3"), intent(1.0, "BUY", "1", "3393.3", client_id=2),
                     intent(1.0, "BUY", "1", "3390.0", client_id=3, good_til_blocks=3))
    prints = [ev.TradesUpdate(trades=[ev.Trade(id="1", side="SELL", size=D("0.5"), price=D("3393.3"),
                                               createdAt="2024-07-24T19:12:35.705Z")]) for _ in range(3)]
    batch = ev.ChannelBatchData(connection_id="c", message_id=2, channel="v4_trades", id=ETH, t=2.0,
                                contents=[*prints, ev.TradesUpdate(trades=[])])
    out = paper.on_event(batch)
    # the volume runs out before the second order each time (0.5 per print, nobody ahead inside the spread)
    assert [(f.client_id, f.size) for f in of(Fill, out)] == [(1, D("0.5")), (1, D("0.5")), (2, D("0.5"))]
    snapshot = ev.Subscribed(connection_id="c", message_id=1, channel="v4_trades", id=ETH, t=2.5,
                             contents=ev.TradesSnapshot(trades=prints[0].trades))
    assert of(Fill, paper.on_event(snapshot)) == []  # a snapshot's trades are history
    other = ev.ChannelData(connection_id="c", message_id=3, channel="v4_orderbook", id=ETH, t=3.0,
                           contents=ev.OrderbookUpdate(bids=[(D("3393.3"), D("9"))]))
    assert of(Fill, paper.on_event(other)) == []
    (expired,) = of(OrderUpdate, paper.on_event(ev.Connected(connection_id="c", message_id=0, t=5.0)))
    assert (expired.client_id, expired.status) == (3, "EXPIRED")


def test_a_resting_reduce_only_order_is_cancelled_once_its_position_is_gone():
    paper = exchange(intent(1.0, "BUY", "1", "3393.5", time_in_force="IOC"),
                     intent(2.0, "SELL", "1", "3393.4", client_id=2, reduce_only=True),
                     intent(3.0, "SELL", "1", "3393.2", client_id=3, time_in_force="IOC"))
    assert ETH not in paper.account.positions
    (update,) = of(OrderUpdate, paper.on_event(trade(4.0, "BUY", "1", "3393.4")))
    assert (update.client_id, update.status) == (2, "CANCELED")
    assert update.reason == "reduce-only: no position left to reduce"


def test_stateful_orders_keep_to_the_chain_s_block_rate_limits():
    """Two stateful placements a block (mainnet's limit), as the live broker keeps them."""
    paper = exchange(*(intent(5.0, "BUY", "1", "3390.0", client_id=n, short_term=False) for n in (1, 2)))
    (refused,) = of(OrderUpdate, paper.on_event(intent(5.0, "BUY", "1", "3390.0", client_id=3, short_term=False)))
    assert refused.status == "REJECTED" and refused.reason.startswith("block rate limit: 2 stateful orders")
    (placed,) = of(OrderUpdate, paper.on_event(intent(6.0, "BUY", "1", "3390.0", client_id=3, short_term=False)))
    assert placed.status == "OPEN"


# -- protective stops (conditional orders) -------------------------------------------------------------


def stop(t: float, side: Side, size: str, trigger: str, client_id: int = 90, market: str = ETH) -> StopIntent:
    return StopIntent(t=t, market=market, side=side, size=D(size), trigger_price=D(trigger), client_id=client_id,
                      max_slippage=D("0.01"))


def long_one_eth() -> PaperExchange:
    return exchange(intent(1.0, "BUY", "1", kind="MARKET"))


def test_a_stop_rests_untriggered_then_the_oracle_fires_it_as_a_reduce_only_ioc():
    paper = long_one_eth()
    (rested,) = of(OrderUpdate, paper.on_event(stop(2.0, "SELL", "1", "3300.0")))
    assert (rested.status, rested.reason) == ("OPEN", "untriggered stop SELL 1 at 3300.0")
    assert of(Fill, paper.on_event(eth(3.0, oracle="3300.1"))) == []  # above the trigger: nothing
    out = paper.on_event(eth(4.0, oracle="3300.0"))  # the oracle reaches it: sold into the book's bids
    (fill,) = of(Fill, out)
    assert (fill.side, fill.size, fill.price, fill.client_id) == ("SELL", D("1"), D("3393.2"), 90)
    assert of(OrderUpdate, out)[-1].status == "FILLED" and paper.account.positions == {}


def test_a_stop_fills_no_worse_than_its_slippage_bound():
    paper = long_one_eth()
    paper.on_event(stop(2.0, "SELL", "1", "3300.0"))
    paper.on_event(book(3.0, [("3200", "5")], ASKS))  # the book fell away below 3300 · 0.99 = 3267
    out = paper.on_event(eth(4.0, oracle="3299.0"))
    assert of(Fill, out) == [] and of(OrderUpdate, out)[-1].status == "CANCELED"


def test_a_cancelled_stop_never_fires():
    paper = long_one_eth()
    paper.on_event(stop(2.0, "SELL", "1", "3300.0"))
    (cancelled,) = of(OrderUpdate, paper.on_event(CancelIntent(t=3.0, market=ETH, client_id=90, reason="replaced")))
    assert (cancelled.client_id, cancelled.status, cancelled.reason) == (90, "CANCELED", "replaced")
    assert of(Fill, paper.on_event(eth(4.0, oracle="3200.0"))) == []


@pytest.mark.parametrize("order, reason", [
    (stop(2.0, "BUY", "1", "3500.0"), "reduce-only: no ETH-USD position for a BUY stop to reduce"),
    (stop(2.0, "SELL", "1", "3300.05"), "off the step or tick grid"),
    (stop(2.0, "SELL", "1", "3300.0", market="DOGE-USD"), "unknown market DOGE-USD"),
])
def test_stops_the_venue_would_refuse(order, reason):
    (update,) = of(OrderUpdate, long_one_eth().on_event(order))
    assert update.status == "REJECTED" and reason in update.reason
