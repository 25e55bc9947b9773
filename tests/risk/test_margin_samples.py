"""Real testnet accounts from ../shared/dydx-samples reproduce exactly: the Indexer's `equity` and
`freeCollateral` equal ours to the last digit the file gives (Decimal equality).

How the inputs are matched: a subaccount body carries no oracle prices, but its unrealized PnL is
`size·(P − entry)`, so the prices the Indexer valued it at are backed out of it (`implied_oracle_prices`).
Market parameters come from the v4_markets snapshot of the same network and week (testnet, 2024-08-17):
BTC-USD and ETH-USD at IMF 0.05 / MMF 0.03 without open-interest caps — the same tier mainnet had then.

Which samples prove what:
- ws/v4_accounts_subscribed_negative_initial_margin.json: BTC long + ETH short on a negative USDC balance,
  free collateral 0.199 of 304 equity (reference §6), as a v4_subaccounts snapshot event.
- ws/v4_accounts_balance.json: the same account a day later with settled funding (netFunding −0.043512):
  the USDC balance already holds it, nothing is added.
- rest/addresses.json and rest/subaccount.json: another account (ETH long, positive balance) at two
  heights, via /v4/addresses/{a} and /v4/addresses/{a}/subaccountNumber/0.
- ws/v4_accounts_subscribed.json, nautilus-2025/rest/http_get_subaccount.json: no positions; equity = free
  collateral = the balance (2025 is mainnet, so this checks the REST shape a year later).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from streams.kernel.frames import Frame
from streams.market import events as ev
from streams.market.parse import parse_ws
from streams.risk.account import Market, account_from_subaccount, implied_oracle_prices
from streams.risk.margin import account_state
from tests.support.builders import load_sample


@pytest.fixture(scope="module")
def markets(samples_dir):
    snapshot = msgspec.convert(load_sample(samples_dir, "nautilus-2024/ws/v4_markets_subscribed.json")["contents"],
                               ev.MarketsSnapshot)
    return {name: Market.from_perpetual_market(market) for name, market in snapshot.markets.items()}


def ws_subaccount(samples_dir, name):
    frame = Frame(t=0.0, kind="ws", data=(samples_dir / "nautilus-2024/ws" / name).read_bytes())
    event = parse_ws(frame)
    assert isinstance(event, ev.Subscribed), event
    return event.contents.subaccount


def rest_subaccounts(samples_dir, name):
    body = load_sample(samples_dir, name)
    if "subaccounts" in body:
        return msgspec.convert(body, ev.AddressResponse).subaccounts
    return [msgspec.convert(body, ev.SubaccountResponse).subaccount]


def reproduce(subaccount, markets):
    state = account_state(account_from_subaccount(subaccount), implied_oracle_prices(subaccount), markets)
    assert state.equity == subaccount.equity
    assert state.free_collateral == subaccount.freeCollateral
    assert state.free_collateral_indexer == subaccount.freeCollateral
    return state


def test_negative_initial_margin_account(samples_dir, markets):
    subaccount = ws_subaccount(samples_dir, "v4_accounts_subscribed_negative_initial_margin.json")
    state = reproduce(subaccount, markets)
    assert str(state.equity.normalize()) == "304.384048054"
    assert str(state.free_collateral.normalize()) == "0.1986661447"
    btc, eth = state.positions
    assert (btc.market, eth.market) == ("BTC-USD", "ETH-USD")
    assert str(btc.liquidation_price.quantize(Decimal("0.01"))) == "57459.58"
    assert str(eth.liquidation_price.quantize(Decimal("0.01"))) == "61788.34"
    # the Indexer's own unrealized PnL comes back from the backed-out prices
    assert [p.unrealized_pnl for p in state.positions] == [
        p.unrealizedPnl for p in subaccount.openPerpetualPositions.values()]


def test_account_with_settled_funding(samples_dir, markets):
    subaccount = ws_subaccount(samples_dir, "v4_accounts_balance.json")
    assert subaccount.openPerpetualPositions["BTC-USD"].netFunding != 0
    state = reproduce(subaccount, markets)
    assert len(state.positions) == 2 and not state.liquidatable


@pytest.mark.parametrize("name", ["nautilus-2024/rest/addresses.json", "nautilus-2024/rest/subaccount.json"])
def test_rest_account_with_a_position(samples_dir, markets, name):
    (subaccount,) = rest_subaccounts(samples_dir, name)
    state = reproduce(subaccount, markets)
    (eth,) = state.positions
    assert eth.market == "ETH-USD" and eth.size == Decimal("0.003")


@pytest.mark.parametrize(("kind", "name"), [("ws", "v4_accounts_subscribed.json"),
                                            ("rest", "nautilus-2025/rest/http_get_subaccount.json")])
def test_accounts_without_positions(samples_dir, markets, kind, name):
    (subaccount,) = [ws_subaccount(samples_dir, name)] if kind == "ws" else rest_subaccounts(samples_dir, name)
    state = reproduce(subaccount, markets)
    assert state.positions == () and state.equity == subaccount.assetPositions["USDC"].size
