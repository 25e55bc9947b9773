"""The mitmproxy recorder: what passes through the reverse proxy lands in a recording that reads back
as the client saw it, survives a SIGKILL, holds no credentials, and verifies upstream TLS.

The upstream is the project's replay server playing a small recording built here; clients are the
unmodified dYdX `IndexerClient` / `IndexerSocket` and plain httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import io
import ipaddress
import json
import re
import signal
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dydx_v4_client.indexer.candles_resolution import CandlesResolution
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.indexer.socket.websocket import IndexerSocket
from mitmproxy import io as mitm_io

from app.cli import main
from streams.sources import recorder as recorder_module
from streams.sources.live import LiveConfig
from streams.sources.recorder import Recorder, RecorderError
from streams.sources.recording import (
    FLOWS,
    JOURNAL,
    MANIFEST,
    RecordingError,
    RestExchange,
    WsClose,
    WsMessage,
    WsOpen,
    file_digest,
    open_recording,
)
from streams.sources.recording_writer import NOWHERE, RecordingWriter
from streams.sources.replay import MAX
from streams.sources.subscriptions import Request
from tests.support.processes import CHILD_TIMEOUT, DEADLINE, Child, app_argv
from tests.support.servers import replay_server

T0 = 1_733_000_000.0
SECRET = "s3cret-7f1d"
SECRET_HEADERS = {"Authorization": f"Bearer {SECRET}", "Cookie": f"session={SECRET}", "X-Custom-Secret": SECRET}
INDEXER = "https://indexer.dydx.trade"
MARKETS_PATH = "/v4/perpetualMarkets"
CONNECTION_ID = "7ad53844-c1d4-4c8e-9d7e-3f0c2b1a5e6d"
MARKETS = {"markets": {"BTC-USD": {"ticker": "BTC-USD", "oraclePrice": "89919.2", "status": "ACTIVE"},
                       "ETH-USD": {"ticker": "ETH-USD", "oraclePrice": "3034.5", "status": "ACTIVE"}}}
CANDLES = {"candles": [{"startedAt": "2024-11-30T21:00:00.000Z", "ticker": "BTC-USD", "resolution": "1MIN",
                        "open": "96400", "high": "96420", "low": "96390", "close": "96411", "trades": 12}]}
REST_BODIES = {MARKETS_PATH: MARKETS, "/v4/candles/perpetualMarkets/BTC-USD": CANDLES}
SNAPSHOTS = {"v4_markets": MARKETS, "v4_orderbook": {"bids": [], "asks": []}, "v4_trades": {"trades": []},
             "v4_candles": CANDLES}
LIVE = LiveConfig(markets=("BTC-USD",))
"""What `dydx-bot record --markets BTC-USD` fetches and subscribes to; the test clients do the same."""
LAST_SNAPSHOT = "subscribed v4_candles BTC-USD/1MIN"


def indexer_session(book_updates: int = 30, trades_after: int = 0) -> list[tuple[bool, bytes]]:
    """One WebSocket session as the indexer would hold it for `LIVE`: (from_client, message) in order.

    Each subscribe is a gate the replay server waits for; `book_updates` follow the book snapshot and
    `trades_after` trade batches follow the last snapshot (a stream still flowing when a test stops)."""
    ids = iter(range(1, 1_000_000))

    def frame(**fields: Any) -> bytes:
        return json.dumps({**fields, "connection_id": CONNECTION_ID, "message_id": next(ids)},
                          separators=(",", ":")).encode()

    connected = {"type": "connected", "connection_id": CONNECTION_ID, "message_id": 0}
    session = [(False, json.dumps(connected, separators=(",", ":")).encode())]
    for sub in LIVE.subscriptions():
        session.append((True, Request("subscribe", sub).payload.encode()))
        session.append((False, frame(type="subscribed", channel=sub.channel, id=sub.id,
                                     contents=SNAPSHOTS[sub.channel])))
        if sub.channel == "v4_orderbook":
            session += [(False, frame(type="channel_batch_data", channel=sub.channel, id=sub.id, version="1.0.0",
                                      contents=[{"bids": [[f"96400.{i}", "0.5"]]}])) for i in range(book_updates)]
    session += [(False, frame(type="channel_batch_data", channel="v4_trades", id="BTC-USD", version="2.1.0",
                              contents=[{"trades": [{"id": f"{i:024x}", "side": "SELL", "size": "0.02",
                                                     "price": "96390", "type": "LIMIT"}]}]))
                for i in range(trades_after)]
    return session


def from_server(session: list[tuple[bool, bytes]]) -> list[bytes]:
    return [message for from_client, message in session if not from_client]


def build_upstream(path: Path, *, book_updates: int = 30, trades_after: int = 0, spacing: float = 0.0) -> Path:
    """A recording for the replay server to play: the REST answers `LIVE` asks for and one session,
    its messages `spacing` seconds apart."""
    writer = RecordingWriter(path)
    for i, call in enumerate(LIVE.rest_calls()):
        body = json.dumps(REST_BODIES[call.path]).encode()
        writer.add_rest(INDEXER + call.target, 200, body, T0 + i, T0 + i + 0.01)
    writer.ws_open(1, T0 + 10, "/v4/ws")
    for i, (from_client, message) in enumerate(indexer_session(book_updates, trades_after)):
        writer.ws_message(1, T0 + 10 + i * spacing, from_client, message)
    writer.close(network="mainnet", upstream=INDEXER, provenance={"built_by": __name__})
    return path


# ---------------------------------------------------------------------------------------------------
# Clients


def fetch_rest(base_url: str) -> list[Any]:
    """`LIVE`'s REST calls through the official client, then one more carrying credentials."""
    async def calls() -> list[Any]:
        markets = IndexerClient(base_url).markets
        return [await markets.get_perpetual_markets(),
                await markets.get_perpetual_market_candles("BTC-USD", "1MIN", limit=LIVE.candle_history)]

    answers = asyncio.run(calls())
    answers.append(httpx.get(base_url + MARKETS_PATH, headers=SECRET_HEADERS).json())
    return answers


def listen(ws_url: str, on_each: Callable[[dict[str, Any], int], None] | None = None,
           deadline: float = DEADLINE) -> list[dict[str, Any]]:
    """Run an official `IndexerSocket` (handshake with credentials) until the connection ends, within
    `deadline` seconds; it subscribes to `LIVE`'s channels on `connected`. Returns every message received."""
    received: list[dict[str, Any]] = []

    def on_message(ws: IndexerSocket, message: dict[str, Any]) -> None:
        received.append(message)
        if message["type"] == "connected":
            ws.markets.subscribe()
            ws.order_book.subscribe("BTC-USD")
            ws.trades.subscribe("BTC-USD")
            ws.candles.subscribe("BTC-USD", CandlesResolution.ONE_MINUTE)
        if on_each is not None:
            on_each(message, len(received))

    socket = IndexerSocket(ws_url, header=SECRET_HEADERS, on_message=on_message)
    expired = threading.Event()

    def expire() -> None:  # a server that idles at its end never closes: the deadline ends the wait
        expired.set()
        socket.close()

    timer = threading.Timer(deadline, expire)
    timer.start()
    try:
        socket.run_forever()
    finally:
        timer.cancel()
    if expired.is_set():
        raise TimeoutError(f"{ws_url}: the connection was still open after {deadline:g} s "
                           f"({len(received)} messages received)")
    return received


def read_flows(path: Path) -> list[Any]:
    with open(path, "rb") as f:
        return list(mitm_io.FlowReader(f).stream())


# ---------------------------------------------------------------------------------------------------
# A whole session recorded once, asserted on by several tests


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("session")
    upstream = build_upstream(base / "upstream")
    with replay_server(upstream, speed=MAX, ping_interval=None) as urls:
        with Recorder(base / "recorded", urls.rest_url, markets=["BTC-USD"]) as recorder:
            rest = fetch_rest(recorder.rest_url)
            received = listen(recorder.ws_url)
            manifest = recorder.stop()
    return {"upstream": upstream, "out": base / "recorded", "rest": rest, "received": received,
            "manifest": manifest, "upstream_url": urls.rest_url}


def test_the_recording_holds_what_the_client_got_in_order(session: dict[str, Any]) -> None:
    recording = open_recording(session["out"])
    entries = list(recording.entries())

    rest = [e for e in entries if isinstance(e, RestExchange)]
    targets = [call.target for call in LIVE.rest_calls()]
    assert [(e.method, e.path, e.status) for e in rest] == [("GET", path, 200) for path in [*targets, MARKETS_PATH]]
    assert [json.loads(e.body) for e in rest] == session["rest"] == [MARKETS, CANDLES, MARKETS]

    messages = [e for e in entries if isinstance(e, WsMessage)]
    server = [e.data for e in messages if not e.from_client]
    assert server == from_server(indexer_session())  # byte for byte, in the order sent
    assert [json.loads(data) for data in server] == session["received"]
    assert [json.loads(e.data) for e in messages if e.from_client] == [
        json.loads(Request("subscribe", sub).payload) for sub in LIVE.subscriptions()]

    opens = [e for e in entries if isinstance(e, WsOpen)]
    closes = [e for e in entries if isinstance(e, WsClose)]
    assert [(e.conn, e.path) for e in opens] == [(1, "/v4/ws")]
    assert [(e.conn, e.code, e.by_client) for e in closes] == [(1, 1000, False)]  # "end of recording"
    assert entries.index(opens[0]) < entries.index(messages[0]) and entries[-1] == closes[0]
    assert [e.t for e in entries] == sorted(e.t for e in entries)
    assert recording.warnings == []


def test_the_manifest_counts_and_checksums_match_the_files(session: dict[str, Any]) -> None:
    manifest, out = session["manifest"], session["out"]
    assert json.loads((out / MANIFEST).read_text()) == manifest
    assert manifest["counts"] == open_recording(out).summary()["counts"] == {
        "rest": 3, "ws_connections": 1, "ws_from_client": 4, "ws_from_server": 35}
    for name in (FLOWS, JOURNAL):
        size, digest = file_digest(out / name)
        assert manifest["files"][name] == {"bytes": size, "sha256": digest}
    assert manifest["markets"] == ["BTC-USD"]
    assert manifest["channels"] == ["v4_candles:BTC-USD/1MIN", "v4_markets", "v4_orderbook:BTC-USD",
                                    "v4_trades:BTC-USD"]
    assert (manifest["network"], manifest["upstream"]) == ("custom", session["upstream_url"])
    assert manifest["flow_format_version"] == 21
    provenance = manifest["provenance"]
    assert provenance["upstream_errors"] == 0
    assert provenance["versions"]["dydx-v4-client"] == "1.1.5"
    assert provenance["started_at"] <= provenance["stopped_at"]


def test_credentials_and_client_addresses_are_redacted(session: dict[str, Any]) -> None:
    out = session["out"]
    for name in (FLOWS, JOURNAL, MANIFEST):
        assert SECRET.encode() not in (out / name).read_bytes(), name
    flows = read_flows(out / FLOWS)
    assert len(flows) == 4  # three REST exchanges and the WebSocket handshake
    secret_bearing = [f for f in flows if "authorization" in f.request.headers]
    assert len(secret_bearing) == 2  # the httpx call and the handshake
    for flow in secret_bearing:
        assert flow.request.headers["authorization"] == flow.request.headers["cookie"] == "REDACTED"
        assert flow.request.headers["x-custom-secret"] == "REDACTED"  # no list foresaw it: kept by none
    for flow in flows:
        assert (flow.client_conn.peername, flow.client_conn.sockname) == (NOWHERE, NOWHERE)
        assert flow.server_conn.sockname is None
    handshake = next(f for f in flows if f.websocket is not None)
    assert handshake.response.status_code == 101 and handshake.websocket.messages == []


def test_an_upstream_that_is_unreachable_is_reported_not_recorded(tmp_path: Path) -> None:
    with Recorder(tmp_path / "rec", "http://127.0.0.1:9") as recorder:  # discard port: nothing listens
        assert httpx.get(recorder.rest_url + MARKETS_PATH).status_code == 502
        manifest = recorder.stop()
    assert recorder.addon is not None and recorder.addon.upstream_errors == 1
    assert str(recorder.addon.last_upstream_error).startswith(f"GET {MARKETS_PATH}: ")
    assert recorder.addon.first_upstream_error == recorder.addon.last_upstream_error
    assert manifest["provenance"]["upstream_errors"] == 1
    assert manifest["counts"] == {}
    assert list(open_recording(tmp_path / "rec").entries()) == []


# ---------------------------------------------------------------------------------------------------
# TLS upstream: verification stays on


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    base = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test indexer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (base / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (base / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    return base / "cert.pem", base / "key.pem"


@contextlib.contextmanager
def tls_indexer(cert: Path, key: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 answering `/v4/perpetualMarkets`, on its own loop and thread."""
    async def markets(_request: web.Request) -> web.Response:
        return web.json_response(MARKETS)

    app = web.Application()
    app.router.add_get(MARKETS_PATH, markets)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> str:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        return f"https://127.0.0.1:{runner.addresses[0][1]}"

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_a_tls_upstream_trusted_through_its_ca_is_recorded(tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    with tls_indexer(cert, key) as upstream:
        with Recorder(tmp_path / "rec", upstream, trusted_ca=str(cert)) as recorder:
            assert httpx.get(recorder.rest_url + MARKETS_PATH).json() == MARKETS
    [exchange] = open_recording(tmp_path / "rec").entries()
    assert isinstance(exchange, RestExchange) and json.loads(exchange.body) == MARKETS


def test_an_untrusted_upstream_certificate_is_refused(tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    with tls_indexer(*tls_files) as upstream:
        with Recorder(tmp_path / "rec", upstream) as recorder:
            response = httpx.get(recorder.rest_url + MARKETS_PATH)
    assert response.status_code == 502 and "certificate verify failed" in response.text.lower()
    assert recorder.addon is not None
    assert "certificate verify failed" in str(recorder.addon.last_upstream_error).lower()
    assert list(open_recording(tmp_path / "rec").entries()) == []


# ---------------------------------------------------------------------------------------------------
# Durability


RUNNER = """\
import sys
from streams.sources.recorder import Recorder
recorder = Recorder(sys.argv[1], sys.argv[2]).start()
print(recorder.port, flush=True)
sys.stdin.read()  # record until killed
"""


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_a_killed_recorder_keeps_every_message_it_relayed(tmp_path: Path) -> None:
    upstream = build_upstream(tmp_path / "upstream", trades_after=200)
    out = tmp_path / "killed"
    with replay_server(upstream, speed=MAX, ping_interval=None, idle_at_end=True) as urls, \
            Child([sys.executable, "-c", RUNNER, str(out), urls.rest_url], home=tmp_path / "home", stdin=True
                  ) as proxy:
        base = f"http://127.0.0.1:{int(proxy.line() or 0)}"
        rest = fetch_rest(base)

        def kill_midway(_message: dict[str, Any], count: int) -> None:
            if count == 100:
                proxy.send_signal(signal.SIGKILL)

        received = listen(base.replace("http", "ws") + "/v4/ws", kill_midway)
        proxy.wait()
    assert proxy.returncode == -signal.SIGKILL
    assert len(received) >= 100

    recording = open_recording(out)
    assert recording.manifest is None
    entries = list(recording.entries())
    assert any("no manifest.json" in warning for warning in recording.warnings)
    assert [json.loads(e.body) for e in entries if isinstance(e, RestExchange)] == rest
    journaled = [e.data for e in entries if isinstance(e, WsMessage) and not e.from_client]
    # each message is journaled before it is relayed, so the client got no more than the journal holds
    assert [json.loads(data) for data in journaled[:len(received)]] == received
    assert journaled == from_server(indexer_session(trades_after=200))[:len(journaled)]
    assert main(["recording", "info", str(out)]) == 0


def test_stopping_with_a_client_connected_ends_its_socket_in_the_journal(tmp_path: Path) -> None:
    upstream = build_upstream(tmp_path / "upstream", book_updates=5)
    manifests = []
    with replay_server(upstream, speed=MAX, ping_interval=None, idle_at_end=True) as urls:
        recorder = Recorder(tmp_path / "rec", urls.rest_url).start()

        def stop_at_the_last_snapshot(message: dict[str, Any], _count: int) -> None:
            if message.get("channel") == "v4_candles":
                manifests.append(recorder.stop())

        received = listen(recorder.ws_url, stop_at_the_last_snapshot)
    assert recorder.stop() == manifests[0]  # stopping again changes nothing
    entries = list(open_recording(tmp_path / "rec").entries())
    assert sum(isinstance(e, WsMessage) and not e.from_client for e in entries) == len(received) == 10
    assert isinstance(entries[-1], WsClose) and entries[-1].conn == 1
    assert manifests[0]["counts"]["ws_from_server"] == 10


# ---------------------------------------------------------------------------------------------------
# Plain flow files from mitmproxy's own tools


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_a_mitmdump_flow_file_is_a_recording_to_read_serve_and_summarise(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mitmdump = Path(sys.executable).with_name("mitmdump")
    upstream = build_upstream(tmp_path / "upstream")
    flow_file = tmp_path / "session.mitm"
    options = ["--listen-host", "127.0.0.1", "-p", "0", "-w", str(flow_file), "--set", "flow_detail=0",
               "--set", f"confdir={tmp_path / 'mitmproxy'}"]
    with replay_server(upstream, speed=MAX, ping_interval=None) as urls, \
            Child([str(mitmdump), "--mode", f"reverse:{urls.rest_url}", *options], home=tmp_path / "home",
                  merge_stderr=True) as dump:
        started = dump.line() or ""
        port = re.search(r"listening at 127\.0\.0\.1:(\d+)", started)
        assert port, started
        base = f"http://127.0.0.1:{port[1]}"
        rest = fetch_rest(base)
        received = listen(base.replace("http", "ws") + "/v4/ws")
        dump.send_signal(signal.SIGTERM)
        dump.wait()
    assert dump.returncode == 0

    recording = open_recording(flow_file)
    assert recording.plain_flow_file
    entries = list(recording.entries())
    assert [json.loads(e.body) for e in entries if isinstance(e, RestExchange)] == rest
    assert [e.data for e in entries if isinstance(e, WsMessage) and not e.from_client] == \
        from_server(indexer_session())
    assert [json.loads(f.data) for f in recording.frames() if f.kind == "ws"] == received
    with replay_server(flow_file, speed=MAX, ping_interval=None) as replayed:  # what `dydx-bot serve` plays
        assert fetch_rest(replayed.rest_url) == rest
        assert listen(replayed.ws_url) == received

    assert main(["recording", "info", str(flow_file)]) == 0
    text = capsys.readouterr().out
    assert "plain mitmproxy flow file" in text and "ws from server 35" in text and "version 21" in text


# ---------------------------------------------------------------------------------------------------
# Refusals and failures


def test_an_invalid_upstream_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(RecorderError, match="invalid upstream 'ftp://x'"):
        Recorder(tmp_path / "rec", "ftp://x")
    assert not (tmp_path / "rec").exists()


def test_a_directory_holding_a_recording_is_never_overwritten(tmp_path: Path) -> None:
    upstream = build_upstream(tmp_path / "upstream")
    before = file_digest(upstream / JOURNAL)
    with pytest.raises(RecordingError, match="already holds a recording"):
        Recorder(upstream, "http://127.0.0.1:9").start()
    assert file_digest(upstream / JOURNAL) == before


def test_a_failing_write_stops_the_recorder_with_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    upstream = build_upstream(tmp_path / "upstream")

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RecordingWriter, "add_flow", disk_full)
    with replay_server(upstream, speed=MAX, ping_interval=None) as urls:
        recorder = Recorder(tmp_path / "rec", urls.rest_url).start()
        with contextlib.suppress(httpx.HTTPError):  # the proxy may stop before it answers
            httpx.get(recorder.rest_url + MARKETS_PATH)
        assert recorder.wait(10)  # it stopped by itself
        with pytest.raises(RecorderError, match=r"could not write: \[Errno 28\] No space left on device"):
            recorder.stop()
    assert not (tmp_path / "rec" / MANIFEST).exists()


def test_a_proxy_that_cannot_listen_leaves_no_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "LISTEN_HOST", "192.0.2.1")  # TEST-NET-1: not an address of this host
    with pytest.raises(RecorderError, match="could not listen on 192.0.2.1: "):
        Recorder(tmp_path / "rec", "http://127.0.0.1:9").start()
    assert not (tmp_path / "rec").exists()


def test_an_error_inside_mitmproxy_at_start_up_is_raised_by_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    async def broken(_master: object) -> None:
        raise RuntimeError("mitmproxy broke")

    monkeypatch.setattr(recorder_module.Master, "run", broken)
    with pytest.raises(RuntimeError, match="mitmproxy broke"):
        Recorder(tmp_path / "rec", "http://127.0.0.1:9").start()
    assert not (tmp_path / "rec").exists()


def test_a_recording_whose_manifest_was_not_written_is_not_reported_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(RecordingWriter, "close", broken)  # mitmproxy logs and swallows an addon's error
    recorder = Recorder(tmp_path / "rec", "http://127.0.0.1:9").start()
    with pytest.raises(RecorderError, match="the recording was not closed"):
        recorder.stop()
    assert not (tmp_path / "rec" / MANIFEST).exists()


# ---------------------------------------------------------------------------------------------------
# `dydx-bot record`: the live source driving traffic through the recorder

class SignalOnLine(io.StringIO):
    """A stand-in for stderr that raises `sig` in this process once `line` is written."""

    def __init__(self, line: str, sig: signal.Signals) -> None:
        super().__init__()
        self._line, self._sig = line, sig

    def write(self, text: str) -> int:
        written = super().write(text)
        if self._line in text:
            signal.raise_signal(self._sig)
        return written


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_record_stops_cleanly_on_a_signal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
                                          ) -> None:
    upstream = build_upstream(tmp_path / "upstream")
    out = tmp_path / "rec"
    stderr = SignalOnLine(LAST_SNAPSHOT, sig)
    monkeypatch.setattr(sys, "stderr", stderr)
    with replay_server(upstream, speed=MAX, ping_interval=None, idle_at_end=True) as urls:
        assert main(["record", "--markets", "btc-usd", "--upstream", urls.rest_url, "--out", str(out)]) == 0
    log = stderr.getvalue()
    assert "stopped by a signal" in log and f"into {out}" in log.splitlines()[-1]

    recording = open_recording(out)  # with its manifest: sizes and checksums verified
    entries = list(recording.entries())
    expected = indexer_session()
    assert [(e.from_client, e.data) for e in entries if isinstance(e, WsMessage)] == expected
    assert [e.path for e in entries if isinstance(e, RestExchange)] == [call.target for call in LIVE.rest_calls()]
    assert isinstance(entries[-1], WsClose) and entries[-1].by_client
    manifest = recording.manifest
    assert manifest is not None and manifest["network"] == "custom" and manifest["upstream"] == urls.rest_url
    assert manifest["markets"] == ["BTC-USD"]
    assert manifest["channels"] == ["v4_candles:BTC-USD/1MIN", "v4_markets", "v4_orderbook:BTC-USD",
                                    "v4_trades:BTC-USD"]
    assert manifest["counts"]["ws_from_server"] == sum(not from_client for from_client, _ in expected)


def test_record_stops_after_its_duration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upstream = build_upstream(tmp_path / "upstream")
    with replay_server(upstream, speed=MAX, ping_interval=None, idle_at_end=True) as urls:
        assert main(["record", "--markets", "BTC-USD", "--upstream", urls.rest_url, "--duration", "0.2",
                     "--out", str(tmp_path / "rec")]) == 0
    log = capsys.readouterr().err
    assert "stopping after 0.2 s" in log and "recorded " in log and "signal" not in log
    assert open_recording(tmp_path / "rec").manifest is not None


@pytest.mark.timeout(CHILD_TIMEOUT)
def test_a_killed_record_command_leaves_a_readable_recording(tmp_path: Path) -> None:
    upstream = build_upstream(tmp_path / "upstream", book_updates=5, trades_after=3000, spacing=0.001)
    out = tmp_path / "rec"
    with replay_server(upstream, speed=1, ping_interval=None, idle_at_end=True) as urls, \
            Child(app_argv("record", "--markets", "BTC-USD", "--upstream", urls.rest_url, "--out", str(out)),
                  home=tmp_path / "home") as record:
        for line in record.lines("stderr"):  # trades are streaming once the last snapshot came
            if LAST_SNAPSHOT in line:
                record.send_signal(signal.SIGKILL)
                break
        record.wait()
    assert record.returncode == -signal.SIGKILL

    recording = open_recording(out)
    assert recording.manifest is None
    journaled = [(e.from_client, e.data) for e in recording.entries() if isinstance(e, WsMessage)]
    expected = indexer_session(book_updates=5, trades_after=3000)
    last_snapshot = next(i for i, (_, data) in enumerate(expected) if b'"subscribed","channel":"v4_candles"' in data)
    assert len(journaled) > last_snapshot
    assert journaled == expected[:len(journaled)]  # everything up to the kill, nothing altered
    assert main(["recording", "info", str(out)]) == 0


@pytest.mark.parametrize("argv, message", [
    (["--markets", " , ", "--upstream", "http://127.0.0.1:9"], "--markets needs at least one market"),
    (["--markets", "BTC-USD", "--duration", "0"], "record: argument --duration: expected seconds > 0 and <= 31622400, "
                                                  "got '0'"),
    (["--markets", "BTC-USD", "--upstream", "ftp://x"], "invalid upstream 'ftp://x'"),
])
def test_record_refuses_bad_arguments_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   argv: list[str], message: str) -> None:
    assert main(["record", *argv, "--out", str(tmp_path / "rec")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dydx-bot{' ' if message.startswith('record:') else ': '}{message}")
    assert err.count("\n") == 1
    assert not (tmp_path / "rec").exists()


def test_record_never_overwrites_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = build_upstream(tmp_path / "existing")
    assert main(["record", "--markets", "BTC-USD", "--upstream", "http://127.0.0.1:9", "--out", str(existing)]) == 1
    assert capsys.readouterr().err == f"dydx-bot: {existing}: already holds a recording; choose a new --out\n"


def test_record_reports_a_failing_disk_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    upstream = build_upstream(tmp_path / "upstream")

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RecordingWriter, "add_flow", disk_full)
    with replay_server(upstream, speed=MAX, ping_interval=None, idle_at_end=True) as urls:
        assert main(["record", "--markets", "BTC-USD", "--upstream", urls.rest_url,
                     "--out", str(tmp_path / "rec")]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == f"dydx-bot record: {tmp_path / 'rec'}: recording stopped, could not write: " \
                   "[Errno 28] No space left on device"


def test_record_exits_1_when_the_upstream_is_unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = SignalOnLine("dydx-bot record: retry ", signal.SIGINT)  # the first REST request came back 502
    monkeypatch.setattr(sys, "stderr", stderr)
    out = tmp_path / "rec"
    assert main(["record", "--markets", "BTC-USD", "--upstream", "http://127.0.0.1:9", "--out", str(out)]) == 1
    last = stderr.getvalue().splitlines()[-1]
    assert last.startswith("dydx-bot record: nothing was recorded: ")
    assert "request(s) to http://127.0.0.1:9 failed, the first GET /v4/" in last
    # each report one line, the proxy's 502 page for a refused handshake included
    assert all(line.startswith("dydx-bot record: ") for line in stderr.getvalue().splitlines())
    assert list(open_recording(out).entries()) == []


def test_record_exits_1_when_the_upstream_certificate_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 tls_files: tuple[Path, Path]) -> None:
    stderr = SignalOnLine("dydx-bot record: retry ", signal.SIGINT)
    monkeypatch.setattr(sys, "stderr", stderr)
    with tls_indexer(*tls_files) as upstream:
        assert main(["record", "--markets", "BTC-USD", "--upstream", upstream, "--out", str(tmp_path / "rec")]) == 1
    last = stderr.getvalue().splitlines()[-1]
    assert last.startswith("dydx-bot record: nothing was recorded: ") and f"to {upstream} failed" in last
    assert "certificate verify failed" in last.lower()
