"""Writes recordings (see `recording.py` for the format): used by the mitmproxy recorder addon for live
traffic and by the bundled-recording builder for traffic it reconstructs.

Everything is durable as it goes: each flow is flushed when written, each journal line when appended,
and the manifest is written last, atomically, only by `close()`. Secrets never reach the files: every
flow is redacted on a copy before it is written.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from mitmproxy import connection, http, io

from streams.sources.recording import (
    FLOWS,
    FORMAT,
    FORMAT_VERSION,
    JOURNAL,
    MANIFEST,
    Recording,
    RecordingError,
    WsClose,
    WsMessage,
    WsOpen,
    file_digest,
    subscription_of,
)

# Headers are kept by an allow-list: a header nobody foresaw (X-Custom-Secret, a vendor's token) is
# redacted, not stored. These are what a replay and a reader of the recording need.
KEPT_REQUEST_HEADERS = frozenset({
    "host", "accept", "accept-encoding", "accept-language", "cache-control", "connection", "content-length",
    "content-type", "origin", "pragma", "upgrade", "user-agent", "sec-websocket-extensions", "sec-websocket-key",
    "sec-websocket-protocol", "sec-websocket-version"})
KEPT_RESPONSE_HEADERS = frozenset({
    "access-control-allow-origin", "cache-control", "connection", "content-encoding", "content-length",
    "content-type", "date", "etag", "keep-alive", "retry-after", "server", "transfer-encoding", "upgrade", "vary",
    "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-ratelimit-limit", "x-ratelimit-remaining",
    "x-ratelimit-reset", "sec-websocket-accept", "sec-websocket-extensions", "sec-websocket-protocol"})
SECRET_QUERY_KEY = re.compile(r"key|token|secret|sig|pass|auth|credential|session|mnemonic", re.IGNORECASE)
"""A query parameter whose name says it is a credential (apiKey, access_token, signature, ...)."""
REDACTED = "REDACTED"
NOWHERE = ("0.0.0.0", 0)


def redacted(flow: http.HTTPFlow) -> http.HTTPFlow:
    """A copy of `flow` without credentials or the user's socket addresses (the live flow is untouched)."""
    copy = flow.copy()
    _redact_headers(copy.request.headers, KEPT_REQUEST_HEADERS)
    copy.request.path = redacted_path(copy.request.path)
    if copy.response is not None:
        _redact_headers(copy.response.headers, KEPT_RESPONSE_HEADERS)
    copy.client_conn.peername = NOWHERE
    copy.client_conn.sockname = NOWHERE
    copy.server_conn.sockname = None
    return copy


def redacted_path(path: str) -> str:
    """`path` with the value of every credential-like query parameter replaced (untouched when it has none,
    so a replay matches the request as sent)."""
    base, mark, query = path.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not mark or not any(SECRET_QUERY_KEY.search(key) for key, _ in pairs):
        return path
    return base + "?" + urlencode([(key, REDACTED if SECRET_QUERY_KEY.search(key) else value) for key, value in pairs])


def _redact_headers(headers: http.Headers, kept: frozenset[str]) -> None:
    for name in {name.lower() for name in headers.keys()} - kept:
        headers[name] = REDACTED


def make_flow(url: str, method: str, status: int, body: bytes, t_request: float, t_response: float,
              response_headers: dict[str, str] | None = None) -> http.HTTPFlow:
    """An HTTP flow built from scratch (for traffic the project reconstructs rather than proxies)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    client = connection.Client(peername=NOWHERE, sockname=NOWHERE, timestamp_start=t_request)
    server = connection.Server(address=(parts.hostname or "", port))
    flow = http.HTTPFlow(client, server)
    flow.request = http.Request.make(method, url, b"", http.Headers(host=parts.netloc))
    flow.request.timestamp_start = flow.request.timestamp_end = t_request
    headers = response_headers or {"content-type": "application/json"}
    flow.response = http.Response.make(status, body,
                                       http.Headers([(k.encode(), v.encode()) for k, v in headers.items()]))
    flow.response.timestamp_start = flow.response.timestamp_end = t_response
    return flow


class RecordingWriter:
    """Writes one recording directory. Refuses to write into a directory that already holds one."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        if not os.fspath(directory):  # Path("") is the working directory
            raise RecordingError("no directory to record into (an empty --out)")
        self.path = Path(directory)
        try:
            if self.path.exists() and not self.path.is_dir():
                raise RecordingError(f"{self.path}: not a directory; choose a new --out")
            if self.path.exists() and any((self.path / name).exists() for name in (FLOWS, JOURNAL, MANIFEST)):
                raise RecordingError(f"{self.path}: already holds a recording; choose a new --out")
            self.path.mkdir(parents=True, exist_ok=True)
            self._flows = open(self.path / FLOWS, "ab")
            self._journal = JournalWriter(self.path / JOURNAL)
        except OSError as exc:
            raise RecordingError(f"{exc.filename or self.path}: cannot record here ({exc.strerror or exc})") from None
        self._flow_writer = io.FlowWriter(self._flows)
        self.channels: set[str] = set()
        self.markets: set[str] = set()

    def add_flow(self, flow: http.HTTPFlow) -> None:
        self._flow_writer.add(redacted(flow))
        self._flows.flush()

    def add_rest(self, url: str, status: int, body: bytes, t_request: float, t_response: float,
                 method: str = "GET") -> None:
        self.add_flow(make_flow(url, method, status, body, t_request, t_response))

    def ws_open(self, conn: int, t: float, path: str, handshake: http.HTTPFlow | None = None) -> None:
        if handshake is not None:
            self.add_flow(handshake)
        self._journal.append(WsOpen(t=t, conn=conn, path=redacted_path(path)))

    def ws_message(self, conn: int, t: float, from_client: bool, data: bytes, is_text: bool = True) -> None:
        if from_client:
            self._note_subscription(data)
        self._journal.append(WsMessage(t=t, conn=conn, from_client=from_client, data=data, is_text=is_text))

    def ws_close(self, conn: int, t: float, code: int | None, by_client: bool) -> None:
        self._journal.append(WsClose(t=t, conn=conn, code=code, by_client=by_client))

    def _note_subscription(self, data: bytes) -> None:
        channel, ident = subscription_of(data)
        if channel:
            self.channels.add(f"{channel}:{ident}" if ident else channel)
            if ident and channel in ("v4_orderbook", "v4_trades", "v4_candles"):
                self.markets.add(ident.split("/", 1)[0])

    def close(self, *, network: str, upstream: str, provenance: dict[str, Any],
              markets: Iterable[str] = (), extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Finish both files and write the manifest; returns it."""
        self._flows.flush()
        os.fsync(self._flows.fileno())
        self._flows.close()
        self._journal.close()
        return write_manifest(self.path, markets=self.markets | set(markets), channels=self.channels,
                              network=network, upstream=upstream, provenance=provenance, extra=extra)


# ---------------------------------------------------------------------------------------------------
# The journal and the manifest


def journal_line(entry: WsOpen | WsMessage | WsClose) -> bytes:
    if isinstance(entry, WsMessage):
        line: dict[str, Any] = {"t": entry.t, "conn": entry.conn, "ev": "msg", "from_client": entry.from_client}
        if entry.is_text:
            line["text"] = entry.data.decode("utf-8", "surrogateescape")
        else:
            line["b64"] = base64.b64encode(entry.data).decode()
    elif isinstance(entry, WsOpen):
        line = {"t": entry.t, "conn": entry.conn, "ev": "open", "path": entry.path}
    else:
        line = {"t": entry.t, "conn": entry.conn, "ev": "close", "code": entry.code, "by_client": entry.by_client}
    try:
        return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    except UnicodeEncodeError:  # a text frame that was not UTF-8: its stray bytes stay as \udcXX escapes
        return json.dumps(line, separators=(",", ":")).encode() + b"\n"


class JournalWriter:
    """Appends journal lines durably: each line is written and flushed at once (a killed process loses at
    most the line being written); fsync runs at most every `fsync_every` seconds and on close."""

    def __init__(self, path: Path, fsync_every: float = 0.25) -> None:
        self.path = path
        self._file: IO[bytes] = open(path, "ab", buffering=0)
        self._fsync_every = fsync_every
        self._last_sync = time.monotonic()
        self.lines = 0

    def append(self, entry: WsOpen | WsMessage | WsClose) -> None:
        self._file.write(journal_line(entry))
        self.lines += 1
        now = time.monotonic()
        if now - self._last_sync >= self._fsync_every:
            os.fsync(self._file.fileno())
            self._last_sync = now

    def close(self) -> None:
        if not self._file.closed:
            os.fsync(self._file.fileno())
            self._file.close()


def write_manifest(path: Path, *, markets: Iterable[str], channels: Iterable[str], network: str,
                   upstream: str, provenance: dict[str, Any], extra: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Write `manifest.json` for a closed recording directory (after both files are complete)."""
    from mitmproxy import version

    recording = Recording(path=path, flows_path=path / FLOWS,
                          journal_path=path / JOURNAL if (path / JOURNAL).exists() else None,
                          manifest={"format": FORMAT})
    summary = recording.summary() if recording.journal_path else {"counts": {}, "start": None, "end": None}
    files = {}
    for name in (FLOWS, JOURNAL):
        if (path / name).exists():
            size, digest = file_digest(path / name)
            files[name] = {"bytes": size, "sha256": digest}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_by": "dydx-bot",
        "mitmproxy_version": version.VERSION,
        "flow_format_version": version.FLOW_FORMAT_VERSION,
        "network": network,
        "upstream": upstream,
        "markets": sorted(set(markets)),
        "channels": sorted(set(channels)),
        "start": summary["start"],
        "end": summary["end"],
        "counts": summary["counts"],
        "files": files,
        "provenance": provenance,
        **(extra or {}),
    }
    tmp = path / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path / MANIFEST)  # never a half-written manifest
    return manifest
