"""The live broker end to end against a loopback stand-in node: real signing with a throwaway wallet, the
transactions decoded on the other side, the account sequence, and every failure turned into an update."""

from __future__ import annotations

import logging
import traceback
from dataclasses import replace
from decimal import Decimal

import grpc
import msgspec
import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.wallet import Wallet
from reactivex.subject import Subject
from v4_proto.cosmos.base.abci.v1beta1.abci_pb2 import TxResponse
from v4_proto.dydxprotocol.clob.order_pb2 import Order
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgCancelOrder, MsgPlaceOrder

from streams.execution.live_broker import BrokerSetupError, LiveBroker, _CallDetails, _Deadline
from streams.execution.networks import local_network
from streams.execution.reconcile import VenuePosition
from streams.execution.secrets import Secret
from streams.kernel.orders import CancelIntent, OrderIntent, OrderUpdate, StopIntent
from streams.market import events as ev
from streams.market.state import BookTop
from tests.execution.test_live_broker_orders import BTC, ETH
from tests.support.dydx_node import Account, NodeStandIn, throwaway_mnemonic

D = Decimal
HEIGHT = 66_624_085
CHAIN_ID = "localdydxprotocol"
T = 1_765_210_000.0


@pytest.fixture
def words() -> str:
    return throwaway_mnemonic()


@pytest.fixture
def wallet(words) -> Wallet:
    return Wallet(KeyPair.from_mnemonic(words), 0, 0)


@pytest.fixture
def node(wallet):
    standin = NodeStandIn(height=HEIGHT, accounts={wallet.address: Account(number=42, sequence=7)}).start()
    yield standin
    standin.stop()


@pytest.fixture
def network(node):
    network = local_network(node.url)
    yield network
    network.node.channel.close()


@pytest.fixture
async def broker(network, words):
    broker = await LiveBroker.connect(network, Secret(words), deadline=5.0)
    broker.on_market(perpetual_market(BTC))
    broker.on_market(perpetual_market(ETH))
    yield broker
    await broker.close()


@pytest.fixture
def seen(broker) -> list:
    events: list = []
    broker.events.subscribe(events.append)
    return events


def perpetual_market(entry: dict) -> ev.PerpetualMarket:
    return msgspec.convert(entry, ev.PerpetualMarket, strict=False)


def intent(**fields) -> OrderIntent:
    return OrderIntent(**{"t": T, "market": "BTC-USD", "side": "BUY", "size": D("0.0003"), "price": D("89919"),
                          "client_id": 7, **fields})


def book(market: str = "BTC-USD", bid: str = "89946", ask: str = "89947") -> BookTop:
    return BookTop(t=T, market=market, bids=((D(bid), D("1")),), asks=((D(ask), D("1")),), mid=None,
                   spread=None, imbalance=None)


def indexer_order(client_id: int, status: str = "BEST_EFFORT_OPENED", flags: str = "0") -> ev.ChannelData:
    order = ev.Order(id=f"uuid-{client_id}-{flags}", status=status, clientId=str(client_id), clobPairId="0",
                     orderFlags=flags, ticker="BTC-USD", size=D("0.0003"), totalFilled=D("0"))
    return ev.ChannelData(connection_id="c", message_id=1, channel="v4_subaccounts", id="a/0",
                          contents=ev.SubaccountUpdate(orders=[order], blockHeight=str(HEIGHT + 1)), t=T + 1)


async def test_short_term_limit_order_is_signed_and_broadcast(broker, node, seen, wallet):
    broker.submit(intent(post_only=True))
    await broker.settled()

    assert seen == [OrderUpdate(T, 7, "BTC-USD", "PLACED",
                                reason=f"BUY 0.0003 @ 89919 POST_ONLY, good til block {HEIGHT + 20}",
                                good_til_block=HEIGHT + 20)]
    [tx] = node.sent
    [message] = tx.messages
    assert isinstance(message, MsgPlaceOrder)
    order = message.order
    assert order.order_id.subaccount_id.owner == wallet.address and order.order_id.subaccount_id.number == 0
    assert (order.order_id.client_id, order.order_id.clob_pair_id, order.order_id.order_flags) == (7, 0, 0)
    assert (order.side, order.quantums, order.subticks) == (Order.Side.SIDE_BUY, 3_000_000, 8_991_900_000)
    assert order.good_til_block == HEIGHT + 20 and not order.reduce_only
    assert order.time_in_force == Order.TimeInForce.TIME_IN_FORCE_POST_ONLY
    assert tx.public_key == wallet.key.public_key_bytes
    assert tx.signature_valid(CHAIN_ID, 42, wallet.key.public_key_bytes)
    assert not tx.signature_valid(CHAIN_ID, 43, wallet.key.public_key_bytes)  # bound to the account number
    assert not tx.signature_valid("dydx-testnet-4", 42, wallet.key.public_key_bytes)  # and to the chain


async def test_market_order_is_a_reduce_only_ioc_bounded_by_slippage_off_the_book(broker, node, seen):
    broker.on_book(book(ask="89947"))
    broker.submit(intent(kind="MARKET", price=None, reduce_only=True, max_slippage=D("0.005")))
    await broker.settled()

    order = node.sent[0].messages[0].order
    assert order.time_in_force == Order.TimeInForce.TIME_IN_FORCE_IOC and order.reduce_only
    assert order.subticks == 9_039_600_000  # 89947 * 1.005, rounded down to the 1 USD tick
    assert seen[0].reason == f"BUY 0.0003 @ 90396 IOC reduce-only, good til block {HEIGHT + 20}"


async def test_market_sell_uses_the_best_bid(broker, node):
    broker.on_book(book(bid="89946"))
    broker.submit(intent(kind="MARKET", side="SELL", price=None, max_slippage=D("0.01")))
    await broker.settled()
    assert node.sent[0].messages[0].order.subticks == 8_904_700_000  # 89946 * 0.99 = 89046.54 -> 89047


async def test_long_term_orders_take_consecutive_sequences_short_term_ones_none(broker, node, seen, wallet):
    broker.submit(intent(client_id=1, short_term=False, good_til_seconds=600))
    broker.submit(intent(client_id=2, short_term=False, good_til_seconds=600))
    broker.submit(intent(client_id=3))
    await broker.settled()

    assert [u.status for u in seen] == ["PLACED"] * 3
    assert [tx.sequence for tx in node.sent] == [7, 8, 9]
    assert node.accounts[wallet.address].sequence == 9  # the short-term order did not consume one
    long = node.sent[0].messages[0].order
    assert long.order_id.order_flags == 64 and long.good_til_block_time == int(T) + 600
    assert seen[0].reason == f"BUY 0.0003 @ 89919 GTT, good til time {int(T) + 600}"
    assert all(tx.signature_valid(CHAIN_ID, 42, wallet.key.public_key_bytes) for tx in node.sent)


async def test_a_sequence_used_elsewhere_is_rejected_once_then_re_read(broker, node, seen, wallet):
    node.accounts[wallet.address].sequence = 12  # another client sent two transactions meanwhile
    broker.submit(intent(client_id=1, short_term=False))
    broker.submit(intent(client_id=2, short_term=False))
    await broker.settled()

    assert seen[0].status == "REJECTED"
    assert seen[0].reason == "sdk error 32: account sequence mismatch, expected 12, got 7: incorrect account sequence"
    assert seen[1].status == "PLACED" and node.sent[1].sequence == 12


async def test_a_non_zero_tx_code_rejects_and_frees_the_client_id(broker, node, seen):
    node.answers.append(TxResponse(code=2005, codespace="clob", raw_log="isolated position conflict"))
    broker.submit(intent())
    await broker.settled()
    broker.submit(intent())
    await broker.settled()
    assert [(u.status, u.reason) for u in seen] == [
        ("REJECTED", "clob error 2005: isolated position conflict"),
        ("PLACED", f"BUY 0.0003 @ 89919 GTT, good til block {HEIGHT + 20}"),
    ]


async def test_a_grpc_error_rejects(broker, node, seen):
    node.answers.append(grpc.StatusCode.UNAVAILABLE)
    broker.submit(intent())
    await broker.settled()
    assert seen == [OrderUpdate(T, 7, "BTC-USD", "REJECTED", reason="node gRPC UNAVAILABLE: stand-in told to fail")]
    assert broker._reconciler.find(7) is None  # nothing reached the chain: the client id is free again


async def test_an_unreachable_node_rejects_without_broadcasting(broker, node, seen):
    node.stop()
    broker.submit(intent())
    await broker.settled()
    assert seen[0].status == "REJECTED" and seen[0].reason.startswith("node gRPC UNAVAILABLE")
    assert node.broadcasts == []


async def test_a_node_that_does_not_answer_in_time_leaves_the_order_to_the_indexer(network, node, words):
    broker = await LiveBroker.connect(network, Secret(words), deadline=0.2)
    broker.on_market(perpetual_market(BTC))
    seen: list = []
    broker.events.subscribe(seen.append)
    node.stall = True
    broker.submit(intent())
    await broker.settled()
    assert seen[0].status == "REJECTED"
    assert seen[0].reason.startswith("node gRPC DEADLINE_EXCEEDED") and "it may still reach the chain" in seen[0].reason

    broker.on_account(indexer_order(7))  # it did reach the chain: attributed to us, not reported as foreign
    assert seen[1] == OrderUpdate(T + 1, 7, "BTC-USD", "OPEN", reason="best effort", good_til_block=HEIGHT + 20)
    node.release.set()
    await broker.close()


async def test_refusals_before_anything_is_sent(broker, node, seen):
    broker.submit(intent(market="DOGE-USD"))
    broker.submit(intent(kind="MARKET", price=None))
    broker.submit(intent(size=D("0.00001")))
    await broker.settled()
    assert [u.reason for u in seen] == [
        "no market parameters for DOGE-USD yet",
        "no book price for BTC-USD to bound a market order",
        "size 0.00001 is below the minimum order size 0.0001 of BTC-USD",
    ]
    assert {u.status for u in seen} == {"REJECTED"} and node.broadcasts == []


async def test_a_client_id_in_flight_or_open_is_refused(broker, node, seen):
    broker.submit(intent(side="SELL", price=D("90000")))
    broker.submit(intent())
    await broker.settled()
    assert [u.status for u in seen] == ["REJECTED", "PLACED"]
    assert seen[0].reason == "client id 7 belongs to an order still open or in flight"
    assert seen[1].reason.startswith("SELL 0.0003 @ 90000 GTT")  # plain digits, never 9E+4
    assert len(node.broadcasts) == 1


async def test_cancel_a_short_term_order(broker, node, seen, wallet):
    broker.submit(intent())
    await broker.settled()
    node.height += 3
    broker.cancel(CancelIntent(t=T + 2, client_id=7))
    await broker.settled()

    cancel = node.sent[1].messages[0]
    assert isinstance(cancel, MsgCancelOrder)
    assert cancel.order_id == node.sent[0].messages[0].order.order_id
    assert cancel.good_til_block == HEIGHT + 3 + 20  # as long as allowed: covers the order's own window
    assert node.sent[1].signature_valid(CHAIN_ID, 42, wallet.key.public_key_bytes)
    assert [u.status for u in seen] == ["PLACED"]  # the indexer, not the broker, says when it is canceled


async def test_cancel_a_long_term_order_until_its_own_expiry(broker, node, wallet):
    broker.submit(intent(short_term=False, good_til_seconds=900))
    await broker.settled()
    broker.cancel(CancelIntent(t=T + 2, client_id=7))
    await broker.settled()

    cancel = node.sent[1].messages[0]
    assert cancel.order_id.order_flags == 64 and cancel.good_til_block_time == int(T) + 900
    assert [tx.sequence for tx in node.sent] == [7, 8]


async def test_cancel_all_or_all_of_one_market(broker, node, seen):
    broker.submit(intent(client_id=1))
    broker.submit(intent(client_id=2, market="ETH-USD", size=D("0.01"), price=D("3100")))
    await broker.settled()
    broker.cancel(CancelIntent(t=T + 1, market="ETH-USD"))
    await broker.settled()
    assert [tx.order_id.client_id for tx in node.sent[2:]] == [2]
    broker.cancel(CancelIntent(t=T + 2))
    await broker.settled()
    assert sorted(tx.order_id.client_id for tx in node.sent[3:]) == [1, 2]


async def test_cancel_of_an_unknown_order_is_refused(broker, node, seen):
    broker.cancel(CancelIntent(t=T, client_id=99, market="BTC-USD"))
    await broker.settled()
    assert seen == [OrderUpdate(T, 99, "BTC-USD", "REJECTED", reason="cancel: no open order with client id 99")]
    assert node.broadcasts == []


async def test_a_failed_cancel_keeps_the_order_status(broker, node, seen):
    broker.submit(intent())
    await broker.settled()
    broker.on_account(indexer_order(7))
    node.answers.append(TxResponse(code=3006, codespace="clob", raw_log="order to cancel does not exist"))
    broker.cancel(CancelIntent(t=T + 2, client_id=7))
    await broker.settled()
    assert seen[-1] == OrderUpdate(T + 2, 7, "BTC-USD", "OPEN", reason="cancel failed: clob error 3006: order "
                                                                    "to cancel does not exist")


async def test_a_cancel_of_an_order_the_indexer_knows_but_the_broker_did_not_send(broker, node):
    broker.on_account(indexer_order(555, status="OPEN"))
    broker.cancel(CancelIntent(t=T + 2, client_id=555))
    await broker.settled()
    assert node.sent[0].order_id.client_id == 555 and node.sent[0].order_id.order_flags == 0


async def test_bind_follows_markets_books_and_the_account(broker, node, seen):
    broker._markets.clear()
    markets, books, account = Subject(), Subject(), Subject()
    binding = broker.bind(markets=markets, books=books, account=account)
    markets.on_next(perpetual_market(BTC))
    books.on_next(book())
    broker.submit(intent(kind="MARKET", price=None))
    await broker.settled()
    account.on_next(indexer_order(7))
    assert [u.status for u in seen] == ["PLACED", "OPEN"]
    binding.dispose()
    account.on_next(indexer_order(7, status="FILLED"))
    assert len(seen) == 2


async def test_an_account_the_chain_does_not_know_cannot_start(network):
    with pytest.raises(BrokerSetupError, match=r"cannot read account dydx1\w+ on localdydxprotocol: node gRPC "
                                               r"NOT_FOUND: account dydx1\w+ not found \(fund it first"):
        await LiveBroker.connect(network, Secret(throwaway_mnemonic()))


async def test_the_mnemonic_never_leaks(network, node, words, caplog):
    caplog.set_level(logging.DEBUG)
    broker = await LiveBroker.connect(network, Secret(words))
    broker.on_market(perpetual_market(BTC))
    seen: list = []
    broker.events.subscribe(seen.append)
    node.answers.extend([grpc.StatusCode.INTERNAL, TxResponse(code=1, raw_log="boom")])
    for client_id in (1, 2, 3):
        broker.submit(intent(client_id=client_id))
    broker.submit(intent(client_id=4, size=D("0")))
    broker.cancel(CancelIntent(t=T, client_id=3))
    await broker.settled()
    await broker.close()

    bad = words.split()
    bad[-1] = next(w for w in ("zoo", "abandon", "ability") if w != bad[-1])  # breaks the checksum
    with pytest.raises(BrokerSetupError) as refused:
        await LiveBroker.connect(network, Secret(" ".join(bad)))
    error = refused.value
    texts = [caplog.text, repr(broker), repr(vars(broker)), repr(seen), str(Secret(words)), repr(Secret(words)),
             f"{Secret(words)}", str(error), repr(error), "".join(traceback.format_exception(error))]
    assert {u.status for u in seen} >= {"PLACED", "REJECTED"} and "order 1 on BTC-USD rejected" in caplog.text
    for text in texts:
        assert words not in text and " ".join(bad) not in text
        assert " ".join(words.split()[:3]) not in text
    assert error.__cause__ is None and error.__context__ is None
    key = KeyPair.from_mnemonic(words).key.secret
    assert all(words.encode() not in tx and key not in tx for tx in node.broadcasts)


async def test_positions_come_on_their_own_stream(broker, seen):
    positions: list = []
    broker.positions.subscribe(positions.append)
    held = ev.PerpetualPosition(market="BTC-USD", status="OPEN", side="LONG", size=D("0.0003"), entryPrice=D("89919"))
    broker.on_account(ev.ChannelData(connection_id="c", message_id=2, channel="v4_subaccounts", id="a/0",
                                     contents=ev.SubaccountUpdate(perpetualPositions=[held]), t=T + 3))
    assert positions == [VenuePosition(T + 3, "BTC-USD", D("0.0003"), "OPEN", D("89919"))] and seen == []


async def test_an_indexer_confirmation_before_the_node_answers_leaves_no_placed_update(broker, seen):
    broker.submit(intent())
    broker.on_account(indexer_order(7))  # the submit's task has not run yet: the order is still in flight
    await broker.settled()
    assert [u.status for u in seen] == ["OPEN"]


async def test_a_cancel_that_cannot_be_expressed_is_reported(broker, node, seen):
    long_term = indexer_order(556, status="OPEN", flags="64")  # no goodTilBlockTime in this update
    broker.on_account(long_term)
    broker.cancel(CancelIntent(t=T + 2, client_id=556))
    await broker.settled()
    assert seen[-1] == OrderUpdate(T + 2, 556, "BTC-USD", "OPEN", reason=(
        "cancel failed: InvalidOrderError: long-term order 556 has no known good-til-block-time to cancel with"))
    assert node.broadcasts == []


def test_a_deadline_set_by_the_caller_is_kept():
    details = _CallDetails("/cosmos.tx.v1beta1.Service/BroadcastTx", 1.5, None, None, None, None)
    assert _Deadline(10.0).intercept_unary_unary(lambda d, request: d, details, object()).timeout == 1.5


async def test_a_mainnet_chain_is_announced_loudly(network, node, words, caplog):
    mainnet = replace(network, node=replace(network.node, chain_id="dydx-mainnet-1"))
    broker = await LiveBroker.connect(mainnet, Secret(words))
    await broker.close()
    assert "the live broker trades real money on dydx-mainnet-1" in caplog.text


# -- the venue's limits, checked by the stand-in as the chain checks them ----------------------------


@pytest.mark.parametrize("window", [20, 40])  # the chain's ShortBlockWindow before and after PR #3226
async def test_short_term_orders_and_cancels_are_accepted_by_either_window(network, node, words, window):
    node.short_block_window = window
    broker = await LiveBroker.connect(network, Secret(words), deadline=5.0)
    broker.on_market(perpetual_market(BTC))
    seen: list = []
    broker.events.subscribe(seen.append)
    broker.submit(intent(good_til_blocks=20))
    await broker.settled()
    broker.cancel(CancelIntent(t=T, client_id=7))
    await broker.settled()
    await broker.close()

    assert [u.status for u in seen] == ["PLACED"] and not node.answers
    place, cancel = (tx.messages[0] for tx in node.sent)
    assert place.order.good_til_block == cancel.good_til_block == HEIGHT + 20


async def test_stateful_orders_over_the_block_rate_limit_are_refused_before_the_chain(broker, node, seen):
    for client_id in (1, 2, 3):
        broker.submit(intent(client_id=client_id, short_term=False))
    await broker.settled()

    assert [(u.client_id, u.status) for u in seen] == [(1, "PLACED"), (2, "PLACED"), (3, "REJECTED")]
    assert seen[2].reason == ("block rate limit: 2 stateful orders in the last 1 block(s), the chain allows 2; "
                              f"not sent (possible again at block {HEIGHT + 1})")
    assert len(node.sent) == 2  # the third never reached the chain, which would have refused it (5001)
    node.height += 1
    broker.submit(intent(client_id=3, short_term=False))  # the refused client id is free again
    await broker.settled()
    assert seen[-1].status == "PLACED" and len(node.sent) == 3


async def test_the_chain_s_own_limits_are_kept_when_it_reports_them(network, node, words):
    node.rate_limits.max_stateful_orders_per_n_blocks[0].limit = 1
    broker = await LiveBroker.connect(network, Secret(words), deadline=5.0)
    broker.on_market(perpetual_market(BTC))
    seen: list = []
    broker.events.subscribe(seen.append)
    broker.submit(intent(client_id=1, short_term=False))
    broker.submit(intent(client_id=2, short_term=False))
    await broker.settled()
    await broker.close()
    assert [u.status for u in seen] == ["PLACED", "REJECTED"] and len(node.sent) == 1


async def test_a_node_without_the_rate_limit_query_leaves_mainnet_s_limits(network, node, words, caplog):
    node.rate_limits = None
    caplog.set_level(logging.WARNING)
    broker = await LiveBroker.connect(network, Secret(words), deadline=5.0)
    broker.on_market(perpetual_market(BTC))
    seen: list = []
    broker.events.subscribe(seen.append)
    for client_id in (1, 2, 3):
        broker.submit(intent(client_id=client_id, short_term=False))
    await broker.settled()
    await broker.close()
    assert [u.status for u in seen] == ["PLACED", "PLACED", "REJECTED"]
    assert "block rate limits not read from the node (node gRPC UNIMPLEMENTED" in caplog.text


# -- protective stops -------------------------------------------------------------------------------


async def test_a_protective_stop_goes_on_chain_as_a_conditional_reduce_only_stop_loss(broker, node, seen, wallet):
    stop = StopIntent(t=T, market="BTC-USD", side="SELL", size=D("0.0003"), trigger_price=D("85000.4"),
                      client_id=3 << 30, good_til_seconds=86_400, max_slippage=D("0.05"))
    broker.submit(stop)
    await broker.settled()

    (placed,) = seen
    assert placed.status == "PLACED"
    assert placed.reason == f"SELL 0.0003 @ 80751 IOC reduce-only stop at 85001, good til time {int(T) + 86_400}"
    (tx,) = node.sent
    order = tx.messages[0].order
    assert order.order_id.order_flags == 32 and order.order_id.client_id == 3 << 30
    assert order.condition_type == Order.ConditionType.CONDITION_TYPE_STOP_LOSS
    assert order.conditional_order_trigger_subticks == 8_500_100_000  # up to the tick: it fires no later
    assert order.subticks == 8_075_100_000  # 85 000.4 · 0.95 = 80 750.38, up to the tick: no worse a fill
    assert order.reduce_only and order.time_in_force == Order.TimeInForce.TIME_IN_FORCE_IOC
    assert order.good_til_block_time == int(T) + 86_400 and tx.sequence == 7  # stateful: it takes a sequence
    broker.cancel(CancelIntent(t=T, client_id=3 << 30))
    await broker.settled()
    assert node.sent[1].messages[0].good_til_block_time == int(T) + 86_400


async def test_a_stop_already_resting_on_the_venue_is_not_sent_again(broker, node, seen):
    """After a restart the reconciler knows the resting stop from the snapshot; the same stop again is
    the same order: nothing is broadcast, and it is reported as it stands."""
    resting = indexer_order(3 << 30, status="UNTRIGGERED", flags="32")
    broker.on_account(resting)
    stop = StopIntent(t=T, market="BTC-USD", side="SELL", size=D("0.0003"), trigger_price=D("85000"),
                      client_id=3 << 30)
    broker.submit(stop)
    await broker.settled()
    assert node.sent == []
    assert seen[-1] == OrderUpdate(T, 3 << 30, "BTC-USD", "OPEN", reason="protective stop already on the venue")
