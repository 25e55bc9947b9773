"""A loopback server that plays a recording to the unmodified dYdX clients (`dydx-bot serve`).

mitmproxy's server replay answers HTTP only and cannot play WebSocket server messages; this server
plays both, from any recording `open_recording` accepts:

- REST: the recorded responses keyed by method + raw path?query, with the recorded status, body,
  content type and Retry-After. Repeated requests get that key's responses in recorded order, the last
  one repeating (so a recorded 429 or 5xx is served where it happened). Anything unrecorded is a 404 in
  the indexer's error shape, naming the path.
- WebSocket: the n-th connection to a path plays the n-th session recorded on that path. A run of
  consecutive recorded client messages is a gate: playback waits until the live client has sent each
  of them (matched on type, channel and id, in any order within the run); the server messages after it
  go out verbatim at `anchor + (t - t_anchor) / speed`, re-anchored at each gate so nothing drifts.

Where a recording cannot say what a live client should get, these policies apply:

- A client JSON `{"type":"ping"}` is ignored, as the indexer does; recorded ones are no gates.
  WebSocket ping frames are answered, and the server pings every `ping_interval` s like the indexer.
- An `unsubscribe` that the current gate does not expect is tolerated and ignored (a client
  unsubscribes on shutdown, which the recording may not have reached); playback goes on verbatim.
- Any other unexpected message closes with 1008, an expected message that is late by `gate_timeout`
  closes with 1011; both close reasons say what was expected and what came.
- At the end of a session the recorded server close is replayed (a recorded drop, which has no close
  code, ends the TCP connection without a close frame); otherwise the server closes 1000 "end of
  recording", or with `idle_at_end` stays open until the client leaves.
- A connection beyond the recorded sessions is closed 1001 rather than played again from the start:
  a wrapped-around session would rewind event time and repeat connection and message ids.

The recording is loaded whole when the server is built (every session can be played again by a new
client); a bad recording raises `RecordingError` there, before anything listens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeGuard

from aiohttp import WSMsgType, web

from streams.sources.recording import (
    Recording,
    RecordingError,
    RestExchange,
    WsClose,
    WsMessage,
    WsOpen,
    open_recording,
)
from streams.sources.replay import CHUNK, MAX

log = logging.getLogger(__name__)

CLOSE_END = 1000
"""The recorded session is over and the recording does not say the server closed it."""
CLOSE_GOING_AWAY = 1001
"""No recorded session is left for this connection, or the server stops."""
CLOSE_DIVERGED = 1008
"""The client sent a message the recording does not expect (the indexer's code for invalid messages)."""
CLOSE_TIMEOUT = 1011
"""An expected client message did not come in time (the indexer's code for a heartbeat timeout)."""
MAX_REASON_BYTES = 123
"""The most a close frame's reason can hold (RFC 6455, 5.5)."""

DEFAULT_WS_PATH = "/v4/ws"

MessageKey = tuple[str | None, ...]
"""What a client message is matched on: (type, channel, id) for JSON, else ("raw", text)."""

PING: MessageKey = ("ping", None, None)


def message_key(data: bytes | str) -> MessageKey:
    try:
        message = json.loads(data)
    except ValueError:
        message = None
    if isinstance(message, dict) and isinstance(message.get("type"), str):
        return (message["type"], _optional_str(message.get("channel")), _optional_str(message.get("id")))
    return ("raw", data if isinstance(data, str) else data.decode("utf-8", "replace"))


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def describe(key: MessageKey) -> str:
    """`subscribe v4_orderbook ETH-USD`, `subscribe v4_markets`, or the start of a raw message."""
    if key[0] == "raw":
        return f"message {(key[1] or '')[:40]!r}"
    return " ".join(part for part in key if part is not None)


# ---------------------------------------------------------------------------------------------------
# The recording as a script: REST answers and, per WebSocket path, sessions of gates and sends


@dataclass(frozen=True, slots=True)
class Send:
    t: float
    data: bytes
    is_text: bool


@dataclass(frozen=True, slots=True)
class Gate:
    t: float  # when the run's last client message was recorded: what follows is timed from here
    expected: tuple[MessageKey, ...]


Step = Send | Gate


@dataclass(frozen=True, slots=True)
class RecordedSocket:
    """One recorded WebSocket connection."""

    conn: int  # its number in the recording
    path: str
    t_open: float
    steps: tuple[Step, ...]
    close: WsClose | None

    @property
    def gates(self) -> list[Gate]:
        return [step for step in self.steps if isinstance(step, Gate)]


@dataclass(frozen=True)
class ReplayScript:
    rest: Mapping[tuple[str, str], Sequence[RestExchange]]  # (method, path?query) -> in recorded order
    sessions: Mapping[str, Sequence[RecordedSocket]]  # WebSocket path?query -> in opening order


@dataclass
class _SessionDraft:
    opened: WsOpen
    steps: list[Step] = field(default_factory=list)
    close: WsClose | None = None

    def add(self, entry: WsMessage | WsClose) -> None:
        if isinstance(entry, WsClose):
            self.close = entry
        elif not entry.from_client:
            self.steps.append(Send(entry.t, entry.data, entry.is_text))
        elif (key := message_key(entry.data)) != PING:
            last = self.steps[-1] if self.steps else None
            if isinstance(last, Gate):
                self.steps[-1] = Gate(entry.t, last.expected + (key,))
            else:
                self.steps.append(Gate(entry.t, (key,)))

    def session(self) -> RecordedSocket:
        return RecordedSocket(self.opened.conn, self.opened.path, self.opened.t, tuple(self.steps), self.close)


def load_script(recording: Recording) -> ReplayScript:
    """Everything the server plays, read once (each session can be played again by a new client)."""
    rest: defaultdict[tuple[str, str], list[RestExchange]] = defaultdict(list)
    drafts: dict[int, _SessionDraft] = {}
    for entry in recording.entries():
        if isinstance(entry, RestExchange):
            rest[(entry.method, entry.path)].append(entry)
        elif isinstance(entry, WsOpen):
            drafts[entry.conn] = _SessionDraft(entry)
        elif (draft := drafts.get(entry.conn)) is not None:
            draft.add(entry)
        else:
            raise RecordingError(f"{recording.path}: WebSocket connection {entry.conn} has a message or "
                                 f"close at t={entry.t} before it opened")
    sessions: defaultdict[str, list[RecordedSocket]] = defaultdict(list)
    for draft in drafts.values():  # in opening order
        sessions[draft.opened.path].append(draft.session())
    return ReplayScript(rest=dict(rest), sessions=dict(sessions))


# ---------------------------------------------------------------------------------------------------
# Timing and matching, without I/O


@dataclass(frozen=True, slots=True)
class Schedule:
    """When recorded time `t` is due on the server's clock: `anchor + (t - t_anchor) / speed`
    (speed `MAX`: at once)."""

    anchor: float
    t_anchor: float
    speed: float | None

    def due(self, t: float) -> float:
        if self.speed is MAX:
            return self.anchor
        return self.anchor + max(0.0, t - self.t_anchor) / self.speed

    def reanchored(self, t: float, now: float) -> Schedule:
        """The schedule after a gate recorded at `t` opened at `now`: a late client delays what follows by
        its lateness; an early one does not pull it forward."""
        return Schedule(max(now, self.due(t)), t, self.speed)


class GateTracker:
    """Matches the live client's messages against a session's gates, in order.

    A message counts towards the first gate not yet complete, in any order within it, so a client may
    complete gates before playback reaches them.
    """

    def __init__(self, gates: Sequence[Gate]) -> None:
        self._gates = gates
        self.completed = 0
        self._pending = self._expected(0)

    def _expected(self, index: int) -> Counter[MessageKey]:
        return Counter(self._gates[index].expected) if index < len(self._gates) else Counter()

    def accept(self, key: MessageKey) -> str | None:
        """None when the message is expected or tolerated, else how the client diverged."""
        if key == PING:
            return None
        if self._pending[key]:
            self._pending[key] -= 1
            if not +self._pending:
                self.completed += 1
                self._pending = self._expected(self.completed)
            return None
        if key[0] == "unsubscribe":
            return None
        return f"got {describe(key)}, recording expects {self.expecting()}"

    def expecting(self) -> str:
        pending = [describe(key) for key in (+self._pending).elements()]
        return " + ".join(pending) if pending else "no more client messages"


# ---------------------------------------------------------------------------------------------------
# The server


class ReplayUrls(NamedTuple):
    rest_url: str
    ws_url: str


def _sendable(code: int | None) -> TypeGuard[int]:
    """Whether a close frame may carry `code` (1005, 1006 and 1015 only describe a connection)."""
    return code is not None and (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999)


def close_reason(text: str) -> bytes:
    """`text` cut to what a close frame holds, between characters."""
    return text.encode()[:MAX_REASON_BYTES].decode("utf-8", "ignore").encode()


class ReplayServer:
    """Serves a recording on `host:port` (port 0: a free one). `start()` returns the URLs to give
    `IndexerClient` and `IndexerSocket`; `stop()` closes open connections with 1001."""

    def __init__(self, recording: str | os.PathLike[str] | Recording, *, host: str = "127.0.0.1",
                 port: int = 0, speed: float | None = 1.0, gate_timeout: float = 10.0,
                 ping_interval: float | None = 30.0, idle_at_end: bool = False) -> None:
        if not isinstance(recording, Recording):
            recording = open_recording(recording)
        self.recording = recording
        self.script = load_script(recording)
        for warning in recording.warnings:  # e.g. a recorder that was killed: served as far as it wrote
            log.warning("%s", warning)
        self.host, self.port = host, port
        self.speed = speed
        self.gate_timeout = gate_timeout
        self.ping_interval = ping_interval or None
        self.idle_at_end = idle_at_end
        self._rest_served: Counter[tuple[str, str]] = Counter()
        self._ws_served: Counter[str] = Counter()
        self._open: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self.urls: ReplayUrls | None = None

    async def start(self) -> ReplayUrls:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_shutdown.append(self._close_open_connections)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self.stop()
            raise
        port = self._runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        ws_path = next(iter(self.script.sessions), DEFAULT_WS_PATH)
        self.urls = ReplayUrls(f"http://{host}:{port}", f"ws://{host}:{port}{ws_path}")
        return self.urls

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> ReplayUrls:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _close_open_connections(self, _app: web.Application) -> None:
        for ws in list(self._open):
            await ws.close(code=CLOSE_GOING_AWAY, message=b"replay server stopping")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.raw_path
        sessions = self.script.sessions.get(path)
        if sessions is None or request.headers.get("Upgrade", "").lower() != "websocket":
            return self._rest(request)
        ws = web.WebSocketResponse(heartbeat=self.ping_interval)
        await ws.prepare(request)
        number = self._ws_served[path]
        self._ws_served[path] += 1
        if number >= len(sessions):
            log.warning("WebSocket connection %d to %s: the recording has only %d session(s)",
                        number + 1, path, len(sessions))
            await ws.close(code=CLOSE_GOING_AWAY, message=close_reason(
                f"recording exhausted: all {len(sessions)} WebSocket session(s) on {path} were played"))
            return ws
        session = sessions[number]
        log.info("WebSocket connection %d to %s plays recorded connection %d (%d steps)",
                 number + 1, path, session.conn, len(session.steps))
        self._open.add(ws)
        try:
            await _Connection(self, ws, request, session).run()
        finally:
            self._open.discard(ws)
        return ws

    def _rest(self, request: web.Request) -> web.Response:
        key = (request.method, request.raw_path)
        answers = self.script.rest.get(key)
        if not answers:
            log.warning("unrecorded request %s %s: 404", *key)
            return web.json_response({"errors": [{"msg": f"no recorded response for {key[0]} {key[1]}"}]},
                                     status=404)
        answer = answers[min(self._rest_served[key], len(answers) - 1)]
        self._rest_served[key] += 1
        headers = {"Content-Type": answer.content_type} if answer.content_type else {}
        if answer.retry_after is not None:
            headers["Retry-After"] = answer.retry_after
        return web.Response(status=answer.status, body=answer.body, headers=headers)


class _Connection:
    """One live client playing one recorded session: this task reads the client, a second one plays."""

    def __init__(self, server: ReplayServer, ws: web.WebSocketResponse, request: web.Request,
                 session: RecordedSocket) -> None:
        self.server = server
        self.ws = ws
        self.request = request
        self.session = session
        self.gates = GateTracker(session.gates)
        self._progress = asyncio.Event()
        self._playback_closing = False

    async def run(self) -> None:
        playback = asyncio.create_task(self._play())
        try:
            await self._receive()
        finally:
            if not self._playback_closing:  # else let it finish the closing handshake it started
                playback.cancel()
            await asyncio.wait([playback])
        if not playback.cancelled():
            playback.result()

    async def _receive(self) -> None:
        async for message in self.ws:
            if message.type is WSMsgType.ERROR:  # a protocol error: aiohttp has closed the connection
                return
            problem = self.gates.accept(message_key(message.data))
            if problem is not None:
                await self._close(CLOSE_DIVERGED, f"diverged: {problem}", logging.WARNING)
                return
            self._progress.set()

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        schedule = Schedule(loop.time(), self.session.t_open, self.server.speed)
        gates_passed = 0
        sent = 0
        try:
            for step in self.session.steps:
                if isinstance(step, Gate):
                    deadline = schedule.due(step.t) + self.server.gate_timeout
                    if not await self._gate_opened(gates_passed, deadline):
                        await self._end_with(CLOSE_TIMEOUT, f"timeout: no {self.gates.expecting()} within "
                                                            f"{self.server.gate_timeout:g} s", logging.WARNING)
                        return
                    gates_passed += 1
                    schedule = schedule.reanchored(step.t, loop.time())
                    continue
                sent += 1
                delay = schedule.due(step.t) - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif sent % CHUNK == 0:
                    await asyncio.sleep(0)  # let the client's messages in during a burst
                await self.ws.send_frame(step.data, WSMsgType.TEXT if step.is_text else WSMsgType.BINARY)
            await self._end(schedule)
        except ConnectionResetError:
            log.info("recorded connection %d: the client left during playback", self.session.conn)

    async def _gate_opened(self, index: int, deadline: float) -> bool:
        while self.gates.completed <= index:
            self._progress.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._progress.wait()
            except TimeoutError:
                return False
        return True

    async def _end(self, schedule: Schedule) -> None:
        close = self.session.close
        if close is None or close.by_client:
            if not self.server.idle_at_end:
                await self._end_with(CLOSE_END, "end of recording")
            return
        delay = schedule.due(close.t) - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
        if _sendable(close.code):
            await self._end_with(close.code, "recorded close")
        elif (transport := self.request.transport) is not None:
            log.info("recorded connection %d was dropped (close code %s): dropping the client",
                     self.session.conn, close.code)
            transport.close()  # what was sent is still delivered, then the TCP connection ends

    async def _end_with(self, code: int, reason: str, level: int = logging.INFO) -> None:
        self._playback_closing = True
        await self._close(code, reason, level)

    async def _close(self, code: int, reason: str, level: int = logging.INFO) -> None:
        log.log(level, "recorded connection %d: closing with %d: %s", self.session.conn, code, reason)
        await self.ws.close(code=code, message=close_reason(reason))
