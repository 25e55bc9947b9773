"""Writes recordings (see `recording.py` for the format): used by the mitmproxy recorder addon for live
traffic and by the bundled-recording builder for traffic it reconstructs.

Everything is durable as it goes: each flow is flushed when written, each journal line when appended,
and the manifest is written last, atomically, only by `close()`. Secrets never reach the files: every
flow is redacted on a copy before it is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

from mitmproxy import connection, http, io

from streams.sources.recording import (
    FLOWS, JOURNAL, MANIFEST, JournalWriter, RecordingError, WsClose, WsMessage, WsOpen, subscription_of,
    write_manifest,
)

REDACTED_REQUEST_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key", "api-key",
                            "x-forwarded-for", "forwarded", "x-real-ip")
REDACTED_RESPONSE_HEADERS = ("set-cookie",)
NOWHERE = ("0.0.0.0", 0)


def redacted(flow: http.HTTPFlow) -> http.HTTPFlow:
    """A copy of `flow` without credentials or the user's socket addresses (the live flow is untouched)."""
    copy = flow.copy()
    for name in REDACTED_REQUEST_HEADERS:
        if name in copy.request.headers:
            copy.request.headers[name] = "REDACTED"
    if copy.response is not None:
        for name in REDACTED_RESPONSE_HEADERS:
            if name in copy.response.headers:
                copy.response.headers[name] = "REDACTED"
    copy.client_conn.peername = NOWHERE
    copy.client_conn.sockname = NOWHERE
    copy.server_conn.sockname = None
    return copy


def make_flow(url: str, method: str, status: int, body: bytes, t_request: float, t_response: float,
              response_headers: dict[str, str] | None = None) -> http.HTTPFlow:
    """An HTTP flow built from scratch (for traffic the project reconstructs rather than proxies)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    client = connection.Client(peername=NOWHERE, sockname=NOWHERE, timestamp_start=t_request)
    server = connection.Server(address=(parts.hostname or "", port))
    flow = http.HTTPFlow(client, server)
    flow.request = http.Request.make(method, url, b"", {"host": parts.netloc})
    flow.request.timestamp_start = flow.request.timestamp_end = t_request
    flow.response = http.Response.make(status, body, response_headers or {"content-type": "application/json"})
    flow.response.timestamp_start = flow.response.timestamp_end = t_response
    return flow


class RecordingWriter:
    """Writes one recording directory. Refuses to write into a directory that already holds one."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory)
        if self.path.exists() and any((self.path / name).exists() for name in (FLOWS, JOURNAL, MANIFEST)):
            raise RecordingError(f"{self.path}: already holds a recording; choose a new --out")
        self.path.mkdir(parents=True, exist_ok=True)
        self._flows = open(self.path / FLOWS, "ab")
        self._flow_writer = io.FlowWriter(self._flows)
        self._journal = JournalWriter(self.path / JOURNAL)
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
        self._journal.append(WsOpen(t=t, conn=conn, path=path))

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
