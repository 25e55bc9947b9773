"""The de-risking ladder as a plain state machine: every rung up and down with its hysteresis, every
condition that holds new risk, the kill switch and the daily loss limit, each change with its reason."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec
import pytest

from streams.market.state import StreamHealth
from streams.risk.config import RiskConfig, Rung
from streams.risk.ladder import LEVELS, Ladder, RiskState

EQUITY = D(10_000)


def margin(ladder: Ladder, t: float, usage: str | None, distance: str | None = None, equity: D = EQUITY
           ) -> RiskState | None:
    return ladder.margin(t, equity, None if usage is None else D(usage), None if distance is None else D(distance))


def health(t: float, stream: str, state: str) -> StreamHealth:
    return StreamHealth(t=t, stream=stream, rate=1.0, last_age=0.0, messages=1, gaps=0, resyncs=0, crossed=0,
                        errors=0, state=state)


def moves(ladder: Ladder, *steps) -> list[tuple[str, str] | None]:
    """(state, reason) after each (usage, distance) step, None where nothing changed."""
    out = []
    for t, (usage, distance) in enumerate(steps, start=1):
        change = margin(ladder, float(t), usage, distance)
        out.append(None if change is None else (change.state, change.reason))
    return out


def test_margin_usage_climbs_the_ladder_rung_by_rung():
    assert moves(Ladder(RiskConfig()), ("0.30", None), ("0.55", None), ("0.72", None), ("0.90", None)) == [
        None,
        ("NO_NEW_RISK", "margin usage 55.0 % >= 50.0 %"),
        ("REDUCE", "margin usage 72.0 % >= 70.0 %"),
        ("FLATTEN", "margin usage 90.0 % >= 85.0 %"),
    ]


def test_each_rung_is_left_only_below_its_exit_level():
    ladder = Ladder(RiskConfig())
    margin(ladder, 0.0, "0.90")
    assert moves(ladder, ("0.80", None), ("0.68", None), ("0.65", None), ("0.45", None), ("0.49", None),
                 ("0.39", "0.30")) == [
        None,  # below FLATTEN's 85 % entry, not yet below its 75 % exit
        ("REDUCE", "margin usage 68.0 %, not yet below 60.0 %"),
        None,
        ("NO_NEW_RISK", "margin usage 45.0 %, not yet below 40.0 %"),
        None,
        ("NORMAL", "margin usage 39.0 %, nearest liquidation 30.0 % away"),
    ]
    assert moves(ladder, ("0.45", None)) == [None]  # between exit and entry: NORMAL stays NORMAL


def test_the_distance_to_liquidation_drives_the_same_rungs():
    ladder = Ladder(RiskConfig())
    assert moves(ladder, ("0.1", "0.07"), ("0.1", "0.09"), ("0.1", "0.11"), ("0.1", "0.17"), ("0.1", "0.25")) == [
        ("REDUCE", "nearest liquidation 7.0 % away <= 8.0 %"),
        None,  # within REDUCE's 10 % exit distance
        ("NO_NEW_RISK", "nearest liquidation 11.0 % away <= 15.0 %"),
        None,
        ("NORMAL", "margin usage 10.0 %, nearest liquidation 25.0 % away"),
    ]


def test_a_crash_goes_straight_to_flatten_and_no_equity_means_flatten():
    assert moves(Ladder(RiskConfig()), ("0.2", "0.02")) == [("FLATTEN", "nearest liquidation 2.0 % away <= 4.0 %")]
    ladder = Ladder(RiskConfig())
    change = margin(ladder, 1.0, None, None, equity=D(-5))
    assert (change.state, change.reason, change.flatten) == ("FLATTEN", "no equity left", True)
    assert moves(ladder, ("0.1", None)) == [("NORMAL", "margin usage 10.0 %, no liquidation price")]


def test_states_carry_the_figures_and_the_previous_state():
    ladder = Ladder(RiskConfig(), t=5.0)
    assert ladder.state == RiskState(5.0, "NORMAL", "no margin data yet", "NORMAL")
    assert ladder.state.allows_new_risk
    change = margin(ladder, 6.0, "0.6", "0.3")
    assert change == RiskState(6.0, "NO_NEW_RISK", "margin usage 60.0 % >= 50.0 %", "NORMAL", D("0.6"), D("0.3"))
    assert not change.allows_new_risk and LEVELS[0] == "NORMAL" and LEVELS[-1] == "HALTED"


def test_unhealthy_data_holds_new_risk_until_every_stream_is_healthy_again():
    ladder = Ladder(RiskConfig())
    margin(ladder, 0.0, "0.1")
    change = ladder.health(health(1.0, "v4_orderbook:ETH-USD", "stale"))
    assert (change.state, change.reason) == ("NO_NEW_RISK", "data unhealthy: v4_orderbook:ETH-USD (stale)")
    assert ladder.health(health(2.0, "v4_trades:ETH-USD", "error")) is None
    assert ladder.health(health(3.0, "v4_orderbook:ETH-USD", "ok")) is None
    change = ladder.health(health(4.0, "v4_trades:ETH-USD", "ok"))
    assert (change.state, change.reason) == ("NORMAL", "margin usage 10.0 %, no liquidation price")


def test_several_unhealthy_streams_are_named_and_counted_and_never_lower_a_higher_rung():
    ladder = Ladder(RiskConfig())
    ladder.health(health(1.0, "v4_trades:ETH-USD", "resyncing"))
    margin(ladder, 2.0, "0.3")
    change = ladder.health(health(3.0, "v4_orderbook:BTC-USD", "stale"))
    assert change is None and ladder.state.reason == "data unhealthy: v4_trades:ETH-USD (resyncing)"
    change = margin(ladder, 4.0, "0.75")
    assert change.state == "REDUCE"
    change = margin(ladder, 5.0, "0.3")
    assert (change.state, change.reason) == ("NO_NEW_RISK",
                                             "data unhealthy: v4_orderbook:BTC-USD (stale) (+1 more)")


def test_a_lost_connection_holds_new_risk_until_it_is_back():
    ladder = Ladder(RiskConfig())
    change = ladder.connection(1.0, "conn 0", False, "closed 1006")
    assert (change.state, change.reason) == ("NO_NEW_RISK", "disconnected: conn 0 (closed 1006)")
    assert ladder.connection(2.0, "conn 1", False) is None
    assert ladder.state.reason == "disconnected: conn 0 (closed 1006)"
    assert ladder.connection(3.0, "conn 0", True) is None
    assert ladder.connection(4.0, "conn 1", True).state == "NORMAL"


def test_a_failed_order_pauses_new_risk_for_a_while_of_event_time():
    ladder = Ladder(RiskConfig(failed_order_pause=60.0))
    change = ladder.order_failed(10.0, "ETH-USD #3 rejected: undercollateralized")
    assert (change.state, change.reason) == ("NO_NEW_RISK", "order failed: ETH-USD #3 rejected: undercollateralized")
    assert ladder.tick(69.9) is None
    assert ladder.tick(70.0).state == "NORMAL"
    assert Ladder(RiskConfig(failed_order_pause=0.0)).order_failed(1.0, "x") is None


def test_the_kill_switch_halts_until_reset_and_flattening_can_be_added_not_taken_back():
    ladder = Ladder(RiskConfig())
    margin(ladder, 0.0, "0.2")
    change = ladder.kill(1.0, "kill switch (ui)", flatten=False)
    assert (change.state, change.reason, change.flatten, change.previous) == ("HALTED", "kill switch (ui)", False,
                                                                              "NORMAL")
    assert margin(ladder, 2.0, "0.95") is None  # FLATTEN by margin, but HALTED outranks it
    change = ladder.kill(3.0, "kill switch (signal, flatten)", flatten=True)
    assert (change.state, change.flatten) == ("HALTED", True)
    assert ladder.kill(4.0, "kill switch (ui)", flatten=False) is None
    assert ladder.state.flatten
    change = ladder.reset(5.0, "reset (ui)")
    assert (change.state, change.reason) == ("FLATTEN", "reset (ui); margin usage 95.0 % >= 85.0 %")
    assert ladder.reset(6.0, "reset (ui)") is None  # nothing to reset
    fresh = Ladder(RiskConfig())
    fresh.kill(1.0, "kill switch (ui)", flatten=False)
    assert fresh.reset(2.0, "reset (ui)").reason == "reset (ui); no margin data yet"


def test_the_daily_loss_limit_trips_the_kill_switch_from_the_days_first_equity():
    day = 86_400.0
    ladder = Ladder(RiskConfig(daily_loss_limit=D(1_000)))
    margin(ladder, day + 10, "0.1", equity=D(10_000))
    margin(ladder, day + 20, "0.1", equity=D(11_000))
    assert margin(ladder, day + 30, "0.1", equity=D(9_100)) is None  # 900 below the day's first equity
    change = margin(ladder, day + 40, "0.1", equity=D(9_000))
    assert (change.state, change.reason, change.flatten) == ("HALTED", "daily loss 1000.00 USDC >= limit 1000 USDC",
                                                             True)
    # a reset is the decision to go on with what is left: the limit re-arms from there
    assert ladder.reset(day + 50, "reset (ui)").state == "NORMAL"
    assert margin(ladder, day + 60, "0.1", equity=D(8_500)) is None
    assert margin(ladder, day + 70, "0.1", equity=D(8_000)).state == "HALTED"


def test_a_new_day_starts_the_loss_count_afresh_and_the_limit_can_halt_without_flattening():
    day = 86_400.0
    ladder = Ladder(RiskConfig(daily_loss_limit=D(500), flatten_on_daily_loss=False))
    margin(ladder, day - 10, "0.1", equity=D(10_000))
    assert margin(ladder, day + 1, "0.1", equity=D(9_600)) is None  # 400 down, but the new day opens at 9 600
    change = margin(ladder, day + 2, "0.1", equity=D(9_100))
    assert (change.state, change.flatten) == ("HALTED", False)


# -- config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, message", [
    ({"reduce": {"enter_usage": 0.7, "exit_usage": 0.8, "enter_distance": 0.08, "exit_distance": 0.1}},
     "exit_usage: must be below enter_usage"),
    ({"reduce": {"enter_usage": 0.7, "exit_usage": 0.6, "enter_distance": 0.1, "exit_distance": 0.1}},
     "exit_distance: must be greater than enter_distance"),
    ({"flatten": {"enter_usage": 0.6, "exit_usage": 0.5, "enter_distance": 0.04, "exit_distance": 0.06}},
     "flatten: must be stricter than reduce"),
    ({"max_leverage": 0}, "max_leverage: expected a finite number > 0 and <= 100"),
    ({"daily_loss_limit": -1}, r"daily_loss_limit: expected a finite number > 0 and <= 1000000000000"),
    ({"reduce_fraction": 1.5}, "reduce_fraction: expected a finite number > 0 and <= 1"),
    ({"failed_order_pause": -1}, "failed_order_pause: expected a finite number >= 0 and <= 604800"),
    ({"max_slippage": 1}, "max_slippage: expected a finite number > 0 and < 1"),
    ({"max_levrage": 3}, "unknown field `max_levrage`"),
])
def test_bad_risk_settings_are_refused_naming_the_key(data, message):
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(data, RiskConfig)


def test_risk_settings_read_from_toml_numbers():
    config = msgspec.convert({"reduce": {"enter_usage": 0.65, "exit_usage": 0.55, "enter_distance": 0.09,
                                         "exit_distance": 0.12}, "daily_loss_limit": 250}, RiskConfig)
    assert config.reduce == Rung(enter_usage=D("0.65"), exit_usage=D("0.55"), enter_distance=D("0.09"),
                                 exit_distance=D("0.12"))
    assert config.daily_loss_limit == D(250) and config.no_new_risk == RiskConfig().no_new_risk
