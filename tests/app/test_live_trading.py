"""Live trading end to end, offline: `dydx-bot --no-ui --live --broker live` against the loopback indexer
(the replay server) and the loopback node stand-in, with a throwaway wallet.

The recording (`tests/support/trading_session.py`) is what the indexer sends that wallet's bot in ten
minutes of SYNTHETIC ETH-USD traffic, with the v4_subaccounts answers to the orders the bot's own graph
sent while it was written. A live run must send exactly those orders as signed transactions, reconcile
the answers into order updates and fills, and value its margin on the subaccount, never on the paper
account. The runs end as a user ends them, with SIGINT, once the indexer closed the session: the server
then has sent every message, and the risk line for the lost connection is the last thing it causes.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from v4_proto.dydxprotocol.clob.order_pb2 import Order
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder

from app import jsonl
from app.cli import main
from app.headless import HeadlessOptions, run_headless
from app.trading import LiveTrading
from streams.execution.networks import MAINNET_CONFIRMATION, NetworkRefusedError
from streams.sources.live import LiveConfig
from streams.sources.recording import RestExchange, WsMessage, open_recording
from streams.sources.subscriptions import Request
from tests.support.dydx_node import NodeStandIn, SentTx
from tests.support.live_scenario import ACCOUNT_NUMBER, CHAIN_ID, indexer_and_node
from tests.support.processes import CHILD_TIMEOUT, Child, app_argv
from tests.support.trading_session import ETH_USD, HEIGHT, MARKET, USDC, Placed
from tools.synthetic import Update, batched

GUARD = 120.0  # seconds: a hang guard, never a measurement


@dataclass(frozen=True)
class Run:
    lines: list[dict[str, Any]]
    stdout: str
    stderr: str
    logs: str  # every record logged at any level
    sent: list[SentTx]  # by the node stand-in, in order

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["kind"] == kind]


def session_ended(line: dict[str, Any]) -> bool:
    return line["kind"] == "risk" and "end of recording" in line["reason"]


class InterruptWhen(io.BytesIO):
    """The headless runner's stdout: once a printed line satisfies `done`, SIGINT (the user's Ctrl-C)."""

    def __init__(self, done: Callable[[dict[str, Any]], bool]) -> None:
        super().__init__()
        self.done = done

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.done(json.loads(data)):
            os.kill(os.getpid(), signal.SIGINT)
        return super().write(data)


@contextlib.contextmanager
def hang_guard(interrupt: Callable[[], None]) -> Iterator[None]:
    timer = threading.Timer(GUARD, interrupt)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.fixture(scope="module")
def live_run(session, wallet, words) -> Run:
    """The headless live path in-process: `run_headless` as `dydx-bot --no-ui --live --broker live` calls it."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    out, err = InterruptWhen(session_ended), io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as env, indexer_and_node(session, wallet) as (endpoints, node):
            env.setenv("DYDX_MNEMONIC", words)
            trading = LiveTrading.choose(mainnet=False, node_url=node.url, subaccount=0)
            options = HeadlessOptions(config=session.config, live=LiveConfig(endpoints, (MARKET,)),
                                      trading=trading, out=out, err=err)
            with hang_guard(lambda: os.kill(os.getpid(), signal.SIGINT)):
                assert run_headless(options) == 0
            sent = node.sent
    finally:
        root.removeHandler(handler)
        root.level = level
    stdout, logs = out.getvalue().decode(), "\n".join(record.getMessage() for record in records)
    return Run([json.loads(line) for line in stdout.splitlines()], stdout, err.getvalue(), logs, sent)


def sim_intent(placed: Placed) -> dict[str, Any]:
    """The intent the venue answered, as the runner prints it, without its (receive) time."""
    return without_time(json.loads(jsonl.line("intent", placed.intent)))


def without_time(line: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in line.items() if key != "t"}


def equity_before(placed: Placed) -> Decimal:
    """The subaccount's equity before the fill, at the oracle price then."""
    held = placed.before.positions.get(MARKET)
    return placed.before.usdc + (held.size * placed.oracle if held else 0)


# ---------------------------------------------------------------------------------------------------
# The session


def test_the_recording_answers_exactly_what_the_live_source_asks(session, wallet):
    plan = LiveConfig(markets=(MARKET,), address=wallet.address, subaccount_number=0)
    entries = list(open_recording(session.recording).entries())
    assert [e.path for e in entries if isinstance(e, RestExchange)] == [call.target for call in plan.rest_calls()]
    asked = [json.loads(e.data) for e in entries if isinstance(e, WsMessage) and e.from_client]
    assert asked == [json.loads(Request("subscribe", sub).payload) for sub in plan.subscriptions()]
    assert asked[-2:] == [{"type": "subscribe", "channel": "v4_subaccounts", "id": f"{wallet.address}/0"},
                          {"type": "subscribe", "channel": "v4_block_height", "batched": True}]
    answers = [json.loads(e.data) for e in entries if isinstance(e, WsMessage) and not e.from_client
               and b'"v4_subaccounts"' in e.data]
    assert [a["type"] for a in answers] == ["subscribed"] + ["channel_data"] * 2 * len(session.placed)


def test_the_session_trades_in_both_directions(session):
    # what the other tests rely on: a tape that makes the bot open, add to, reduce and flip positions
    sides = {p.intent.side for p in session.placed}
    assert len(session.placed) >= 6 and sides == {"BUY", "SELL"}
    assert any(p.intent.reduce_only for p in session.placed) and not all(p.intent.reduce_only for p in session.placed)
    assert [p.intent.client_id for p in session.placed] == list(range(1, len(session.placed) + 1))
    assert session.venue.cancels == []  # the risk ladder stayed NORMAL throughout


def test_unbatched_updates_go_out_alone_between_batches():
    def update(t: float, channel: str, n: int) -> Update:
        return Update(t, channel, "x", {"n": n})

    updates = [update(0.0, "v4_trades", 1), update(0.1, "v4_subaccounts", 2), update(0.2, "v4_trades", 3),
               update(0.3, "v4_trades", 4), update(0.3, "v4_subaccounts", 5)]
    assert list(batched(updates, {("v4_subaccounts", "x")})) == [
        (0.1, "v4_subaccounts", "x", [{"n": 2}]),
        (0.25, "v4_trades", "x", [{"n": 1}, {"n": 3}]),
        (0.3, "v4_subaccounts", "x", [{"n": 5}]),
        (0.5, "v4_trades", "x", [{"n": 4}]),
    ]


# ---------------------------------------------------------------------------------------------------
# The live run


def test_live_sends_exactly_the_intents_the_venue_answered(live_run, session):
    assert [without_time(line) for line in live_run.of("intent")] == [sim_intent(p) for p in session.placed]
    assert live_run.of("blocked") == []


def test_each_intent_is_one_signed_short_term_order_on_the_node(live_run, session, wallet):
    assert len(live_run.sent) == len(session.placed)
    step, tick = int(ETH_USD["stepBaseQuantums"]), int(ETH_USD["subticksPerTick"])
    for tx, placed in zip(live_run.sent, session.placed, strict=False):
        intent = placed.intent
        [message] = tx.messages
        assert isinstance(message, MsgPlaceOrder)
        assert tx.signature_valid(CHAIN_ID, ACCOUNT_NUMBER, wallet.key.public_key_bytes)
        order = message.order
        owner = order.order_id.subaccount_id
        assert (owner.owner, owner.number) == (wallet.address, 0)
        assert order.order_id.client_id == intent.client_id
        assert order.order_id.clob_pair_id == int(ETH_USD["clobPairId"])
        assert order.order_id.order_flags == 0  # short-term
        assert 0 < order.good_til_block - HEIGHT <= 20
        assert order.side == (Order.Side.SIDE_BUY if intent.side == "BUY" else Order.Side.SIDE_SELL)
        assert order.time_in_force == Order.TimeInForce.TIME_IN_FORCE_IOC  # a market order
        assert order.reduce_only == intent.reduce_only
        # size in base quantums (atomicResolution -9), whole steps
        assert order.quantums == int(intent.size.scaleb(9)) and order.quantums % step == 0
        # the IOC limit: max_slippage past the best opposite price of the book the intent was made on,
        # in subticks (price * 10^(atomicResolution - quantumConversionExponent + 6)), whole ticks
        assert order.subticks == int(placed.limit.scaleb(6)) and order.subticks % tick == 0
        best = placed.top.asks[0][0] if intent.side == "BUY" else placed.top.bids[0][0]
        assert abs(placed.limit - best) <= best * intent.max_slippage


def test_order_updates_and_fills_are_reconciled_from_the_subaccount_messages(live_run, session):
    for placed in session.placed:
        client_id = placed.intent.client_id
        # PLACED (the node's answer) comes only if the node answered before the indexer showed the order
        statuses = [(u["status"], Decimal(u["filled"])) for u in live_run.of("order")
                    if u["client_id"] == client_id and u["status"] != "PLACED"]
        assert statuses == [("OPEN", 0), ("FILLED", placed.intent.size)]
        [fill] = [f for f in live_run.of("fill") if f["client_id"] == client_id]
        assert (fill["market"], fill["side"], fill["liquidity"], fill["fill_kind"]) == (
            MARKET, placed.intent.side, "TAKER", "TRADE")
        assert (Decimal(fill["size"]), Decimal(fill["price"]), Decimal(fill["fee"])) == (
            placed.intent.size, placed.price, placed.fee)
    assert not any(u["status"] == "REJECTED" for u in live_run.of("order"))


def test_margin_is_valued_on_the_subaccount_not_the_paper_account(live_run, session):
    # the config gives the paper account 1 USDC: with it, no order would be worth sending
    assert session.config.paper.starting_usdc == 1 and live_run.of("intent")
    for intent, placed in zip(live_run.of("intent"), session.placed, strict=False):
        after = intent["what_if"]  # the account after a fill at the oracle price, which keeps its equity
        usage, free = Decimal(after["margin_usage"]), Decimal(after["free_collateral"])
        assert abs(free / (1 - usage) - equity_before(placed)) < Decimal("1e-9")
    assert equity_before(session.placed[0]) == USDC  # the REST body's and the snapshot's 10 000 USDC
    assert abs(session.placed[-1].after.usdc - USDC) > 10, "the fills moved the balance far from the start"


def test_the_funding_each_fill_settled_is_in_the_session_s_pnl_once(live_run, session):
    settled = sum((placed.funding for placed in session.placed), Decimal(0))
    assert settled  # with a positive rate, the longs of the rally paid and the shorts of the sell-off received
    summary = live_run.lines[-1]
    assert Decimal(summary["funding"]) == settled
    net = Decimal(summary["realized_pnl"]) + Decimal(summary["unrealized_pnl"]) - Decimal(summary["fees"]) + settled
    assert Decimal(summary["net_pnl"]) == net
    assert abs(Decimal(summary["equity"]) - Decimal(summary["start_equity"]) - net) < Decimal("1e-9")


def test_the_run_ends_on_sigint_with_a_summary(live_run, session):
    summary = live_run.lines[-1]
    assert summary["kind"] == "summary" and summary["stopped"] == "SIGINT"
    served = sum(1 for e in open_recording(session.recording).entries() if isinstance(e, WsMessage)
                 and not e.from_client)
    assert summary["frames"] > served  # every message, the REST answers and the source's statuses
    assert "stopped: SIGINT" in live_run.stderr


def test_the_mnemonic_is_nowhere_the_address_is_said(live_run, words, wallet):
    assert f"live trading as {wallet.address}/0 on {CHAIN_ID}" in live_run.stderr
    split = words.split()
    runs_of_three = {" ".join(split[i:i + 3]) for i in range(len(split) - 2)}
    for text in (live_run.stdout, live_run.stderr, live_run.logs):
        assert not any(run in text for run in runs_of_three)


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_the_command_line_trades_live_in_a_subprocess(session, wallet, words, tmp_path):
    with indexer_and_node(session, wallet) as (endpoints, node):
        argv = app_argv("--no-ui", "--live", "--rest-url", endpoints.rest, "--ws-url", endpoints.ws,
                        "--markets", MARKET, "--config", str(session.config_path), "--broker", "live",
                        "--node-url", node.url)
        lines = []
        with Child(argv, home=tmp_path, env={"DYDX_MNEMONIC": words}) as process:
            for raw in process.lines("stdout"):
                lines.append(json.loads(raw))
                if session_ended(lines[-1]):
                    process.send_signal(signal.SIGINT)
            err = "".join(process.said("stderr"))
            process.wait()
        sent = node.sent
    assert process.returncode == 0, err
    assert [without_time(line) for line in lines if line["kind"] == "intent"] == [
        sim_intent(p) for p in session.placed]
    assert len(sent) == len(session.placed)
    assert all(tx.signature_valid(CHAIN_ID, ACCOUNT_NUMBER, wallet.key.public_key_bytes) for tx in sent)
    assert lines[-1]["kind"] == "summary" and lines[-1]["stopped"] == "SIGINT"
    assert words not in err and all(words not in json.dumps(line) for line in lines)


# ---------------------------------------------------------------------------------------------------
# Refusals: each one clear line, no traceback


def refused(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return code, err


LIVE = ["--no-ui", "--live", "--rest-url", "http://127.0.0.1:9", "--ws-url", "ws://127.0.0.1:9/v4/ws",
        "--markets", MARKET]


@pytest.mark.parametrize(("argv", "message"), [
    (["--no-ui", "--broker", "live"], "--broker live trades on live data only: add --live"),
    ([*LIVE, "--broker", "live"], "the broker and the data must be on one network"),
    ([*LIVE, "--network", "testnet", "--broker", "live", "--mainnet"], "must be on one network"),
    ([*LIVE, "--broker", "live", "--mainnet", "--node-url", "127.0.0.1:9090"], "taken for a local dev chain"),
    # the dashboard asks for mainnet's confirmation on screen, but refuses first what nothing typed can allow
    ([*LIVE[1:], "--broker", "live", "--mainnet", "--node-url", "127.0.0.1:9090"], "taken for a local dev chain"),
])
def test_bad_live_trading_arguments_are_refused(argv, message, capsys):
    code, err = refused(argv, capsys)
    assert code == 2 and message in err


def test_mainnet_needs_the_confirmation_typed_at_a_terminal(monkeypatch, capsys):
    # even the right phrase is refused when it does not come from a person at a terminal
    monkeypatch.setattr(sys, "stdin", io.StringIO(MAINNET_CONFIRMATION + "\n"))
    code, err = refused([*LIVE, "--broker", "live", "--mainnet"], capsys)
    assert code == 2 and f"typed exactly as {MAINNET_CONFIRMATION!r}" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_mainnet_is_chosen_with_the_phrase_typed_word_for_word_at_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", Terminal("yes\n"))
    with pytest.raises(NetworkRefusedError, match="what was typed does not match"):
        LiveTrading.choose(mainnet=True, node_url=None, subaccount=0)
    monkeypatch.setattr(sys, "stdin", Terminal(MAINNET_CONFIRMATION + "\n"))
    trading = LiveTrading.choose(mainnet=True, node_url=None, subaccount=0)  # the channel connects lazily
    assert trading.network.node.chain_id == "dydx-mainnet-1"
    assert f"uses real money. Type exactly: {MAINNET_CONFIRMATION}" in capsys.readouterr().err


@pytest.fixture
def no_mnemonic(monkeypatch) -> Iterator[Callable[[KeyringBackend], None]]:
    """No `$DYDX_MNEMONIC`; call it with the keyring backend to use (the previous one comes back)."""
    monkeypatch.delenv("DYDX_MNEMONIC", raising=False)
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


@pytest.mark.parametrize(("backend", "message"), [
    (null.Keyring(), "no wallet mnemonic: set DYDX_MNEMONIC in the environment or store it with "
                     "`keyring set dydx-bot default`"),
    (fail.Keyring(), "no wallet mnemonic: the OS keyring is unavailable"),
])
def test_without_a_mnemonic_live_trading_stops_before_anything_starts(backend, message, no_mnemonic, capsys):
    no_mnemonic(backend)
    code, err = refused([*LIVE, "--network", "testnet", "--broker", "live", "--node-url", "127.0.0.1:9"], capsys)
    assert code == 1 and f"dydx-bot: live trading: {message}" in err


def test_a_bad_mnemonic_is_refused_without_repeating_it(monkeypatch, capsys):
    words = "correct horse battery staple " * 3
    monkeypatch.setenv("DYDX_MNEMONIC", words)
    code, err = refused([*LIVE, "--network", "testnet", "--broker", "live", "--node-url", "127.0.0.1:9"], capsys)
    assert code == 1 and "not a valid BIP39 phrase" in err and "horse" not in err


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_node_is_a_clear_error(words, monkeypatch, capsys):
    monkeypatch.setenv("DYDX_MNEMONIC", words)
    node_url = f"127.0.0.1:{closed_port()}"
    code, err = refused([*LIVE, "--network", "testnet", "--broker", "live", "--node-url", node_url], capsys)
    assert code == 1 and "dydx-bot: live trading: cannot read account dydx1" in err and "UNAVAILABLE" in err
    assert words not in err


def test_an_unfunded_wallet_is_told_to_fund_it(words, monkeypatch, capsys):
    monkeypatch.setenv("DYDX_MNEMONIC", words)
    node = NodeStandIn().start()  # knows no account
    try:
        code, err = refused([*LIVE, "--network", "testnet", "--broker", "live", "--node-url", node.url], capsys)
    finally:
        node.stop()
    assert code == 1 and "NOT_FOUND" in err and "fund it first" in err
