"""The dashboard model: graph outputs folded into panel states, which panels changed, market selection
and how orders, fills and risk changes read in the log."""

from __future__ import annotations

from decimal import Decimal

import pytest
from msgspec import structs

from app.view_model import (
    BOOK,
    CHART,
    CHART_CANDLES,
    DETAIL,
    HEALTH,
    MARGIN,
    MARKETS,
    PNL,
    POSITIONS,
    SIGNALS,
    TAPE,
    DashboardModel,
    log_entry,
    state_key,
)
from streams.kernel.orders import CancelIntent, Fill, OrderIntent, OrderUpdate, StopIntent
from streams.market.books import ResyncRequest
from streams.market.state import CandleUpdate
from streams.risk.derisk import IntentBlocked
from tests.support.dashboard import (
    T,
    book_top,
    candles,
    derisking_account,
    derisking_risk,
    health,
    market_info,
    normal_account,
    scores,
    traded_pnl,
)
from widgets.order_book import OrderBookState

D = Decimal


def updates(market: str = "BTC-USD", resolution: str = "1MIN") -> list[CandleUpdate]:
    return [CandleUpdate(T, market, resolution, candle, True) for candle in candles(market)]


def test_a_market_is_listed_once_it_has_a_book_candles_or_a_score() -> None:
    model = DashboardModel()
    assert model.apply([market_info("BTC-USD"), market_info("ETH-USD")]) == set()
    assert model.markets_state().rows == ()
    assert model.apply([book_top("ETH-USD")]) == {MARKETS, SIGNALS, POSITIONS, CHART, BOOK, DETAIL, TAPE}
    assert model.apply([market_info("ETH-USD")]) == {MARKETS, POSITIONS, DETAIL}  # the selected market's
    assert [row.market for row in model.markets_state().rows] == ["ETH-USD"]
    assert model.selected == "ETH-USD"  # the first market followed is selected
    model.apply(updates("BTC-USD"))
    assert [row.market for row in model.markets_state().rows] == ["BTC-USD", "ETH-USD"]
    assert model.markets_state().rows[0].info == market_info("BTC-USD")


def test_a_market_row_is_built_again_only_when_its_market_changed() -> None:
    model = DashboardModel()
    model.apply([book_top("BTC-USD"), book_top("ETH-USD")])
    before = model.markets_state().rows
    model.apply([market_info("ETH-USD")])
    after = model.markets_state().rows
    assert after[0] is before[0]  # unchanged: the same object, which the panel compares at once
    assert after[1].info == market_info("ETH-USD")


def test_each_value_changes_only_the_panels_that_show_it() -> None:
    model = DashboardModel()
    model.apply([book_top("BTC-USD")])
    assert (model.margin_state().risk.state, model.margin_state().risk.reason) == ("NORMAL",
                                                                                   "no change since the start")
    account = derisking_account()
    assert model.apply([health("v4_trades:BTC-USD")]) == {HEALTH, MARKETS}
    assert model.apply(scores()[:1]) == {SIGNALS}
    assert model.apply([account]) == {POSITIONS, MARGIN}
    assert model.apply([derisking_risk(account)]) == {MARGIN}
    assert model.apply(updates("BTC-USD")[-1:]) == {CHART}
    assert model.apply(updates("BTC-USD", "5MINS")) == set()  # not the resolution the signals follow
    assert model.apply([ResyncRequest(T, "v4_orderbook", "BTC-USD", "crossed")]) == set()  # not shown in a panel
    assert model.margin_state().risk.state == "REDUCE"
    assert model.apply([book_top("BTC-USD", t=T + 1)]) == {MARKETS, POSITIONS, BOOK}  # the selected market's
    assert model.apply([market_info("BTC-USD", t=T + 1)]) == {MARKETS, POSITIONS, DETAIL}
    model.apply([book_top("ETH-USD")])
    assert model.apply([book_top("ETH-USD", t=T + 1)]) == {MARKETS, POSITIONS}  # not selected: no depth view
    assert model.apply([traded_pnl()]) == {PNL} and model.pnl_state().history == (float(traded_pnl().net),)


def test_the_selected_market_s_book_and_funding_history_follow_the_selection() -> None:
    model = DashboardModel()
    model.apply([book_top("BTC-USD"), book_top("ETH-USD"), market_info("ETH-USD")])
    assert model.book_state() == OrderBookState("BTC-USD", book_top("BTC-USD"), None)  # no parameters yet
    rates = [D("0.0000031"), D("0.0000031"), D("-0.0000012")]
    model.apply([structs.replace(market_info("ETH-USD", t=T + 1 + i), next_funding_rate=rate)
                 for i, rate in enumerate(rates)])
    model.select("ETH-USD")
    assert model.book_state().tick == D("0.1")
    assert model.detail_state().funding == ((T, D("-0.0000031")), (T + 1, D("0.0000031")),
                                            (T + 3, D("-0.0000012")))  # each change, once


def test_a_market_shows_the_worst_health_of_its_streams() -> None:
    model = DashboardModel()
    model.apply([book_top("BTC-USD"), book_top("ETH-USD"), health("v4_markets", "error"),
                 health("v4_orderbook:BTC-USD"), health("v4_candles:BTC-USD/1MIN", "stale"),
                 health("v4_trades:BTC-USD", "resyncing"), health("v4_trades:ETH-USD")])
    assert {row.market: row.health for row in model.markets_state().rows} == {"BTC-USD": "resyncing",
                                                                              "ETH-USD": "ok"}
    assert [h.stream for h in model.health_state().streams][:2] == ["v4_candles:BTC-USD/1MIN", "v4_markets"]
    # a thousand streams report every second: the markets panel changes only when a market's worst state does
    assert model.apply([health("v4_trades:BTC-USD", "resyncing"), health("v4_markets", "ok")]) == {HEALTH}
    assert model.apply([health("v4_trades:BTC-USD")]) == {HEALTH, MARKETS}
    assert model.markets_state().rows[0].health == "stale"


def test_the_chart_keeps_the_latest_candles_of_the_selected_market_in_time_order() -> None:
    model = DashboardModel()
    series = updates("BTC-USD")
    model.apply(reversed(series))
    state = model.chart_state()
    assert (state.market, state.candles) == ("BTC-USD", tuple(u.candle for u in series))
    hours = [structs.replace(series[0].candle, startedAt=f"2025-01-0{d}T{h:02d}:{m:02d}:00.000Z")
             for d in (1, 2) for h in range(3) for m in range(60)]
    model.apply(CandleUpdate(T, "ETH-USD", "1MIN", candle, True) for candle in hours)
    assert len(model.candles["ETH-USD"]) == CHART_CANDLES
    assert min(model.candles["ETH-USD"]) == "2025-01-01T02:00:00.000Z"  # the last 240 of 360


def test_selection_moves_through_the_followed_markets_and_wraps() -> None:
    model = DashboardModel()
    assert not model.select_next(1)
    model.apply([book_top(m) for m in ("SOL-USD", "BTC-USD", "ETH-USD")])
    assert model.selected == "BTC-USD"
    assert model.select_next(1) and model.selected == "ETH-USD"
    assert model.select_next(-2) and model.selected == "SOL-USD"
    assert not model.select("SOL-USD") and not model.select("DOGE-USD")
    assert model.signals_state().selected == "SOL-USD"


def test_positions_get_book_mids_and_ticks() -> None:
    model = DashboardModel()
    model.apply([book_top("BTC-USD"), market_info("BTC-USD"), normal_account()])
    state = model.positions_state()
    assert state.marks == {"BTC-USD": Decimal("97012.5")} and state.ticks == {"BTC-USD": Decimal(1)}
    assert state.account == normal_account()


ORDER = OrderIntent(T, "BTC-USD", "BUY", Decimal("0.5"), price=Decimal("97010"), post_only=True,
                    reason="target 0.5")


@pytest.mark.parametrize(("value", "text", "kind"), [
    (ORDER, "BUY 0.5 BTC-USD LIMIT @ 97,010.00 post-only (target 0.5)", "order"),
    (OrderIntent(T, "ETH-USD", "SELL", Decimal("2"), kind="MARKET", reduce_only=True),
     "SELL 2 ETH-USD MARKET reduce-only", "order"),
    (CancelIntent(T, reason="REDUCE: margin"), "cancel all orders (REDUCE: margin)", "order"),
    (CancelIntent(T, "BTC-USD", 7), "cancel order 7 BTC-USD", "order"),
    (OrderUpdate(T, 7, "BTC-USD", "PARTIALLY_FILLED", Decimal("0.2")), "order 7 BTC-USD PARTIALLY_FILLED filled 0.2",
     "order"),
    (OrderUpdate(T, 8, "BTC-USD", "REJECTED", reason="undercollateralized"),
     "order 8 BTC-USD REJECTED: undercollateralized", "error"),
    (Fill(T, "BTC-USD", "BUY", Decimal("0.5"), Decimal("97010"), Decimal("0.486"), "MAKER", 7),
     "fill BUY 0.5 BTC-USD @ 97,010.00 maker, fee 0.49", "fill"),
    (Fill(T, "BTC-USD", "SELL", Decimal("1.8"), Decimal("90999"), Decimal("2457"), "TAKER", kind="LIQUIDATION"),
     "liquidation SELL 1.8 BTC-USD @ 90,999.00 taker, fee 2457.00", "error"),
    (IntentBlocked(T, "ETH-USD", 9, "NO_NEW_RISK"), "blocked order 9 ETH-USD: NO_NEW_RISK", "warning"),
    (StopIntent(T, "BTC-USD", "SELL", Decimal("0.5"), Decimal("91000"), 3 << 30, reason="protective stop"),
     "stop SELL 0.5 BTC-USD at 91,000.00 reduce-only (protective stop)", "order"),
    (derisking_risk(derisking_account()), "risk NORMAL → REDUCE: nearest liquidation 5.3 % away <= 8.0 %", "risk"),
    (ResyncRequest(T, "v4_orderbook", "ETH-USD", "crossed book"), "resync v4_orderbook:ETH-USD: crossed book",
     "warning"),
])
def test_log_lines(value: object, text: str, kind: str) -> None:
    entry = log_entry(value)
    assert (entry.t, entry.text, entry.kind) == (T, text, kind)


def test_the_log_keeps_what_deserves_a_line_and_counts_it() -> None:
    model = DashboardModel()
    model.record([ORDER, book_top("BTC-USD"), ORDER])
    state = model.log_state()
    assert (len(state.entries), state.total) == (2, 2)
    assert DashboardModel().log_state().log != state.log  # each model is a new log


def test_the_margin_panel_shows_each_market_s_protective_stop_until_it_is_gone() -> None:
    model = DashboardModel()
    first = StopIntent(T, "BTC-USD", "SELL", Decimal("0.5"), Decimal("91000"), 3 << 30)
    eth = StopIntent(T, "ETH-USD", "BUY", Decimal("2"), Decimal("4100"), (3 << 30) + 1)
    assert model.record([first, eth, OrderUpdate(T, 3 << 30, "BTC-USD", "OPEN")]) == {MARGIN}
    moved = structs.replace(first, trigger_price=Decimal("92000"), client_id=(3 << 30) + 2)
    model.record([moved, CancelIntent(T, "BTC-USD", 3 << 30, "protective stop replaced")])  # the old one
    assert model.margin_state().stops == (moved, eth)
    assert model.record([OrderUpdate(T, 7, "ETH-USD", "CANCELED")]) == set()  # another order
    assert model.record([OrderUpdate(T, (3 << 30) + 1, "ETH-USD", "FILLED", Decimal("2"))]) == {MARGIN}
    assert model.margin_state().stops == (moved,)


def test_state_keys_keep_every_candle_and_the_latest_of_everything_else() -> None:
    first, second = updates()[-2:]
    assert state_key(first) != state_key(second)
    assert state_key(book_top("BTC-USD")) == state_key(book_top("BTC-USD", t=T + 1))
    assert state_key(book_top("BTC-USD")) != state_key(market_info("BTC-USD"))
    assert state_key(normal_account()) == state_key(derisking_account())
    assert state_key(health("a")) != state_key(health("b"))


def test_the_tape_keeps_each_markets_latest_trades_and_shows_the_selected_ones_newest_first() -> None:
    from streams.market.trades import MarketTrade
    from widgets.trades_tape import TAPE_ROWS

    def trade(market: str, n: int) -> MarketTrade:
        return MarketTrade(T + n, market, f"{n:06d}", "BUY" if n % 2 else "SELL", Decimal("0.1"), Decimal(3000 + n),
                           f"2025-01-02T10:20:{n % 60:02d}.000Z", "LIMIT", False)

    model = DashboardModel()
    model.apply([book_top("ETH-USD"), market_info("ETH-USD")])
    assert model.trades([trade("BTC-USD", 1)]) == set()  # not the selected market's
    assert model.trades([trade("ETH-USD", n) for n in range(TAPE_ROWS + 5)]) == {TAPE}
    state = model.tape_state()
    assert (state.market, state.tick) == ("ETH-USD", market_info("ETH-USD").tick_size)
    assert [t.id for t in state.trades] == [f"{n:06d}" for n in reversed(range(5, TAPE_ROWS + 5))]
    model.apply([book_top("BTC-USD")])
    assert model.select("BTC-USD") and [t.id for t in model.tape_state().trades] == ["000001"]
