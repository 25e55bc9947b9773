"""A parent subaccount and its isolated children, live: v4_parent_subaccounts messages in (built from the
Indexer's field lists, dydx-reference.md §4-5: the snapshot's `subaccount` is the parent's REST body with
`childSubaccounts`, each update names its child in `subaccountNumber`; TRY-USD is the real ISOLATED market
of nautilus-2024/ws/v4_markets_channel_data_v8.json), the reconciler's positions and balances per child,
and the live broker's orders out, signed on the loopback node stand-in: a cross market's from the parent,
an isolated market's from the child holding it, else from the first unused child, refused while that
child lacks the initial margin (the bot moves no collateral)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.wallet import Wallet
from reactivex.disposable import Disposable
from reactivex.subject import Subject
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder

from streams.execution.isolated import ChildRefusedError, check_holder_margin, child_for
from streams.execution.live_broker import LiveBroker
from streams.execution.networks import local_network
from streams.execution.reconcile import Reconciler, VenuePosition, is_account_message
from streams.execution.secrets import Secret
from streams.graph import build_graph
from streams.kernel.frames import Frame
from streams.kernel.orders import Fill, OrderIntent, OrderUpdate
from streams.market import events as ev
from streams.market.parse import parse_frame
from streams.sources.live import LiveConfig
from tests.support.builders import rest_frame, ws_frame
from tests.support.dydx_node import Account, NodeStandIn, throwaway_mnemonic
from tests.support.parent_session import PLN_USD, TRY_USD

D = Decimal
HEIGHT = 26_543_048
T = 1_733_165_131.0
ADDRESS = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"
BTC_USD = {"ticker": "BTC-USD", "clobPairId": "0", "status": "ACTIVE", "atomicResolution": -10,
           "quantumConversionExponent": -9, "stepBaseQuantums": 1000000, "subticksPerTick": 100000, "tickSize": "1",
           "stepSize": "0.0001", "initialMarginFraction": "0.05", "maintenanceMarginFraction": "0.03",
           "marketType": "CROSS", "oraclePrice": "58672"}


def usdc(number: int, size: str) -> dict[str, Any]:
    return {"size": size.lstrip("-"), "symbol": "USDC", "side": "SHORT" if size.startswith("-") else "LONG",
            "assetId": "0", "subaccountNumber": number}


def position(number: int, market: str, size: str, entry: str) -> dict[str, Any]:
    return {"market": market, "status": "OPEN", "side": "SHORT" if size.startswith("-") else "LONG", "size": size,
            "maxSize": size, "entryPrice": entry, "exitPrice": None, "realizedPnl": "0", "unrealizedPnl": "0",
            "createdAt": "2024-12-02T18:00:00.000Z", "createdAtHeight": str(HEIGHT - 2700), "closedAt": None,
            "sumOpen": size.lstrip("-"), "sumClose": "0", "netFunding": "0", "subaccountNumber": number}


def child(number: int, balance: str, *held: dict[str, Any]) -> dict[str, Any]:
    return {"address": ADDRESS, "subaccountNumber": number, "equity": balance, "freeCollateral": balance,
            "openPerpetualPositions": {p["market"]: p for p in held}, "assetPositions": {"USDC": usdc(number, balance)},
            "marginEnabled": True, "updatedAtHeight": str(HEIGHT - 10), "latestProcessedBlockHeight": str(HEIGHT)}


def parent_snapshot() -> Any:
    """Parent 0 (cross BTC-USD long), child 128 (an isolated TRY-USD short on 50 USDC), child 256 unused."""
    children = [child(0, "-5768.816478", position(0, "BTC-USD", "0.1036", "58308.14")),
                child(128, "50", position(128, "TRY-USD", "-1000", "0.02950")), child(256, "0")]
    parent = {"address": ADDRESS, "parentSubaccountNumber": 0, "equity": "354.38", "freeCollateral": "0.2",
              "childSubaccounts": children}
    return parse_frame(ws_frame({"type": "subscribed", "connection_id": "c", "message_id": 2,
                                 "channel": "v4_parent_subaccounts", "id": f"{ADDRESS}/0",
                                 "contents": {"subaccount": parent, "orders": [], "blockHeight": str(HEIGHT)}}, T))


def child_update(number: int, t: float, **contents: Any) -> Any:
    return parse_frame(ws_frame({"type": "channel_data", "connection_id": "c", "message_id": 3,
                                 "channel": "v4_parent_subaccounts", "id": f"{ADDRESS}/0", "version": "3.0.0",
                                 "subaccountNumber": number, "contents": {**contents, "blockHeight": str(HEIGHT + 1)}},
                                t))


def test_the_reconciler_keeps_each_child_s_positions_and_balance():
    reconciler = Reconciler()
    assert is_account_message(parent_snapshot())
    assert reconciler.on_message(parent_snapshot()) == [
        VenuePosition(T, "BTC-USD", D("0.1036"), "OPEN", D("58308.14")),
        VenuePosition(T, "TRY-USD", D(-1000), "OPEN", D("0.02950"))]
    assert reconciler.holders == {"BTC-USD": 0, "TRY-USD": 128}
    assert reconciler.usdc == {0: D("-5768.816478"), 128: D(50), 256: D(0)}
    fill = {"id": "f1", "subaccountId": "child-128", "side": "BUY", "liquidity": "TAKER", "type": "LIMIT",
            "clobPairId": "143", "ticker": "TRY-USD", "size": "1000", "price": "0.02931", "quoteAmount": "29.31",
            "fee": "0.014655", "createdAt": "2024-12-02T18:45:33.548Z", "createdAtHeight": str(HEIGHT + 1),
            "subaccountNumber": 128}
    closed = {**position(128, "TRY-USD", "0", "0.02950"), "status": "CLOSED"}
    out = reconciler.on_message(child_update(128, T + 2, fills=[fill], perpetualPositions=[closed],
                                             assetPositions=[usdc(128, "50.175345")]))
    assert out == [Fill(T + 2, "TRY-USD", "BUY", D(1000), D("0.02931"), D("0.014655"), "TAKER"),
                   VenuePosition(T + 2, "TRY-USD", D(0), "CLOSED", D("0.02950"))]
    assert reconciler.holders == {"BTC-USD": 0} and reconciler.usdc[128] == D("50.175345")
    assert reconciler.busy() == {0}  # 128 is unused again


def test_an_isolated_order_goes_to_its_holder_else_to_the_first_unused_child_with_the_margin():
    holders, usdc_of = {"TRY-USD": 128}, {128: D(50), 256: D(0), 384: D(3)}
    assert child_for("TRY-USD", 0, reduce_only=False, margin_needed=D(9), holders=holders, busy={0, 128},
                     usdc=usdc_of) == 128
    assert child_for("PLN-USD", 0, reduce_only=False, margin_needed=D(2), holders=holders, busy={0, 128, 256},
                     usdc=usdc_of) == 384
    with pytest.raises(ChildRefusedError, match=r"child subaccount 256 \(unused\), which holds 0 USDC of the 2 USDC "
                                                r"initial margin this order needs; the bot does not move collateral"):
        child_for("PLN-USD", 0, reduce_only=False, margin_needed=D(2), holders=holders, busy={0, 128}, usdc=usdc_of)
    with pytest.raises(ChildRefusedError, match="no child subaccount of 3 holds a position in it to reduce"):
        child_for("PLN-USD", 3, reduce_only=True, margin_needed=D(0), holders={}, busy=set(), usdc={})
    assert child_for("PLN-USD", 3, reduce_only=False, margin_needed=D(0), holders={}, busy={3, 131},
                     usdc={}) == 259  # 128·k + 3


def test_an_order_growing_a_child_s_position_needs_the_margin_of_the_position_after_it():
    # child 128: 50 USDC, short 1000 TRY-USD: at 0.03 its equity is 20, which margins |size| ≤ 66 666 (IMF 0.01)
    def check(delta: str) -> None:
        check_holder_margin("TRY-USD", 128, 0, usdc=D(50), size=D(-1000), delta=D(delta), price=D("0.03"),
                            imf=D("0.01"))

    check("-65000")  # a short of 66 000 needs 19.8
    check("1500")  # a flip to a long of 500 needs 0.15
    check("1000")  # closes
    check("999")  # reduces
    with pytest.raises(ChildRefusedError, match=r"held in child subaccount 128, whose 20 USDC of equity is short "
                                                r"of the 20\.13 USDC initial margin its position needs after this "
                                                r"order; .* transfer it to subaccount 128 first"):
        check("-66100")
    with pytest.raises(ChildRefusedError, match=r"short of the 20\.13 USDC"):
        check("68100")  # a flip to a long of 67 100


def test_a_parent_is_followed_on_its_channel_with_its_catch_up_over_rest():
    config = LiveConfig(markets=("TRY-USD",), address=ADDRESS, subaccount_number=3, parent_subaccount=True)
    assert [str(s) for s in config.subscriptions()][-2:] == [f"v4_parent_subaccounts:{ADDRESS}/3", "v4_block_height"]
    assert config.rest_calls()[-1].path == f"/v4/addresses/{ADDRESS}/parentSubaccountNumber/3"
    orders, fills = config.catch_up_calls()
    assert (orders.path, fills.path) == ("/v4/orders/parentSubaccountNumber", "/v4/fills/parentSubaccountNumber")
    assert ("parentSubaccountNumber", 3) in fills.params
    answer = parse_frame(rest_frame({"fills": []}, f"{fills.path}?address={ADDRESS}&parentSubaccountNumber=3", T))
    assert isinstance(answer, ev.RestResponse) and is_account_message(answer)
    assert isinstance(answer.body, ev.FillsResponse)


@pytest.fixture
def words() -> str:
    return throwaway_mnemonic()


@pytest.fixture
def node(words):
    wallet = Wallet(KeyPair.from_mnemonic(words), 0, 0)
    standin = NodeStandIn(height=HEIGHT, accounts={wallet.address: Account(number=42, sequence=7)}).start()
    yield standin
    standin.stop()


async def test_the_live_broker_sends_each_order_from_the_subaccount_its_market_belongs_in(node, words):
    network = local_network(node.url)
    broker = await LiveBroker.connect(network, Secret(words), parent=True, deadline=5.0)
    seen: list = []
    broker.events.subscribe(seen.append)
    try:
        for market in (TRY_USD, PLN_USD, BTC_USD):
            broker.on_market(msgspec.convert(market, ev.PerpetualMarket, strict=False))
        broker.on_account(parent_snapshot())
        seen.clear()

        def order(market: str, size: str, price: str, client_id: int) -> OrderIntent:
            return OrderIntent(T + 1, market, "BUY", D(size), price=D(price), client_id=client_id)

        broker.submit(order("TRY-USD", "1000", "0.02931", 1))  # the child holding TRY-USD
        broker.submit(order("BTC-USD", "0.0003", "58672", 2))  # cross: the parent
        broker.submit(order("PLN-USD", "1000", "0.25", 3))  # new: child 256 has 0 of its 2.5 USDC margin
        # child 128's equity, 50 − 1000·0.02931 = 20.69, margins no short of 101 000 (29.6031 USDC)
        broker.submit(OrderIntent(T + 1, "TRY-USD", "SELL", D(100_000), price=D("0.02931"), client_id=5))
        await broker.settled()
        refused = [u for u in seen if isinstance(u, OrderUpdate) and u.status == "REJECTED"]
        assert [(u.client_id, u.market) for u in refused] == [(3, "PLN-USD"), (5, "TRY-USD")]
        assert "child subaccount 256 (unused), which holds 0 USDC of the 2.5 USDC initial margin" in refused[0].reason
        assert ("held in child subaccount 128, whose 20.69 USDC of equity is short of the 29.6031 USDC initial "
                "margin its position needs after this order") in refused[1].reason

        # a transfer into child 256 (as the front end would make): the order now goes there
        broker.on_account(child_update(256, T + 2, assetPositions=[usdc(256, "5")]))
        broker.submit(order("PLN-USD", "1000", "0.25", 4))
        await broker.settled()
        placed = [m.order.order_id for tx in node.sent for m in tx.messages if isinstance(m, MsgPlaceOrder)]
        assert [(o.client_id, o.clob_pair_id, o.subaccount_id.number) for o in placed] == [
            (1, 143, 128), (2, 0, 0), (4, 144, 256)]
    finally:
        await broker.close()
        network.node.channel.close()


class _Venue:
    """The graph's broker stand-in (no node): takes what the risk engine sends and says nothing back."""

    def __init__(self) -> None:
        self.events: Subject[Any] = Subject()
        self.sent: list[Any] = []

    def bind(self, **_streams: Any) -> Any:
        return Disposable()

    def submit(self, intent: Any) -> None:
        self.sent.append(intent)

    def cancel(self, intent: Any) -> None:
        self.sent.append(intent)


def test_the_live_graph_values_each_isolated_child_on_its_own_collateral():
    markets = {"type": "subscribed", "connection_id": "c", "message_id": 1, "channel": "v4_markets",
               "contents": {"markets": {m["ticker"]: {**m, "baseOpenInterest": "0", "priceChange24H": "0",
                                                      "volume24H": "0", "trades24H": 0}
                                        for m in (TRY_USD, BTC_USD)}}}
    snapshot = {"type": "subscribed", "connection_id": "c", "message_id": 2, "channel": "v4_parent_subaccounts",
                "id": f"{ADDRESS}/0", "contents": msgspec.json.decode(msgspec.json.encode(parent_snapshot().contents))}
    frames: Subject[Frame] = Subject()
    graph = build_graph(frames, broker=_Venue())  # type: ignore[arg-type] - the stand-in has what the graph uses
    states: list = []
    graph.account.subscribe(states.append)
    connection = graph.connect()
    frames.on_next(ws_frame(markets, T))
    frames.on_next(ws_frame(snapshot, T + 0.1))
    connection.dispose()
    btc, tried = states[-1].positions
    assert (btc.market, btc.margin_mode, tried.market, tried.margin_mode) == ("BTC-USD", "CROSS", "TRY-USD", "ISOLATED")
    # the child's own 50 USDC backs the short alone (dydx-reference.md §6, isolated):
    # p_liq = (e − s·P) / (|s|·MMF − s) with e = 50 − 1000·0.0293 = 20.7
    e, s, p, mmf = D(50) - 1000 * D("0.02930"), D(-1000), D("0.02930"), D("0.005")
    assert tried.liquidation_price == (e - s * p) / (abs(s) * mmf - s)
