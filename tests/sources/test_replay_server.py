"""The loopback replay server: the unmodified dYdX clients get the recorded REST bodies and WebSocket
sessions; subscribes gate playback; divergence, lateness and the end of a session close the connection
with a code and a reason that say what happened. Timing is tested on the pure schedule; the server runs
at speed max (or at a speed whose waits are milliseconds) and no assertion depends on the clock."""

from __future__ import annotations

import json
import signal
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import httpx
import pytest
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.indexer.socket.websocket import IndexerSocket
from mitmproxy import io as mitmproxy_io
from mitmproxy import websocket as mitmproxy_ws

from app.cli import main
from streams.sources.recording import RecordingError, open_recording
from streams.sources.recording_writer import RecordingWriter, make_flow
from streams.sources.replay import MAX
from streams.sources.replay_server import (
    CLOSE_DIVERGED,
    CLOSE_END,
    CLOSE_GOING_AWAY,
    CLOSE_TIMEOUT,
    MAX_REASON_BYTES,
    PING,
    Gate,
    GateTracker,
    ReplayServer,
    Schedule,
    Send,
    close_reason,
    describe,
    load_script,
    message_key,
)
from tests.support.builders import load_sample
from tests.support.processes import CHILD_TIMEOUT, Child, app_argv
from tests.support.servers import replay_server

T0 = 1_721_848_355.0  # 2024-07-24, the day of the mainnet orderbook and trades captures
INDEXER = "https://indexer.dydx.trade"
GUARD = 10.0  # seconds: a hang guard for threads and subprocesses, never a measurement


# ---------------------------------------------------------------------------------------------------
# Building recordings


class Msg(NamedTuple):
    dt: float
    from_client: bool
    data: bytes


class Close(NamedTuple):
    dt: float
    code: int | None
    by_client: bool


def wire(message: Any) -> bytes:
    """A message as the indexer sends it: compact JSON."""
    return json.dumps(message, separators=(",", ":")).encode()


def server(dt: float, message: Any) -> Msg:
    return Msg(dt, False, wire(message))


def client(dt: float, message: Any) -> Msg:
    return Msg(dt, True, wire(message))


def subscribe(channel: str, ident: str | None = None) -> dict[str, Any]:
    return {"type": "subscribe", "channel": channel, **({"id": ident} if ident else {}), "batched": True}


def frame(kind: str, message_id: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "connection_id": "c0ffee00-0000-4000-8000-000000000001", "message_id": message_id,
            **fields}


CONNECTED = frame("connected", 0)
SUB_BOOK = subscribe("v4_orderbook", "ETH-USD")
SUB_TRADES = subscribe("v4_trades", "ETH-USD")


def book_session(*tail: Msg | Close) -> list[Msg | Close]:
    """connected, the ETH-USD orderbook subscribe, its snapshot and one update, then `tail`."""
    return [server(0.01, CONNECTED), client(0.02, SUB_BOOK),
            server(0.30, frame("subscribed", 1, channel="v4_orderbook", id="ETH-USD",
                               contents={"bids": [{"price": "3393.2", "size": "7.795"}], "asks": []})),
            server(1.30, frame("channel_batch_data", 2, channel="v4_orderbook", id="ETH-USD", version="1.0.0",
                               contents=[{"bids": [["3393.2", "0"]]}])),
            *tail]


def write_recording(directory: Path, *sessions: list[Msg | Close],
                    rest: tuple[tuple[str, int, bytes], ...] = ()) -> Path:
    """A recording directory: `rest` (path, status, body) first, then each session on its own
    connection to /v4/ws, one after the other in time."""
    writer = RecordingWriter(directory)
    t = T0
    for rest_path, status, body in rest:
        t += 0.1
        writer.add_rest(INDEXER + rest_path, status, body, t - 0.05, t)
    for conn, session in enumerate(sessions, 1):
        t += 10
        writer.ws_open(conn, t, "/v4/ws")
        for item in session:
            if isinstance(item, Close):
                writer.ws_close(conn, t + item.dt, item.code, item.by_client)
            else:
                writer.ws_message(conn, t + item.dt, item.from_client, item.data)
    writer.close(network="mainnet", upstream=INDEXER, provenance={"built_by": __name__})
    return directory


def server_messages(session: list[Msg | Close]) -> list[bytes]:
    return [item.data for item in session if isinstance(item, Msg) and not item.from_client]


@pytest.fixture
def book_recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "book", book_session())


# ---------------------------------------------------------------------------------------------------
# Pure parts: schedule, matching, loading


def test_a_recorded_gap_is_scaled_by_the_speed() -> None:
    at_1 = Schedule(anchor=500.0, t_anchor=T0, speed=1.0)
    at_10 = Schedule(anchor=500.0, t_anchor=T0, speed=10.0)
    assert at_1.due(T0 + 1) == 501.0
    assert at_10.due(T0 + 1) == pytest.approx(500.1)
    assert at_10.due(T0 - 5) == 500.0  # nothing is due before the anchor


def test_at_speed_max_everything_is_due_at_once() -> None:
    schedule = Schedule(anchor=500.0, t_anchor=T0, speed=MAX)
    assert schedule.due(T0 + 3600) == 500.0
    assert schedule.reanchored(T0 + 3600, now=512.0) == Schedule(512.0, T0 + 3600, MAX)


def test_a_late_client_delays_what_follows_and_an_early_one_changes_nothing() -> None:
    schedule = Schedule(anchor=500.0, t_anchor=T0, speed=10.0)  # the gate at T0 + 2 is due at 500.2
    late = schedule.reanchored(T0 + 2, now=503.0)
    assert late.due(T0 + 3) == pytest.approx(503.1)  # one recorded second after the gate, from when it opened
    early = schedule.reanchored(T0 + 2, now=500.05)
    assert early.due(T0 + 3) == pytest.approx(schedule.due(T0 + 3))  # no drift: the old schedule goes on


def test_message_keys_and_their_descriptions() -> None:
    assert message_key(wire(SUB_BOOK)) == ("subscribe", "v4_orderbook", "ETH-USD")
    assert message_key('{"type":"ping"}') == PING
    assert describe(message_key(wire(subscribe("v4_markets")))) == "subscribe v4_markets"
    assert message_key(b"hello") == ("raw", "hello")
    assert message_key(b'["subscribe"]') == ("raw", '["subscribe"]')
    assert describe(message_key("x" * 100)) == f"message {'x' * 40!r}"


def test_gates_open_in_order_and_in_any_order_within_a_run() -> None:
    book, trades = message_key(wire(SUB_BOOK)), message_key(wire(SUB_TRADES))
    markets = message_key(wire(subscribe("v4_markets")))
    tracker = GateTracker([Gate(T0, (book, trades)), Gate(T0 + 5, (markets,))])
    assert tracker.accept(trades) is None and tracker.completed == 0
    assert tracker.accept(PING) is None  # ignored, as the indexer does
    assert tracker.accept(book) is None and tracker.completed == 1
    assert tracker.expecting() == "subscribe v4_markets"
    assert tracker.accept(markets) is None and tracker.completed == 2
    assert tracker.accept(markets) == "got subscribe v4_markets, recording expects no more client messages"


def test_a_message_for_no_gate_of_the_current_run_is_a_divergence() -> None:
    book = message_key(wire(SUB_BOOK))
    tracker = GateTracker([Gate(T0, (book, book)), Gate(T0 + 5, (message_key(wire(SUB_TRADES)),))])
    assert tracker.accept(book) is None
    # the next gate's message is early by a whole gate; a duplicate beyond the recorded count diverges too
    assert tracker.accept(message_key(wire(SUB_TRADES))) == (
        "got subscribe v4_trades ETH-USD, recording expects subscribe v4_orderbook ETH-USD")
    assert tracker.accept(book) is None
    assert tracker.accept(book) == (
        "got subscribe v4_orderbook ETH-USD, recording expects subscribe v4_trades ETH-USD")


def test_an_unexpected_unsubscribe_is_tolerated() -> None:
    tracker = GateTracker([Gate(T0, (message_key(wire(SUB_BOOK)),))])
    assert tracker.accept(("unsubscribe", "v4_trades", "BTC-USD")) is None
    assert tracker.completed == 0


def test_a_close_reason_fits_a_close_frame() -> None:
    reason = close_reason("diverged: " + "é" * 100)
    assert len(reason) <= MAX_REASON_BYTES
    assert reason.decode().startswith("diverged: éé")  # cut between characters, never inside one


def test_consecutive_client_messages_form_one_gate_and_recorded_pings_none(tmp_path: Path) -> None:
    session = [server(0.01, CONNECTED), client(0.02, SUB_BOOK), client(0.021, {"type": "ping"}),
               client(0.022, SUB_TRADES), server(0.3, frame("subscribed", 1)), client(0.5, {"type": "ping"}),
               server(0.6, frame("subscribed", 2)), Close(0.7, 1012, False)]
    script = load_script(open_recording(write_recording(tmp_path / "rec", session, session[:2])))
    first, second = script.sessions["/v4/ws"]
    assert [type(step) for step in first.steps] == [Send, Gate, Send, Send]
    assert first.gates == [Gate(T0 + 10 + 0.022, (message_key(wire(SUB_BOOK)), message_key(wire(SUB_TRADES))))]
    assert first.close is not None and first.close.code == 1012
    assert (first.conn, second.conn, second.close) == (1, 2, None)


def test_a_message_before_its_connection_opened_is_a_recording_error(tmp_path: Path) -> None:
    writer = RecordingWriter(tmp_path / "rec")
    writer.ws_message(7, T0, False, wire(CONNECTED))
    writer.close(network="mainnet", upstream=INDEXER, provenance={})
    with pytest.raises(RecordingError, match="connection 7 has a message or close at .* before it opened"):
        ReplayServer(tmp_path / "rec")


# ---------------------------------------------------------------------------------------------------
# REST, through the unmodified IndexerClient


async def test_indexer_client_gets_recorded_bodies_and_404_for_anything_else(tmp_path: Path, samples_dir: Path
                                                                            ) -> None:
    markets = wire(load_sample(samples_dir, "nautilus-2025/rest/http_get_perpetual_markets.json"))
    recording = write_recording(tmp_path / "rec", rest=(("/v4/perpetualMarkets", 200, markets),))
    async with ReplayServer(recording) as (rest_url, _ws_url):
        indexer = IndexerClient(rest_url)
        assert await indexer.markets.get_perpetual_markets() == json.loads(markets)
        with pytest.raises(httpx.HTTPStatusError) as raised:
            await indexer.markets.get_perpetual_market_orderbook("BTC-USD")
    assert raised.value.response.status_code == 404
    assert raised.value.response.json() == {
        "errors": [{"msg": "no recorded response for GET /v4/orderbooks/perpetualMarket/BTC-USD"}]}


async def test_repeated_requests_get_the_recorded_answers_in_order_then_the_last_again(tmp_path: Path) -> None:
    limited = b'{"errors":[{"msg":"Too many requests"}]}'
    recording = write_recording(tmp_path / "rec", rest=(
        ("/v4/height", 200, b'{"height":"1","time":"a"}'), ("/v4/height", 429, limited),
        ("/v4/height", 200, b'{"height":"2","time":"b"}'), ("/v4/time?x=1", 503, b"")))
    async with ReplayServer(recording) as (rest_url, _ws_url), aiohttp.ClientSession() as http:
        answers = []
        for _ in range(4):
            async with http.get(rest_url + "/v4/height") as response:
                answers.append((response.status, response.content_type, await response.read()))
        async with http.get(rest_url + "/v4/time?x=1") as response:
            assert (response.status, await response.read()) == (503, b"")
        async with http.post(rest_url + "/v4/height") as response:
            assert response.status == 404  # the method is part of the key
    assert answers == [(200, "application/json", b'{"height":"1","time":"a"}'),
                       (429, "application/json", limited),
                       (200, "application/json", b'{"height":"2","time":"b"}'),
                       (200, "application/json", b'{"height":"2","time":"b"}')]


# ---------------------------------------------------------------------------------------------------
# WebSocket, through the unmodified IndexerSocket


class Played(NamedTuple):
    """What a client received until the connection ended, and how it ended."""

    received: list[Any]
    code: int | None
    reason: str | None


def run_indexer_socket(ws_url: str, subscribe_to: str) -> Played:
    """The official example's pattern: subscribe from `on_message` on `connected`; `run_forever` in a thread
    (plain ws://, so no sslopt) until the server closes."""
    received: list[dict[str, Any]] = []
    closed: list[tuple[int | None, str | None]] = []

    def on_message(sock: IndexerSocket, message: dict[str, Any]) -> None:
        received.append(message)
        if message["type"] == "connected":
            sock.order_book.subscribe(subscribe_to)

    sock = IndexerSocket(ws_url, on_message=on_message,
                         on_close=lambda _sock, code, reason: closed.append((code, reason)))
    thread = threading.Thread(target=sock.run_forever, name="indexer-socket")
    thread.start()
    thread.join(GUARD)
    assert not thread.is_alive(), "the server never closed the connection"
    return Played(received, *closed[0])


def test_indexer_socket_receives_exactly_the_recorded_messages(tmp_path: Path, samples_dir: Path) -> None:
    ws = "nautilus-2024/ws/"
    session = [server(0.01, load_sample(samples_dir, ws + "connected.json")), client(0.02, SUB_BOOK),
               server(0.35, load_sample(samples_dir, ws + "v4_orderbook_snapshot.json")),
               server(0.60, load_sample(samples_dir, ws + "v4_orderbook_batched_data.json")),
               server(0.85, load_sample(samples_dir, ws + "v4_orderbook.json"))]
    with replay_server(write_recording(tmp_path / "rec", session), speed=MAX) as (_rest_url, ws_url):
        played = run_indexer_socket(ws_url, "ETH-USD")
    assert played == Played([json.loads(data) for data in server_messages(session)], CLOSE_END, "end of recording")


def test_indexer_socket_that_subscribes_elsewhere_is_told_why_it_was_closed(book_recording: Path) -> None:
    with replay_server(book_recording, speed=MAX) as (_rest_url, ws_url):
        played = run_indexer_socket(ws_url, "BTC-USD")
    assert played == Played([CONNECTED], CLOSE_DIVERGED, "diverged: got subscribe v4_orderbook BTC-USD, "
                                                         "recording expects subscribe v4_orderbook ETH-USD")


# ---------------------------------------------------------------------------------------------------
# WebSocket behaviour, with an aiohttp client in the test's loop


async def play(ws: aiohttp.ClientWebSocketResponse, *sends: dict[str, Any]) -> Played:
    """Send `sends`, then receive until the connection ends."""
    for message in sends:
        await ws.send_str(json.dumps(message))
    received = []
    while (message := await ws.receive()).type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        received.append(message.data)
    if message.type is aiohttp.WSMsgType.CLOSE:
        return Played(received, message.data, message.extra)
    return Played(received, ws.close_code, None)  # no close frame came


def texts(session: list[Msg | Close]) -> list[str]:
    return [data.decode() for data in server_messages(session)]


async def test_server_messages_are_sent_verbatim_after_the_subscribe(tmp_path: Path) -> None:
    session = book_session()
    async with ReplayServer(write_recording(tmp_path / "rec", session), speed=MAX) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        first = await ws.receive_str()
        await ws.send_bytes(wire(SUB_BOOK))  # the frame type is not part of the match
        played = await play(ws)
    assert [first, *played.received] == texts(session)
    assert (played.code, played.reason) == (CLOSE_END, "end of recording")


async def test_a_speed_factor_plays_the_same_session_on_the_recorded_schedule(tmp_path: Path) -> None:
    session = book_session(Close(2.0, 1012, False))  # 2 recorded seconds: 20 ms at speed 100
    async with ReplayServer(write_recording(tmp_path / "rec", session), speed=100) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        played = await play(ws, SUB_BOOK)
    assert played == Played(texts(session), 1012, "recorded close")


async def test_a_long_burst_at_max_speed_keeps_its_order(tmp_path: Path, samples_dir: Path) -> None:
    update = load_sample(samples_dir, "nautilus-2024/ws/v4_orderbook_batched_data.json")
    session = [server(0.01, CONNECTED), client(0.02, SUB_BOOK),
               *(server(0.25 * n, {**update, "message_id": n}) for n in range(1, 1200))]
    async with ReplayServer(write_recording(tmp_path / "rec", session), speed=MAX) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        played = await play(ws, SUB_BOOK)
    assert played == Played(texts(session), CLOSE_END, "end of recording")


async def test_a_malformed_frame_is_refused_without_ending_the_server(book_recording: Path) -> None:
    async with ReplayServer(book_recording, speed=MAX) as (_rest, ws_url), aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url) as ws:
            await ws.send_frame(b"\xff\xfe", aiohttp.WSMsgType.TEXT)  # text that is not UTF-8
            assert (await play(ws)).code == 1007
        async with http.ws_connect(ws_url) as ws:  # the next connection plays the next session (none)
            assert (await play(ws)).code == CLOSE_GOING_AWAY


async def test_nothing_after_a_gate_is_sent_until_the_client_subscribes(book_recording: Path) -> None:
    async with ReplayServer(book_recording, speed=MAX, gate_timeout=0.2) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        assert json.loads(await ws.receive_str())["type"] == "connected"
        # a JSON ping neither opens the gate nor diverges; the snapshot never comes, the close does
        played = await play(ws, {"type": "ping"})
    assert played == Played([], CLOSE_TIMEOUT, "timeout: no subscribe v4_orderbook ETH-USD within 0.2 s")


async def test_a_run_of_subscribes_is_accepted_in_any_order(tmp_path: Path) -> None:
    session = [server(0.01, CONNECTED), client(0.02, SUB_BOOK), client(0.021, SUB_TRADES),
               server(0.3, frame("subscribed", 1, channel="v4_trades", id="ETH-USD", contents={"trades": []}))]
    recording = write_recording(tmp_path / "rec", session, session)
    async with ReplayServer(recording, speed=MAX) as (_rest, ws_url), aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url) as ws:
            assert await play(ws, SUB_TRADES, SUB_BOOK) == Played(texts(session), CLOSE_END, "end of recording")
        async with http.ws_connect(ws_url) as ws:  # half the run: still waiting for the other half
            assert await play(ws, SUB_TRADES, subscribe("v4_markets")) == Played(
                texts(session)[:1], CLOSE_DIVERGED,
                "diverged: got subscribe v4_markets, recording expects subscribe v4_orderbook ETH-USD")


async def test_an_extra_unsubscribe_is_ignored(book_recording: Path) -> None:
    async with ReplayServer(book_recording, speed=MAX) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        played = await play(ws, {"type": "unsubscribe", "channel": "v4_trades", "id": "BTC-USD"}, SUB_BOOK)
    assert played == Played(texts(book_session()), CLOSE_END, "end of recording")


async def test_ping_frames_are_answered_and_sent(book_recording: Path) -> None:
    async with ReplayServer(book_recording, speed=MAX, ping_interval=0.05) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url, autoping=False) as ws:
        assert json.loads(await ws.receive_str())["type"] == "connected"
        await ws.ping(b"are you there")
        control = {message.type: message.data for message in [await ws.receive(), await ws.receive()]}
    # the pong and the server's own ping, in either order: the gate holds everything else back
    assert control.keys() == {aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG}
    assert control[aiohttp.WSMsgType.PONG] == b"are you there"


async def test_the_recorded_server_close_is_replayed(tmp_path: Path) -> None:
    restart = write_recording(tmp_path / "restart", book_session(Close(2.0, 1012, False)))
    async with ReplayServer(restart, speed=MAX) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        played = await play(ws, SUB_BOOK)
    assert played == Played(texts(book_session()), 1012, "recorded close")


async def test_a_recorded_drop_drops_the_client(tmp_path: Path) -> None:
    dropped = write_recording(tmp_path / "dropped", book_session(Close(2.0, None, False)))
    async with ReplayServer(dropped, speed=MAX) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        played = await play(ws, SUB_BOOK)
    assert played == Played(texts(book_session()), 1006, None)  # 1006: closed without a close frame


async def test_a_session_the_client_closed_ends_by_policy(tmp_path: Path) -> None:
    recording = write_recording(tmp_path / "rec", book_session(Close(2.0, 1000, True)))
    async with ReplayServer(recording, speed=MAX, idle_at_end=True) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url, autoping=False) as ws:
        await ws.send_str(json.dumps(SUB_BOOK))
        assert [await ws.receive_str() for _ in range(3)] == texts(book_session())
        await ws.ping(b"still open?")
        assert (await ws.receive()).type is aiohttp.WSMsgType.PONG
    async with ReplayServer(recording, speed=MAX) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        played = await play(ws, SUB_BOOK)
    assert played == Played(texts(book_session()), CLOSE_END, "end of recording")


async def test_each_connection_plays_the_next_recorded_session(tmp_path: Path) -> None:
    second = [server(0.01, frame("connected", 0, note="second"))]
    recording = write_recording(tmp_path / "rec", book_session(Close(2.0, 1011, False)), second)
    async with ReplayServer(recording, speed=MAX) as (_rest, ws_url), aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url) as ws:
            assert await play(ws, SUB_BOOK) == Played(texts(book_session()), 1011, "recorded close")
        async with http.ws_connect(ws_url) as ws:
            assert await play(ws) == Played(texts(second), CLOSE_END, "end of recording")
        async with http.ws_connect(ws_url) as ws:
            assert await play(ws) == Played(
                [], CLOSE_GOING_AWAY, "recording exhausted: all 2 WebSocket session(s) on /v4/ws were played")


async def test_stopping_the_server_closes_open_connections(book_recording: Path) -> None:
    replay = ReplayServer(book_recording, speed=MAX, idle_at_end=True)
    _rest, ws_url = await replay.start()
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        await ws.send_str(json.dumps(SUB_BOOK))
        assert [await ws.receive_str() for _ in range(3)] == texts(book_session())
        await replay.stop()
        assert await play(ws) == Played([], CLOSE_GOING_AWAY, "replay server stopping")
    await replay.stop()  # stopping twice is harmless


async def test_a_plain_mitmproxy_flow_file_is_served(tmp_path: Path) -> None:
    rest = make_flow(INDEXER + "/v4/time", "GET", 200, b'{"iso":"2024-07-24T19:12:35.705Z"}', T0, T0 + 0.1)
    handshake = make_flow(INDEXER + "/v4/ws", "GET", 101, b"", T0 + 1, T0 + 1.1)
    handshake.websocket = mitmproxy_ws.WebSocketData(messages=[
        mitmproxy_ws.WebSocketMessage(1, False, wire(CONNECTED), T0 + 1.2),
        mitmproxy_ws.WebSocketMessage(1, True, wire(SUB_BOOK), T0 + 1.3),
        mitmproxy_ws.WebSocketMessage(2, False, b"\x00binary", T0 + 1.4)])
    handshake.websocket.close_code, handshake.websocket.closed_by_client = 1001, False
    handshake.websocket.timestamp_end = T0 + 2
    with open(tmp_path / "capture.mitm", "wb") as f:
        writer = mitmproxy_io.FlowWriter(f)
        writer.add(rest)
        writer.add(handshake)
    async with ReplayServer(open_recording(tmp_path / "capture.mitm"), speed=MAX) as (rest_url, ws_url), \
            aiohttp.ClientSession() as http:
        async with http.get(rest_url + "/v4/time") as response:
            assert await response.json() == {"iso": "2024-07-24T19:12:35.705Z"}
        async with http.get(rest_url + "/v4/ws") as response:
            assert response.status == 404  # the WebSocket path answers only upgrades
        async with http.ws_connect(ws_url) as ws:
            played = await play(ws, SUB_BOOK)
    assert played == Played([wire(CONNECTED).decode(), b"\x00binary"], 1001, "recorded close")
    assert ws_url.endswith("/v4/ws")


async def test_a_recording_whose_recorder_was_killed_is_served_as_far_as_it_got(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = RecordingWriter(tmp_path / "rec")  # never closed: no manifest
    writer.ws_open(1, T0, "/v4/ws")
    writer.ws_message(1, T0 + 0.01, False, wire(CONNECTED))
    async with ReplayServer(tmp_path / "rec", speed=MAX) as (_rest, ws_url), \
            aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        played = await play(ws)
    assert played == Played([wire(CONNECTED).decode()], CLOSE_END, "end of recording")
    assert "the recorder did not close this recording" in caplog.text


# ---------------------------------------------------------------------------------------------------
# `dydx-bot serve`


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_serve_answers_recorded_requests_until_sigterm(tmp_path: Path) -> None:
    recording = write_recording(tmp_path / "rec", book_session(), rest=(("/v4/height", 200, b'{"height":"7"}'),))
    with Child(app_argv("serve", str(recording), "--speed", "max"), home=tmp_path / "home") as process:
        lines = []
        while not (line := process.line("stderr") or "").startswith("WebSocket"):
            assert line, f"serve ended before printing its URLs: {''.join(lines)}"
            lines.append(line)
        rest_url = next(line.split()[1] for line in lines if line.startswith("REST"))
        with urllib.request.urlopen(rest_url + "/v4/height", timeout=GUARD) as response:
            assert response.read() == b'{"height":"7"}'
        process.send_signal(signal.SIGTERM)
        assert process.wait(GUARD) == 0
    assert line.split()[1].endswith("/v4/ws")


def test_serve_reports_an_unreadable_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(tmp_path / "missing")]) == 1
    assert f"{tmp_path / 'missing'}: no such recording" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    (["--speed", "fast"], "speed must be a positive number or 'max', not 'fast'"),
    (["--gate-timeout", "0"], "argument --gate-timeout: expected seconds > 0 and <= 86400, got '0'"),
])
def test_serve_refuses_bad_options(book_recording: Path, capsys: pytest.CaptureFixture[str],
                                   arguments: list[str], message: str) -> None:
    assert main(["serve", str(book_recording), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_serve_refuses_a_port_out_of_range(book_recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(book_recording), "--port", "70000"]) == 2
    assert capsys.readouterr().err == ("dydx-bot serve: argument --port: not a port number: '70000' "
                                       "(see dydx-bot serve --help)\n")


def test_serve_reports_a_port_in_use(book_recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(book_recording), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
