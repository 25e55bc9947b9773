"""The live source end to end against the loopback replay server: recordings built with
`RecordingWriter` from real Indexer payloads (under one connection's envelope) are played to the real
`IndexerSocket` thread and `IndexerClient`. The replay server gates playback on the subscribes it
expects, so a recording that plays through proves what the source asked for as well as what it got.

Tests await the frames they expect (with a generous hang guard) instead of sleeping; replays run at
speed max and backoff delays come from an injected random source. Only the silence tests let real
time pass (a fifth of a second), because silence is what they test.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from reactivex import Observable

from streams.kernel.frames import Frame
from streams.kernel.status import SourceStatus, read_status
from streams.market import events as ev
from streams.market.parse import channel as select_channel
from streams.market.parse import parse
from streams.sources.endpoints import Endpoints
from streams.sources.live import LiveConfig, LiveSource
from streams.sources.pacing import BackoffPolicy
from streams.sources.recording_writer import RecordingWriter
from streams.sources.subscriptions import Staleness
from tests.support.builders import load_sample
from tests.support.servers import replay_server

T0 = 1_721_848_355.0  # 2024-07-24, the day of the mainnet orderbook and trades captures
CONN_A = "7ad53844-1f2c-4d86-83d1-42f6562844f3"  # the real connection of those captures
CONN_B = "796abe49-c178-417e-b3d1-7da7de91b931"  # the real connection of the DELEVERAGED trade
CONN_C = "3fcea53b-7e50-48a5-a887-e67e76a10886"  # the real connection of the batched book update
GUARD = 10.0  # seconds: a hang guard, never a measurement
CANDLES_PATH = "/v4/candles/perpetualMarkets/ETH-USD?resolution=1MIN&limit=1000"


def config(rest: str, ws: str, **options: Any) -> LiveConfig:
    """ETH-USD orderbook only, fast pacing and short backoff so tests take milliseconds."""
    settings: dict[str, Any] = dict(markets=("ETH-USD",), trades=False, candles=(), candle_history=0,
                                    subscribe_rate=100.0, reconnect=BackoffPolicy(base=0.05, cap=0.2))
    return LiveConfig(Endpoints(rest, ws), **{**settings, **options})


def subscribe(channel: str, ident: str | None = None, type: str = "subscribe") -> dict[str, Any]:
    """A request as the library's channel helpers send it."""
    return {"type": type, "channel": channel, **({"id": ident} if ident else {}),
            **({"batched": True} if type == "subscribe" else {})}


MARKETS = subscribe("v4_markets")
BOOK = subscribe("v4_orderbook", "ETH-USD")


class Recording:
    """A recording under construction: real sample payloads, re-enveloped per session."""

    def __init__(self, path: Path, samples_dir: Path) -> None:
        self.path = path
        self.samples_dir = samples_dir
        self.writer = RecordingWriter(path)
        self.t = T0
        self.sent: dict[int, list[bytes]] = {}

    def _tick(self) -> float:
        self.t += 0.01
        return self.t

    def rest(self, target: str, body: bytes, status: int = 200) -> None:
        t = self._tick()
        self.writer.add_rest(f"https://indexer.dydx.trade{target}", status, body, t, t)

    def open(self, conn: int, connection_id: str | None) -> None:
        """A session; the server greets with `connected` unless `connection_id` is None."""
        self.writer.ws_open(conn, self._tick(), "/v4/ws")
        self.sent[conn] = []
        if connection_id is not None:
            self.send(conn, {"type": "connected", "connection_id": connection_id, "message_id": 0})

    def send(self, conn: int, message: dict[str, Any] | bytes) -> bytes:
        data = message if isinstance(message, bytes) else json.dumps(message, separators=(",", ":")).encode()
        self.writer.ws_message(conn, self._tick(), from_client=False, data=data)
        self.sent[conn].append(data)
        return data

    def sample(self, conn: int, name: str, connection_id: str, message_id: int, **fields: Any) -> bytes:
        frame = load_sample(self.samples_dir, f"nautilus-2024/ws/{name}")
        frame.update(connection_id=connection_id, message_id=message_id, **fields)
        return self.send(conn, frame)

    def expect(self, conn: int, *requests: dict[str, Any]) -> None:
        for request in requests:
            self.writer.ws_message(conn, self._tick(), from_client=True, data=json.dumps(request).encode())

    def close(self, conn: int, code: int) -> None:
        self.writer.ws_close(conn, self._tick(), code, by_client=False)

    def book_session(self, conn: int, connection_id: str, first_id: int = 1) -> None:
        """connected; the markets and ETH-USD book subscribes; both snapshots and one batched update."""
        self.open(conn, connection_id)
        self.expect(conn, MARKETS, BOOK)
        self.sample(conn, "v4_markets_subscribed.json", connection_id, first_id)
        self.sample(conn, "v4_orderbook_snapshot.json", connection_id, first_id + 3)
        self.sample(conn, "v4_orderbook_batched_data.json", connection_id, first_id + 16)

    def finish(self) -> Path:
        self.writer.close(network="mainnet", upstream="https://indexer.dydx.trade",
                          provenance={"built_by": __name__, "payloads": "dydx-samples/nautilus-2024"})
        return self.path


@pytest.fixture
def recording(tmp_path: Path, samples_dir: Path) -> Recording:
    return Recording(tmp_path / "recording", samples_dir)


def collect(stream: Observable[Any]) -> list[Any]:
    seen: list[Any] = []
    stream.subscribe(seen.append)
    return seen


def events_of(source: LiveSource, channel: str | None = None, id: str | None = None) -> Observable[Any]:
    """The source's frames as typed events, as the graph parses them (of one channel, when given)."""
    events = source.frames.pipe(parse())
    return events if channel is None else events.pipe(select_channel(channel, id))


def names(events: list[Any]) -> list[str]:
    return [type(event).__name__ for event in events]


class Collected:
    """Everything a source emits, with a way to await a condition on it."""

    def __init__(self, source: LiveSource) -> None:
        self.frames: list[Frame] = []
        self.events = collect(events_of(source, "v4_orderbook", "ETH-USD"))  # first: conditions see its events
        self.completed = False
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        source.frames.subscribe(self._frame, on_completed=self._completed)

    def _frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        for condition, future in self._waiters:
            if not future.done() and condition():
                future.set_result(None)

    def _completed(self) -> None:
        self.completed = True

    async def until(self, condition: Callable[[], bool]) -> None:
        if condition():
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((condition, future))
        await asyncio.wait_for(future, GUARD)

    def ws(self) -> list[bytes]:
        return [frame.data for frame in self.frames if frame.kind == "ws"]

    def rest(self) -> list[Frame]:
        return [frame for frame in self.frames if frame.kind == "rest"]

    def statuses(self, *events: str) -> list[SourceStatus]:
        statuses = [read_status(frame) for frame in self.frames if frame.kind == "status"]
        return [status for status in statuses if not events or status.event in events]

    def received(self, data: bytes) -> Callable[[], bool]:
        return lambda: data in self.ws()

    def said(self, event: str, count: int = 1) -> Callable[[], bool]:
        return lambda: len(self.statuses(event)) >= count


# ---------------------------------------------------------------------------------------------------


async def test_recorded_frames_arrive_in_order_byte_for_byte_with_the_rest_history(recording, samples_dir):
    markets_body = json.dumps(load_sample(samples_dir, "nautilus-2025/rest/http_get_perpetual_markets.json"))
    candles_body = json.dumps(load_sample(samples_dir, "nautilus-2024/ws/v4_candles.json")["contents"])
    recording.rest("/v4/perpetualMarkets", markets_body.encode())
    recording.rest(CANDLES_PATH, candles_body.encode())
    recording.open(1, CONN_A)
    recording.expect(1, MARKETS, BOOK, subscribe("v4_trades", "ETH-USD"),
                     subscribe("v4_candles", "ETH-USD/1MIN"))
    recording.sample(1, "v4_markets_subscribed.json", CONN_A, 1)
    recording.sample(1, "v4_orderbook_snapshot.json", CONN_A, 4)  # the real frame, as captured
    recording.sample(1, "v4_trades.json", CONN_A, 5, type="subscribed")
    recording.sample(1, "v4_candles_subscribed.json", CONN_A, 6)
    recording.sample(1, "error.json", CONN_A, 6)  # error frames reuse the current id
    recording.send(1, b"<html>502 Bad Gateway</html>")  # passed on; the parser reports it
    recording.sample(1, "v4_orderbook_batched_data.json", CONN_A, 17)
    recording.sample(1, "v4_trades.json", CONN_A, 1491)  # the real frame, as captured
    recording.sample(1, "v4_candles_channel_data.json", CONN_A, 1500)
    last = recording.sample(1, "v4_markets_channel_data.json", CONN_A, 1600)
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        source = LiveSource(config(rest_url, ws_url, trades=True, candles=("1MIN",), candle_history=1000))
        collected = Collected(source)
        markets, trades = collect(events_of(source, "v4_markets")), collect(events_of(source, "v4_trades", "ETH-USD"))
        candles = collect(events_of(source, "v4_candles", "ETH-USD/1MIN"))
        events = collect(events_of(source))
        statuses = collect(source.status())
        async with source:
            await collected.until(lambda: last in collected.ws() and len(collected.rest()) == 2)

    assert collected.ws() == recording.sent[1]
    assert {frame.conn for frame in collected.frames if frame.kind == "ws"} == {1}
    ws_times = [frame.t for frame in collected.frames if frame.kind == "ws"]
    assert ws_times == sorted(ws_times)

    assert statuses == collected.statuses()
    assert [(status.event, status.connection_id) for status in statuses[:2]] == [
        ("connecting", None), ("connected", CONN_A)]
    assert [(status.channel, status.id, status.message_id) for status in collected.statuses("subscribed")] == [
        ("v4_markets", None, 1), ("v4_orderbook", "ETH-USD", 4), ("v4_trades", "ETH-USD", 5),
        ("v4_candles", "ETH-USD/1MIN", 6)]
    assert len([s for s in statuses if s.event != "tick"]) == 6  # no reconnect, resync, stale, retry or error

    snapshot, update = collected.events
    assert (snapshot.contents.bids[0].price, snapshot.contents.asks[0].price) == (
        Decimal("3393.2"), Decimal("3393.5"))
    assert len(update.contents) == 41 and update.message_id == 17
    assert names(markets) == names(trades) == names(candles) == ["Subscribed", "ChannelData"]
    problems = [event for event in events if isinstance(event, (ev.IndexerError, ev.ParseError))]
    assert [getattr(event, "message", None) or event.sample for event in problems] == [
        "Internal error, could not fetch data for subscription: v4_orderbook.", "<html>502 Bad Gateway</html>"]

    by_path = {frame.path: frame for frame in collected.rest()}
    assert set(by_path) == {"/v4/perpetualMarkets", CANDLES_PATH}
    assert all(frame.status == 200 and frame.conn == 0 for frame in by_path.values())
    assert json.loads(by_path["/v4/perpetualMarkets"].data) == json.loads(markets_body)
    assert json.loads(by_path[CANDLES_PATH].data) == json.loads(candles_body)
    [rest_candles] = [event for event in events if isinstance(event, ev.RestResponse)
                      and event.path == CANDLES_PATH]
    assert len(rest_candles.body.candles) == 1000
    assert collected.completed


@pytest.mark.parametrize("code, reason", [
    (1011, "recorded close"),  # the indexer's heartbeat timeout
    (1012, "recorded close"),  # service restart
    (1006, "WebSocketConnectionClosedException: Connection to remote host was lost."),  # dropped
])
async def test_a_server_close_mid_stream_reconnects_resubscribes_and_takes_fresh_snapshots(recording, code,
                                                                                          reason):
    recording.book_session(1, CONN_A)
    recording.close(1, code)
    recording.book_session(2, CONN_B)
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        source = LiveSource(config(rest_url, ws_url), random=lambda: 0.5)
        collected = Collected(source)
        async with source:
            await collected.until(collected.received(recording.sent[2][-1]))

    assert collected.ws() == recording.sent[1] + recording.sent[2]
    reconnecting = collected.statuses("reconnecting")
    sent_code = None if code == 1006 else code  # 1006 names a drop: no close frame carries it
    assert [(s.attempt, s.delay, s.code, s.reason) for s in reconnecting] == [(1, 0.025, sent_code, reason)]
    assert [(s.event, s.connection_id, s.attempt) for s in collected.statuses("connecting", "connected")] == [
        ("connecting", None, None), ("connected", CONN_A, None),
        ("connecting", None, 1), ("connected", CONN_B, None)]
    assert names(collected.events) == ["Subscribed", "ChannelBatchData", "Subscribed", "ChannelBatchData"]
    assert [event.connection_id for event in collected.events] == [CONN_A, CONN_A, CONN_B, CONN_B]


@pytest.mark.parametrize("connection_id, bad_id, reason", [
    (CONN_A, 17, "message_id 17 repeated"),
    (CONN_A, 9, "message_id went back from 17 to 9"),
    (CONN_B, 18, f"new connection_id {CONN_B} on an open connection (was {CONN_A})"),
])
async def test_a_message_id_repeat_or_regression_or_a_new_connection_id_resyncs_the_connection(
        recording, connection_id, bad_id, reason):
    recording.book_session(1, CONN_A)
    recording.sample(1, "v4_orderbook_batched_data.json", connection_id, bad_id)
    abandoned = recording.sample(1, "v4_orderbook_batched_data.json", CONN_A, 30)
    recording.book_session(2, CONN_C)
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        source = LiveSource(config(rest_url, ws_url), random=lambda: 0.5)
        collected = Collected(source)
        async with source:
            await collected.until(collected.received(recording.sent[2][-1]))

    # neither the repeated or stale update nor what followed on the abandoned socket reach layer 3
    assert collected.ws() == recording.sent[1][:-2] + recording.sent[2]
    assert abandoned not in collected.ws()
    [resync] = collected.statuses("resync")
    assert (resync.conn, resync.channel, resync.id, resync.message_id, resync.reason) == (
        1, "v4_orderbook", "ETH-USD", bad_id, reason)
    assert [(s.attempt, s.reason) for s in collected.statuses("reconnecting")] == [(1, reason)]
    assert [s.connection_id for s in collected.statuses("connected")] == [CONN_A, CONN_C]
    assert names(collected.events) == ["Subscribed", "ChannelBatchData", "Subscribed", "ChannelBatchData"]


@pytest.mark.parametrize("trigger", ["silence", "layer 3"])
async def test_a_silent_book_or_a_resync_request_renews_the_subscription_on_the_same_socket(recording, trigger):
    recording.book_session(1, CONN_A)
    recording.expect(1, subscribe("v4_orderbook", "ETH-USD", type="unsubscribe"), BOOK)
    recording.sample(1, "unsubscribed.json", CONN_A, 18, channel="v4_orderbook")
    fresh = recording.sample(1, "v4_orderbook_snapshot.json", CONN_A, 19)
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        staleness = Staleness(orderbook=0.2 if trigger == "silence" else None)
        source = LiveSource(config(rest_url, ws_url, staleness=staleness, check_every=0.05))
        collected = Collected(source)
        async with source:
            await collected.until(lambda: len(collected.events) == 2)
            if trigger == "layer 3":
                source.resync("v4_orderbook", "ETH-USD", "crossed book")
            await collected.until(collected.received(fresh))

    assert collected.ws() == recording.sent[1]
    if trigger == "silence":
        stale = collected.statuses("stale")[0]
        assert (stale.channel, stale.id) == ("v4_orderbook", "ETH-USD")
        assert stale.reason.startswith("silent for") and stale.reason.endswith("(limit 0.2 s)")
    else:
        [resync] = collected.statuses("resync")
        assert (resync.channel, resync.id, resync.reason) == ("v4_orderbook", "ETH-USD", "crossed book")
    assert collected.statuses("reconnecting") == []
    assert names(collected.events) == ["Subscribed", "ChannelBatchData", "Unsubscribed", "Subscribed"]


async def test_rest_429_is_retried_and_an_unrecorded_path_is_reported(recording, samples_dir):
    markets = json.dumps(load_sample(samples_dir, "nautilus-2025/rest/http_get_perpetual_markets.json")).encode()
    recording.rest("/v4/perpetualMarkets", b'{"errors":[{"msg":"Too many requests"}]}', status=429)
    recording.rest("/v4/perpetualMarkets", markets)
    recording.book_session(1, CONN_A)
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        source = LiveSource(config(rest_url, ws_url, candles=("1MIN",), candle_history=1000,
                                   rest_retry=BackoffPolicy(base=0.01, cap=0.02)), random=lambda: 0.5)
        collected = Collected(source)
        async with source:
            await collected.until(collected.said("error"))

    [retry] = collected.statuses("retry")
    assert (retry.path, retry.status, retry.attempt, retry.delay, retry.reason) == (
        "/v4/perpetualMarkets", 429, 1, 0.005, "HTTP 429")
    first, second = collected.rest()
    assert (first.path, first.status, json.loads(first.data)) == ("/v4/perpetualMarkets", 200, json.loads(markets))
    assert (second.path, second.status) == (CANDLES_PATH, 404)  # not recorded: the server's 404 body
    assert b"no recorded response" in second.data
    [error] = collected.statuses("error")
    assert (error.path, error.status, error.reason) == (CANDLES_PATH, 404, "HTTP 404")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_an_unreachable_indexer_is_retried_with_growing_backoff_and_never_ends_the_stream():
    port = closed_port()
    source = LiveSource(config(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v4/ws",
                               reconnect=BackoffPolicy(base=0.01, cap=1.0), rest_attempts=2,
                               rest_retry=BackoffPolicy(base=0.01), check_every=0.001), random=lambda: 1.0)
    collected = Collected(source)
    async with source:
        await collected.until(collected.said("reconnecting"))
        source.resync("v4_orderbook", "ETH-USD", "crossed book")  # nothing to renew while down
        await collected.until(lambda: collected.said("reconnecting", 3)() and collected.said("error")())
        assert not collected.completed

    reconnecting = collected.statuses("reconnecting")[:3]
    assert [(s.attempt, s.delay, s.code) for s in reconnecting] == [(1, 0.01, None), (2, 0.02, None),
                                                                    (3, 0.04, None)]
    assert all("ConnectionRefusedError" in s.reason for s in reconnecting)
    [retry] = collected.statuses("retry")
    [error] = collected.statuses("error")
    assert retry.reason.startswith("ConnectError") and error.reason.startswith("ConnectError")
    assert (error.path, error.status) == ("/v4/perpetualMarkets", None)
    assert collected.rest() == [] and collected.completed


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context whose certificate for 127.0.0.1 no public CA signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_tls_certificates_are_verified_for_websocket_and_rest(self_signed):
    requests: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        requests.append(request.path)
        return web.json_response({"markets": {}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed)
    await site.start()
    port = runner.addresses[0][1]
    try:
        source = LiveSource(config(f"https://127.0.0.1:{port}", f"wss://127.0.0.1:{port}/v4/ws",
                                   rest_attempts=1), random=lambda: 1.0)
        collected = Collected(source)
        async with source:
            await collected.until(lambda: collected.said("reconnecting")() and collected.said("error")())
    finally:
        await runner.cleanup()

    assert "CERTIFICATE_VERIFY_FAILED" in collected.statuses("reconnecting")[0].reason
    assert "CERTIFICATE_VERIFY_FAILED" in collected.statuses("error")[0].reason
    assert requests == [] and collected.ws() == [] and collected.rest() == []


async def test_stopping_at_once_closes_the_socket_still_connecting_and_leaves_no_thread(recording):
    recording.book_session(1, CONN_A)
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        source = LiveSource(config(rest_url, ws_url))
        collected = Collected(source)
        async with source:
            pass

    assert collected.completed and collected.ws() == []
    assert [status.event for status in collected.statuses()] == ["connecting"]
    assert [thread.name for thread in threading.enumerate() if thread.name.startswith("dydx-ws")] == []


async def test_a_server_that_never_says_connected_is_replaced(recording):
    recording.open(1, connection_id=None)  # accepts the socket, then says nothing
    recording.book_session(2, CONN_B)
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        source = LiveSource(config(rest_url, ws_url, staleness=Staleness(answer=0.1), check_every=0.02),
                            random=lambda: 0.5)
        collected = Collected(source)
        async with source:
            await collected.until(collected.received(recording.sent[2][-1]))

    assert [(s.attempt, s.reason) for s in collected.statuses("reconnecting")] == [
        (1, "no `connected` message within 0.1 s")]
    assert collected.ws() == recording.sent[2]


async def test_stopping_while_a_silent_host_holds_the_handshake_leaves_no_thread():
    """A host that accepts the TCP connection and never answers the WebSocket upgrade: the socket thread
    is blocked reading the handshake, and stopping must still end it (not leave it to a join's timeout)."""
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        source = LiveSource(config(f"http://127.0.0.1:{closed_port()}", f"ws://127.0.0.1:{port}/v4/ws",
                                   rest_attempts=1), random=lambda: 1.0)
        collected = Collected(source)
        async with source:
            await asyncio.wait_for(accepted.wait(), 10)
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    assert collected.completed and collected.ws() == []
    assert [thread.name for thread in threading.enumerate() if thread.name.startswith("dydx-ws")] == []


ADDRESS = "dydx1catchup0000000000000000000000000000000"
ACCOUNT = {"type": "subscribe", "channel": "v4_subaccounts", "id": f"{ADDRESS}/0"}  # unbatched, as the library
BLOCKS = {"type": "subscribe", "channel": "v4_block_height", "batched": True}  # followed with the account
CATCH_UP = [f"/v4/orders?address={ADDRESS}&subaccountNumber=0&limit=100&returnLatestOrders=true",
            f"/v4/fills?address={ADDRESS}&subaccountNumber=0&limit=100"]


def account_snapshot(connection_id: str, message_id: int, height: int) -> dict[str, Any]:
    subaccount = {"address": ADDRESS, "subaccountNumber": 0, "equity": "10000", "freeCollateral": "10000",
                  "openPerpetualPositions": {}, "assetPositions": {}, "marginEnabled": True}
    return {"type": "subscribed", "connection_id": connection_id, "message_id": message_id,
            "channel": "v4_subaccounts", "id": f"{ADDRESS}/0",
            "contents": {"subaccount": subaccount, "orders": [], "blockHeight": str(height)}}


@pytest.mark.parametrize("trigger", ["reconnect", "resync"])
async def test_a_fresh_snapshot_of_the_account_fetches_its_latest_orders_and_fills_but_the_first_does_not(
        tmp_path, trigger):
    recording = Recording(tmp_path / "recording", samples_dir=None)  # no samples: an account of its own
    recording.rest(CATCH_UP[0], b"[]")
    recording.rest(CATCH_UP[1], b'{"fills":[]}')
    recording.open(1, CONN_A)
    recording.expect(1, MARKETS, ACCOUNT, BLOCKS)
    recording.send(1, {"type": "subscribed", "connection_id": CONN_A, "message_id": 1, "channel": "v4_markets",
                       "contents": {"markets": {}}})
    first = recording.send(1, account_snapshot(CONN_A, 2, 100))
    if trigger == "reconnect":
        recording.close(1, 1012)
        recording.open(2, CONN_B)
        recording.expect(2, MARKETS, ACCOUNT, BLOCKS)
        again = recording.send(2, account_snapshot(CONN_B, 2, 130))
    else:
        recording.expect(1, {**ACCOUNT, "type": "unsubscribe"}, ACCOUNT)
        again = recording.send(1, account_snapshot(CONN_A, 4, 130))
    path = recording.finish()

    with replay_server(path, speed=None, idle_at_end=True) as (rest_url, ws_url):
        source = LiveSource(config(rest_url, ws_url, orderbook=False, address=ADDRESS), random=lambda: 0.5)
        collected = Collected(source)
        async with source:
            await collected.until(collected.received(first))
            if trigger == "resync":
                source.resync("v4_subaccounts", f"{ADDRESS}/0", "silent account")
            await collected.until(lambda: len([f for f in collected.rest() if f.path in CATCH_UP]) == 2)

    fetched = [frame for frame in collected.rest() if frame.path in CATCH_UP]
    assert [(frame.path, frame.status) for frame in fetched] == [(CATCH_UP[0], 200), (CATCH_UP[1], 200)]
    assert collected.frames.index(fetched[0]) > collected.frames.index(
        next(frame for frame in collected.frames if frame.data == again))
