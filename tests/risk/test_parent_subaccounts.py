"""Isolated positions in child subaccounts, seen through v4_parent_subaccounts: each child margined on its
own collateral (its liquidation price from its own equity, dydx-reference.md §6), the parent's cross
positions on the parent's, and the whole family shown as one account.

Payloads are real-shaped: parent 0 is the real testnet REST body `nautilus-2024/rest/subaccount.json`
(ETH-USD long on USDC); child 11008 = 128·(85 + 1) + 0 holds TAO-USD (clob pair 85, ISOLATED, IMF 0.2 /
MMF 0.1 in the mainnet markets list `nautilus-2024/rest/list_perpetual_markets.json`) and is built in the
same shape, as comlink's `ParentSubaccountResponse` nests them (equity and free collateral summed).
Frames go through the parser, then `margin_states`, in virtual time."""

from __future__ import annotations

import json
from decimal import Decimal as D

import msgspec
import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from streams.kernel.frames import Frame
from streams.market import events as ev
from streams.market.parse import parse_frame
from streams.market.state import MarketInfo
from streams.risk.account import Account, Market, accounts_of_parent, apply_parent_update, implied_oracle_prices
from streams.risk.margin import account_state, margin_states, parent_account_state
from tests.support.builders import load_sample

on_next = ReactiveTest.on_next
ADDRESS = "dydx1kzsvkf2ghjqlysuffdkhcdctknl4rsvcx5hkm5"
TAO_CHILD = 128 * (85 + 1)
TAO_PRICE = D("347.2891867")  # the child's unrealized PnL implies this oracle price (its value in the list)


def tao_child() -> dict:
    """An isolated TAO-USD short on 420 USDC, in the shape of a real REST subaccount body."""
    return {
        "address": ADDRESS, "subaccountNumber": TAO_CHILD, "equity": "72.7108133", "freeCollateral": "3.25297596",
        "marginEnabled": True, "updatedAtHeight": "18164100", "latestProcessedBlockHeight": "18164178",
        "assetPositions": {"USDC": {"assetId": "0", "side": "LONG", "size": "420", "subaccountNumber": TAO_CHILD,
                                    "symbol": "USDC"}},
        "openPerpetualPositions": {"TAO-USD": {
            "market": "TAO-USD", "status": "OPEN", "side": "SHORT", "size": "-1", "maxSize": "-1",
            "entryPrice": "340", "exitPrice": None, "realizedPnl": "0", "unrealizedPnl": "-7.2891867",
            "netFunding": "0", "sumOpen": "1", "sumClose": "0", "createdAt": "2024-08-01T08:00:00.000Z",
            "createdAtHeight": "18164100", "closedAt": None, "subaccountNumber": TAO_CHILD}},
    }


@pytest.fixture(scope="module")
def parent_body(samples_dir) -> dict:
    parent = load_sample(samples_dir, "nautilus-2024/rest/subaccount.json")["subaccount"]
    child = tao_child()
    return {"subaccount": {
        "address": ADDRESS, "parentSubaccountNumber": 0,
        "equity": str(D(parent["equity"]) + D(child["equity"])),
        "freeCollateral": str(D(parent["freeCollateral"]) + D(child["freeCollateral"])),
        "childSubaccounts": [parent, child],
    }}


@pytest.fixture(scope="module")
def listed(samples_dir) -> dict:
    return load_sample(samples_dir, "nautilus-2024/rest/list_perpetual_markets.json")["markets"]


@pytest.fixture(scope="module")
def markets(listed) -> dict[str, Market]:
    return {name: Market.from_perpetual_market(msgspec.convert(listed[name], ev.PerpetualMarket, strict=False))
            for name in ("ETH-USD", "TAO-USD")}


def frame(t: float, message: dict) -> Frame:
    return Frame(t=t, kind="ws", data=json.dumps(message).encode())


def subscribed(t: float, body: dict) -> dict:
    return {"type": "subscribed", "connection_id": "c", "message_id": 3, "channel": "v4_parent_subaccounts",
            "id": f"{ADDRESS}/0", "contents": {**body, "orders": [], "blockHeight": "18164178"}}


def update(message_id: int, subaccount: int, contents: dict) -> dict:
    return {"type": "channel_data", "connection_id": "c", "message_id": message_id, "channel": "v4_parent_subaccounts",
            "id": f"{ADDRESS}/0", "version": "3.0.0", "subaccountNumber": subaccount, "contents": contents}


def info(t: float, listed: dict, name: str, price: D) -> MarketInfo:
    market = listed[name]
    return MarketInfo(t=t, market=name, status="ACTIVE", market_type=market["marketType"], oracle_price=price,
                      next_funding_rate=None, initial_margin_fraction=D(market["initialMarginFraction"]),
                      maintenance_margin_fraction=D(market["maintenanceMarginFraction"]),
                      open_interest=D(market["openInterest"]),
                      open_interest_lower_cap=D(market["openInterestLowerCap"]),
                      open_interest_upper_cap=D(market["openInterestUpperCap"]), tick_size=D(market["tickSize"]),
                      step_size=D(market["stepSize"]), atomic_resolution=market["atomicResolution"],
                      quantum_conversion_exponent=market["quantumConversionExponent"],
                      step_base_quantums=market["stepBaseQuantums"], subticks_per_tick=market["subticksPerTick"],
                      clob_pair_id=market["clobPairId"])


def states(markets: list, account_frames: list) -> list:
    """`margin_states` over parsed frames, in virtual time."""
    scheduler = TestScheduler()
    market_stream = scheduler.create_hot_observable(*markets)
    events = [on_next(tick, parse_frame(raw)) for tick, raw in account_frames]
    account_stream = scheduler.create_hot_observable(*events)
    results = scheduler.start(lambda: margin_states(market_stream, account_stream))
    return [message.value.value for message in results.messages if message.value.kind == "N"]


def row(state, market):
    return next(p for p in state.positions if p.market == market)


def test_the_parent_snapshot_and_rest_body_parse_into_the_family(parent_body):
    event = parse_frame(frame(1.0, subscribed(1.0, parent_body)))
    assert isinstance(event.contents, ev.ParentSubaccountSnapshot)
    family = event.contents.subaccount
    assert [c.subaccountNumber for c in family.childSubaccounts] == [0, TAO_CHILD]
    rest = parse_frame(Frame(t=1.0, kind="rest", path=f"/v4/addresses/{ADDRESS}/parentSubaccountNumber/0",
                             status=200, data=json.dumps(parent_body).encode()))
    assert rest.body.subaccount == family


def test_each_subaccount_is_valued_on_its_own_collateral_and_the_sums_match_the_indexer(parent_body, markets):
    family = msgspec.convert(parent_body["subaccount"], ev.ParentSubaccount)
    accounts = accounts_of_parent(family)
    prices = {name: price for child in family.childSubaccounts for name, price in implied_oracle_prices(child).items()}
    state = parent_account_state(accounts, prices, markets)

    assert state.equity == family.equity == D("171.917632854")  # the Indexer's sum, to the last digit
    assert state.free_collateral == family.freeCollateral
    tao = row(state, "TAO-USD")
    assert tao.margin_mode == "ISOLATED" and tao.oracle_price == TAO_PRICE
    # p_liq = (e − s·P) / (|s|·MMF − s) with e the child's own equity: (72.7108133 + 347.2891867) / 1.1
    assert tao.liquidation_price == D(420) / D("1.1")
    assert row(state, "ETH-USD").margin_mode == "CROSS"
    assert row(state, "ETH-USD") == account_state(accounts[0], prices, markets).positions[0]
    # held in the parent instead (cross), the parent's equity would back it: a different, later price
    cross = account_state(Account(usdc=accounts[0].usdc + accounts[TAO_CHILD].usdc,
                                  positions={**accounts[0].positions, **accounts[TAO_CHILD].positions}),
                          prices, markets)
    assert row(cross, "TAO-USD").liquidation_price > tao.liquidation_price + 80


def test_a_child_near_liquidation_is_flagged_though_the_family_has_equity_to_spare(listed, parent_body):
    eth = D("2914.96")
    out = states([on_next(210, info(1.0, listed, "ETH-USD", eth)),
                  on_next(220, info(2.0, listed, "TAO-USD", TAO_PRICE)),
                  on_next(240, info(4.0, listed, "TAO-USD", D("381.9"))),  # past 420/1.1
                  on_next(250, info(5.0, listed, "ETH-USD", D("1500")))],  # the parent's loss leaves TAO's alone
                 [(230, frame(3.0, subscribed(3.0, parent_body)))])
    first, near, eth_down = out
    assert not first.liquidatable and row(first, "TAO-USD").liquidation_price == D(420) / D("1.1")
    assert near.liquidatable and near.equity > 90
    assert near.margin_usage > 1  # the worst subaccount's: TAO's child has IMR above its equity
    assert row(eth_down, "TAO-USD").liquidation_price == D(420) / D("1.1")


def test_updates_go_to_the_subaccount_they_name_and_a_closed_child_goes(listed, parent_body):
    grow = update(4, TAO_CHILD, {
        "perpetualPositions": [{**tao_child()["openPerpetualPositions"]["TAO-USD"], "size": "-2",
                                "entryPrice": "343.6"}],
        "assetPositions": [{"address": ADDRESS, "subaccountNumber": TAO_CHILD, "positionId": "p", "assetId": "0",
                            "symbol": "USDC", "side": "LONG", "size": "760"}],
        "blockHeight": "18164200"})
    akt_child = 128 * (89 + 1)
    new_child = update(5, akt_child, {  # a second isolated position opens: a child not seen before
        "perpetualPositions": [{"address": ADDRESS, "subaccountNumber": akt_child, "positionId": "q",
                                "market": "AKT-USD", "side": "LONG", "status": "OPEN", "size": "10",
                                "maxSize": "10", "entryPrice": "3.2", "sumOpen": "10", "sumClose": "0",
                                "netFunding": "0", "realizedPnl": "0"}],
        "assetPositions": [{"address": ADDRESS, "subaccountNumber": akt_child, "positionId": "r", "assetId": "0",
                            "symbol": "USDC", "side": "SHORT", "size": "22"}]})
    close = update(6, TAO_CHILD, {
        "perpetualPositions": [{**tao_child()["openPerpetualPositions"]["TAO-USD"], "status": "CLOSED", "size": "0"}],
        "assetPositions": [{"address": ADDRESS, "subaccountNumber": TAO_CHILD, "positionId": "p", "assetId": "0",
                            "symbol": "USDC", "side": "LONG", "size": "0"}]})
    out = states([on_next(205, info(0.5, listed, "AKT-USD", D("3.24"))),
                  on_next(210, info(1.0, listed, "ETH-USD", D("2914.96"))),
                  on_next(220, info(2.0, listed, "TAO-USD", TAO_PRICE))],
                 [(230, frame(3.0, subscribed(3.0, parent_body))), (240, frame(4.0, grow)),
                  (250, frame(5.0, new_child)), (260, frame(6.0, close))])
    _, grown, opened, closed = out
    tao = row(grown, "TAO-USD")
    assert tao.size == -2 and tao.liquidation_price == D(760) / D("2.2")  # (760 − 2P + 2P) / (2·0.1 + 2)
    akt = row(opened, "AKT-USD")
    # a long: (e − s·P) / (|s|·MMF − s) = (−22 + 32.4 − 32.4) / (1 − 10) with e = −22 + 10·3.24
    assert akt.margin_mode == "ISOLATED" and akt.liquidation_price == D(22) / D(9)
    assert [p.market for p in closed.positions] == ["ETH-USD", "AKT-USD"]


def test_an_update_that_names_no_subaccount_goes_to_the_frame_s(parent_body):
    accounts = accounts_of_parent(msgspec.convert(parent_body["subaccount"], ev.ParentSubaccount))
    bare = ev.SubaccountUpdate(assetPositions=[ev.AssetPosition(symbol="USDC", side="LONG", size=D("500"))])
    moved = apply_parent_update(accounts, bare, TAO_CHILD)
    assert moved[TAO_CHILD].usdc == 500 and moved[0] == accounts[0]
    assert accounts[TAO_CHILD].usdc == 420  # the family given is not changed
