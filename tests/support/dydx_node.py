"""A loopback stand-in for a dYdX node: just the gRPC services `dydx-v4-client` calls to place and cancel
orders (auth `Account`, tendermint `GetLatestBlock`, clob `BlockRateLimitConfiguration`, tx `BroadcastTx`),
built on the generated servicers of `v4_proto`. It records every broadcast transaction, checks what the
chain checks before a block (the account sequence of stateful transactions, the good-til-block of
short-term ones against its `short_block_window`, the stateful block rate limits) with the chain's error
codes, and otherwise answers as told; helpers decode what was sent and verify its signature."""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from bip_utils import Bip39MnemonicGenerator, Bip39WordsNum
from ecdsa import SECP256k1, VerifyingKey
from ecdsa.util import sigdecode_string
from google.protobuf import any_pb2
from v4_proto.cosmos.auth.v1beta1 import query_pb2 as auth_query
from v4_proto.cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from v4_proto.cosmos.auth.v1beta1.auth_pb2 import BaseAccount
from v4_proto.cosmos.base.abci.v1beta1.abci_pb2 import TxResponse
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2 as tendermint_query
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tendermint_grpc
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import AuthInfo, SignDoc, TxBody, TxRaw
from v4_proto.dydxprotocol.clob import query_pb2 as clob_query
from v4_proto.dydxprotocol.clob import query_pb2_grpc as clob_grpc
from v4_proto.dydxprotocol.clob.block_rate_limit_config_pb2 import BlockRateLimitConfiguration, MaxPerNBlocksRateLimit
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgCancelOrder, MsgPlaceOrder
from v4_proto.tendermint.types.block_pb2 import Block
from v4_proto.tendermint.types.types_pb2 import Header

SHORT_TERM = 0


def mainnet_rate_limits() -> BlockRateLimitConfiguration:
    """As documented (docs.dydx.xyz, rate limits), and as `GET /dydxprotocol/clob/block_rate` answers."""
    return BlockRateLimitConfiguration(
        max_stateful_orders_per_n_blocks=[MaxPerNBlocksRateLimit(num_blocks=1, limit=2),
                                          MaxPerNBlocksRateLimit(num_blocks=100, limit=20)],
        max_short_term_orders_and_cancels_per_n_blocks=[MaxPerNBlocksRateLimit(num_blocks=5, limit=2000)],
    )
_MESSAGES = {"/dydxprotocol.clob.MsgPlaceOrder": MsgPlaceOrder, "/dydxprotocol.clob.MsgCancelOrder": MsgCancelOrder}


def throwaway_mnemonic() -> str:
    """A fresh random 24-word phrase: never a funded wallet's."""
    return Bip39MnemonicGenerator().FromWordsNumber(Bip39WordsNum.WORDS_NUM_24).ToStr()


@dataclass
class SentTx:
    """One broadcast transaction, decoded."""

    raw: TxRaw
    body: TxBody
    auth_info: AuthInfo
    messages: list[Any]

    @classmethod
    def decode(cls, tx_bytes: bytes) -> SentTx:
        raw = TxRaw.FromString(tx_bytes)
        body = TxBody.FromString(raw.body_bytes)
        messages = []
        for packed in body.messages:
            message = _MESSAGES[packed.type_url]()
            packed.Unpack(message)
            messages.append(message)
        return cls(raw, body, AuthInfo.FromString(raw.auth_info_bytes), messages)

    @property
    def sequence(self) -> int:
        return self.auth_info.signer_infos[0].sequence

    @property
    def public_key(self) -> bytes:
        key = PubKey()
        self.auth_info.signer_infos[0].public_key.Unpack(key)
        return key.key

    @property
    def order_id(self) -> Any:
        message = self.messages[0]
        return message.order.order_id if isinstance(message, MsgPlaceOrder) else message.order_id

    @property
    def short_term(self) -> bool:
        """Exempt from sequence checks on dYdX: a short-term order placement or cancellation."""
        return self.order_id.order_flags == SHORT_TERM

    def signature_valid(self, chain_id: str, account_number: int, public_key: bytes) -> bool:
        """Does the signature verify, over the SIGN_MODE_DIRECT sign doc, against `public_key`?"""
        doc = SignDoc(body_bytes=self.raw.body_bytes, auth_info_bytes=self.raw.auth_info_bytes,
                      chain_id=chain_id, account_number=account_number).SerializeToString()
        key = VerifyingKey.from_string(public_key, curve=SECP256k1)
        try:
            return key.verify(self.raw.signatures[0], doc, hashfunc=hashlib.sha256, sigdecode=sigdecode_string)
        except Exception:  # noqa: BLE001 - ecdsa raises BadSignatureError
            return False


@dataclass
class Account:
    number: int
    sequence: int


@dataclass
class NodeStandIn:
    """`accounts` by address; `answers` are popped one per broadcast (a `TxResponse` to return, or a
    `grpc.StatusCode` to fail with); with none queued, a broadcast is checked as the chain would and
    accepted (code 0) if it passes. While `stall` is set, broadcasts wait for `release` (a node that does
    not answer). `short_block_window` is the chain's (20, or 40 since v4-chain PR #3226); `rate_limits`
    None answers the rate-limit query UNIMPLEMENTED (an older node) and checks none."""

    height: int = 1_000
    short_block_window: int = 20
    rate_limits: BlockRateLimitConfiguration | None = field(default_factory=mainnet_rate_limits)
    accounts: dict[str, Account] = field(default_factory=dict)
    answers: deque[TxResponse | grpc.StatusCode] = field(default_factory=deque)
    broadcasts: list[bytes] = field(default_factory=list)
    stall: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    stateful_heights: list[int] = field(default_factory=list)  # the block of each stateful placement
    received: threading.Condition = field(default_factory=threading.Condition)
    """Notified at each broadcast: `wait_for_broadcasts` waits on it."""

    def __post_init__(self) -> None:
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="node-standin"))
        auth_grpc.add_QueryServicer_to_server(_Auth(self), self._server)
        tendermint_grpc.add_ServiceServicer_to_server(_Tendermint(self), self._server)
        clob_grpc.add_QueryServicer_to_server(_Clob(self), self._server)
        service_pb2_grpc.add_ServiceServicer_to_server(_Tx(self), self._server)
        self.url = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"

    def start(self) -> NodeStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.stop(grace=None)

    def wait_for_broadcasts(self, count: int, timeout: float) -> bool:
        """Until `count` transactions came, at most `timeout` seconds (a hang guard): whether they did."""
        with self.received:
            return self.received.wait_for(lambda: len(self.broadcasts) >= count, timeout)

    @property
    def sent(self) -> list[SentTx]:
        return [SentTx.decode(tx) for tx in self.broadcasts]


class _Auth(auth_grpc.QueryServicer):
    def __init__(self, node: NodeStandIn) -> None:
        self.node = node

    def Account(self, request: auth_query.QueryAccountRequest, context: grpc.ServicerContext) -> Any:  # noqa: N802
        account = self.node.accounts.get(request.address)
        if account is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"account {request.address} not found")
            raise AssertionError("unreachable: abort raises (grpc's stubs do not say it never returns)")
        packed = any_pb2.Any()
        packed.Pack(BaseAccount(address=request.address, account_number=account.number,
                                sequence=account.sequence), type_url_prefix="/")
        return auth_query.QueryAccountResponse(account=packed)


class _Tendermint(tendermint_grpc.ServiceServicer):
    def __init__(self, node: NodeStandIn) -> None:
        self.node = node

    def GetLatestBlock(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return tendermint_query.GetLatestBlockResponse(block=Block(header=Header(height=self.node.height)))


class _Clob(clob_grpc.QueryServicer):
    def __init__(self, node: NodeStandIn) -> None:
        self.node = node

    def BlockRateLimitConfiguration(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if self.node.rate_limits is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown method BlockRateLimitConfiguration")
        return clob_query.QueryBlockRateLimitConfigurationResponse(block_rate_limit_config=self.node.rate_limits)


class _Tx(service_pb2_grpc.ServiceServicer):
    def __init__(self, node: NodeStandIn) -> None:
        self.node = node

    def BroadcastTx(self, request: service_pb2.BroadcastTxRequest, context: grpc.ServicerContext) -> Any:  # noqa: N802
        node = self.node
        with node.received:
            node.broadcasts.append(request.tx_bytes)
            node.received.notify_all()
        if node.stall:
            node.release.wait()
        answer = node.answers.popleft() if node.answers else TxResponse()
        if isinstance(answer, grpc.StatusCode):
            context.abort(answer, "stand-in told to fail")
        if answer.code == 0:
            tx = SentTx.decode(request.tx_bytes)
            answer = self._check_good_til_block(tx) or self._check_rate_limit(tx) or self._check_sequence(tx)
        answer.txhash = hashlib.sha256(request.tx_bytes).hexdigest().upper()
        return service_pb2.BroadcastTxResponse(tx_response=answer)

    def _check_good_til_block(self, tx: SentTx) -> TxResponse | None:
        """x/clob `validateGoodTilBlock`, against the next block's height."""
        if not tx.short_term:
            return None
        message = tx.messages[0]
        good_til = message.order.good_til_block if isinstance(message, MsgPlaceOrder) else message.good_til_block
        next_block = self.node.height + 1
        if good_til < next_block:
            return TxResponse(code=10, codespace="clob", raw_log=(
                "The next block height is greater than the GoodTilBlock of the message"))
        if good_til > next_block + self.node.short_block_window:
            return TxResponse(code=11, codespace="clob", raw_log=(
                "The GoodTilBlock of the message is further than ShortBlockWindow blocks into the future"))
        return None

    def _check_rate_limit(self, tx: SentTx) -> TxResponse | None:
        """The stateful placement limits (attempts count whether accepted or not, as on chain)."""
        limits = self.node.rate_limits
        if tx.short_term or limits is None or not isinstance(tx.messages[0], MsgPlaceOrder):
            return None
        next_block = self.node.height + 1
        self.node.stateful_heights.append(next_block)
        for rule in limits.max_stateful_orders_per_n_blocks:
            if sum(1 for h in self.node.stateful_heights if h > next_block - rule.num_blocks) > rule.limit:
                return TxResponse(code=5001, codespace="clob", raw_log="Block rate limit exceeded")
        return None

    def _check_sequence(self, tx: SentTx) -> TxResponse:
        if tx.short_term:
            return TxResponse()
        account = self.node.accounts[tx.order_id.subaccount_id.owner]
        if tx.sequence != account.sequence:
            return TxResponse(code=32, codespace="sdk", raw_log=(
                f"account sequence mismatch, expected {account.sequence}, got {tx.sequence}: "
                "incorrect account sequence"))
        account.sequence += 1
        return TxResponse()
