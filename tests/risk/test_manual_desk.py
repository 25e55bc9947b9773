"""The trader's desk on the whole graph, over the golden test's recording with the paper broker: a manual
order takes the strategy's road through the risk gate to the broker, a refused one comes back with the
gate's reason, a pause stops the strategy in one market only, and cancels go straight to the broker."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from streams.kernel.orders import OrderIntent
from streams.risk.manual import MANUAL_CLIENT_IDS, is_manual
from streams.sources.recording import open_recording
from tests.test_graph_golden import build_recording, graph_lines, with_faults

AT = 400  # the frame before which the trader acts: the books and the account are up by then


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    frames, _ = with_faults(list(open_recording(build_recording(tmp_path_factory.mktemp("d") / "rec")).frames()))
    return frames


def orders(frames, act) -> list[dict]:
    lines = graph_lines(frames, between={AT: act})
    return [event for event in map(json.loads, lines) if event["kind"] == "orders"]


def buy(size: str) -> OrderIntent:
    return OrderIntent(0.0, "ETH-USD", "BUY", Decimal(size), kind="MARKET", time_in_force="IOC")


def test_a_manual_order_passes_the_gate_and_fills_on_the_paper_account(frames):
    out = orders(frames, lambda graph: graph.desk.submit(buy("0.5")))
    mine = [o for o in out if o.get("client_id") == MANUAL_CLIENT_IDS]
    intent, *updates = mine
    assert intent["side"] == "BUY" and intent["reason"] == "manual" and intent["t"] > 0  # stamped with event time
    assert any(o.get("price") and o.get("liquidity") for o in updates), "the paper broker filled it"


def test_the_gate_s_refusal_comes_back_with_its_reason(frames):
    out = orders(frames, lambda graph: graph.desk.submit(buy("50")))  # far beyond max_position_notional
    (blocked,) = [o for o in out if o.get("client_id") == MANUAL_CLIENT_IDS]
    assert "position" in blocked["reason"] and "> max 25000 USDC" in blocked["reason"]


def intents(out: list[dict], market: str, after: float) -> list[dict]:
    """The strategy's orders (not fills, updates or refusals) in `market` after `after`."""
    return [o for o in out if "side" in o and "status" not in o and "liquidity" not in o and o["market"] == market
            and o["t"] > after and not is_manual(o["client_id"])]


def test_a_pause_stops_the_strategy_in_that_market_only(frames):
    paused_at = frames[AT].t
    plain = orders(frames, lambda graph: None)
    assert intents(plain, "ETH-USD", paused_at) and intents(plain, "BTC-USD", paused_at)  # both trade later
    out = orders(frames, lambda graph: graph.desk.pause("ETH-USD"))
    assert intents(out, "ETH-USD", paused_at) == []
    times = lambda orders: [o["t"] for o in orders]  # noqa: E731 - sizes differ: the account does
    assert times(intents(out, "BTC-USD", paused_at)) == times(intents(plain, "BTC-USD", paused_at))
    blocked = [o for o in out if o.get("reason") == "automatic trading paused on ETH-USD"]
    assert blocked and all(o["market"] == "ETH-USD" and "side" not in o for o in blocked)
    resumed = orders(frames, lambda graph: (graph.desk.pause("ETH-USD"), graph.desk.pause("ETH-USD", paused=False)))
    assert intents(resumed, "ETH-USD", paused_at) == intents(plain, "ETH-USD", paused_at)  # as if never paused


def test_cancels_go_to_the_broker(frames):
    out = orders(frames, lambda graph: graph.desk.cancel())
    assert {"market": None, "client_id": None, "reason": "manual"}.items() <= next(
        o for o in out if o.get("reason") == "manual").items()


def test_close_and_flatten_are_reduce_only_market_orders_numbered_by_the_desk():
    from streams.risk.manual import ManualDesk
    from streams.risk.margin import account_state
    from tests.risk.test_margin import MARKETS, REFERENCE_ACCOUNT, REFERENCE_PRICES

    desk = ManualDesk()
    sent: list = []
    desk.commands.subscribe(sent.append)
    positions = account_state(REFERENCE_ACCOUNT, REFERENCE_PRICES, MARKETS).positions
    closes = desk.close(positions, Decimal("0.02"))
    assert sent == closes
    assert [(o.market, o.side, o.size, o.reduce_only, o.kind) for o in closes] == [
        ("BTC-USD", "SELL", Decimal("0.1036"), True, "MARKET"), ("ETH-USD", "BUY", Decimal("0.002"), True, "MARKET")]
    assert [o.client_id for o in closes] == [MANUAL_CLIENT_IDS, MANUAL_CLIENT_IDS + 1]
