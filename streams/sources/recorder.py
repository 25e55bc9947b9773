"""Records Indexer traffic through mitmproxy in reverse-proxy mode.

Clients talk plain HTTP/WS to 127.0.0.1 (no CA to install anywhere); mitmproxy speaks TLS to the
indexer and verifies its certificate. `RecorderAddon` writes as traffic passes (see `recording.py` for
the format): each REST exchange is flushed to the flow file when its response arrives, each WebSocket
message is journaled when it arrives and then dropped from the flow, so a crash loses at most the last
message and a session of hours does not grow memory.

`Recorder` hosts mitmproxy in a thread of its own with its own event loop: mitmproxy allows one master
per process and wants to own its loop, and the client driving the traffic keeps the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.addons import default_addons
from mitmproxy.master import Master
from mitmproxy.options import Options
from mitmproxy.proxy.mode_specs import ProxyMode

from streams.kernel.loopback import plaintext_off_loopback, refusal
from streams.sources.recording_writer import RecordingWriter

LISTEN_HOST = "127.0.0.1"
WS_PATH = "/v4/ws"
STOP_TIMEOUT = 5.0  # seconds for open connections to close before the proxy stops regardless


class RecorderError(RuntimeError):
    """The recording proxy could not start, or stopped because it could not write."""


class RecorderAddon:
    """mitmproxy addon writing every answered REST request and every WebSocket event to a recording.

    Hooks run on mitmproxy's event loop, the only thread that touches the writer. mitmproxy logs and
    swallows exceptions from addons, so a write that fails (disk full) is kept in `failure` and stops
    the proxy rather than losing data silently. Once closed or failed, it writes nothing more.
    """

    def __init__(self, writer: RecordingWriter, manifest: dict[str, Any]) -> None:
        self.writer = writer
        self._manifest = manifest  # keyword arguments for `RecordingWriter.close`
        self._open: dict[str, int] = {}  # flow id -> journal connection number, while the socket is open
        self._connections = 0
        self.upstream_errors = 0  # counted, not kept: an upstream down for hours must not grow memory
        self.first_upstream_error: str | None = None  # the cause; later ones may be the stop's own
        self.last_upstream_error: str | None = None
        self.failure: OSError | None = None
        self.manifest: dict[str, Any] | None = None

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:  # a handshake is written by websocket_start
            self._write(self.writer.add_flow, flow)

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        self._connections += 1
        self._open[flow.id] = self._connections
        self._write(self.writer.ws_open, self._connections, flow.response.timestamp_end or time.time(),
                    flow.request.path, flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        # The websocket layer keeps its own reference to the message it relays after this hook, so the
        # flow can forget it: otherwise an open connection holds every message it ever carried.
        message = flow.websocket.messages.pop()
        self._write(self.writer.ws_message, self._open[flow.id], message.timestamp, message.from_client,
                    message.content, message.is_text)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        self._write(self.writer.ws_close, self._open.pop(flow.id), flow.websocket.timestamp_end or time.time(),
                    flow.websocket.close_code, bool(flow.websocket.closed_by_client))

    def error(self, flow: http.HTTPFlow) -> None:
        """A request the upstream did not answer (unreachable, certificate refused): nothing to record."""
        assert flow.error is not None
        self.upstream_errors += 1
        self.last_upstream_error = f"{flow.request.method} {flow.request.path}: {flow.error.msg}"
        self.first_upstream_error = self.first_upstream_error or self.last_upstream_error

    def done(self) -> None:
        now = time.time()
        for conn in self._open.values():  # still open at the stop: the stop is their end
            self._write(self.writer.ws_close, conn, now, None, False)
        provenance = {**self._manifest["provenance"], "stopped_at": _iso(now),
                      "upstream_errors": self.upstream_errors}
        self.manifest = self._write(self.writer.close, **{**self._manifest, "provenance": provenance})

    def _write(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.manifest is not None or self.failure is not None:
            return None
        try:
            return write(*args, **kwargs)
        except OSError as exc:
            self.failure = exc
            ctx.master.shutdown()
            return None


class Recorder:
    """mitmproxy in reverse mode in front of `upstream`, recording into the new directory `out`.

    `start()` returns once the proxy listens on an ephemeral loopback port: point clients at `rest_url`
    and `ws_url`. `stop()` closes the clients' connections (so every socket ends in the journal), stops
    the proxy and returns the manifest. Upstream TLS is always verified; `trusted_ca` (a PEM file) adds a
    trust anchor for a test server, it never turns verification off.
    """

    def __init__(self, out: str | os.PathLike[str], upstream: str, *, network: str = "custom",
                 markets: Iterable[str] = (), trusted_ca: str | None = None) -> None:
        if plaintext_off_loopback(upstream):
            raise RecorderError(refusal("upstream", upstream))
        try:
            self._mode = ProxyMode.parse(f"reverse:{upstream}")
        except ValueError as exc:
            raise RecorderError(f"invalid upstream {upstream!r}: {exc}") from None
        self.out = out
        self._network = network
        self._markets = list(markets)
        self._trusted_ca = trusted_ca
        self.addon: RecorderAddon | None = None
        self.port: int | None = None
        self._master: Master | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: Exception | None = None  # why the proxy did not start, or its thread failed
        self._thread = threading.Thread(target=self._serve, name="mitmproxy-recorder", daemon=True)

    @property
    def rest_url(self) -> str:
        return f"http://{LISTEN_HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LISTEN_HOST}:{self.port}{WS_PATH}"

    def start(self) -> Recorder:
        """Start the proxy; RecorderError (or RecordingError for an `out` that holds a recording) if it
        cannot, in which case nothing was written."""
        self._thread.start()
        self._ready.wait()
        if self.addon is None:
            self._thread.join()
            assert self._error is not None
            raise self._error
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the proxy stopped by itself (a write failed) or `timeout`; True if it stopped."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> dict[str, Any]:
        """Stop recording and return the manifest; RecorderError if the recording could not be finished."""
        if self._thread.is_alive():
            assert self._loop is not None
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the proxy is stopping anyway
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            self._thread.join()
        assert self.addon is not None
        if self.addon.failure is not None:
            raise RecorderError(f"{self.out}: recording stopped, could not write: {self.addon.failure}")
        if self.addon.manifest is None:
            raise RecorderError(f"{self.out}: the recording was not closed ({self._error or 'no manifest'})")
        return self.addon.manifest

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the proxy's thread ----------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception as exc:  # reported by start() or stop()
            self._error = exc
        finally:
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        # mitmproxy makes a CA in its confdir (~/.mitmproxy by default) at start-up. The client side is
        # plain HTTP and the upstream is verified against certifi's roots, so no CA is ever used: a
        # throwaway confdir keeps the user's home untouched.
        with tempfile.TemporaryDirectory(prefix="dydx-bot-mitmproxy-") as confdir:
            await self._run_master(Options(confdir=confdir, mode=[self._mode.full_spec],
                                           listen_host=LISTEN_HOST, listen_port=0))

    async def _run_master(self, options: Options) -> None:
        master = Master(options)
        master.addons.add(*default_addons())
        # Addon options exist only now. Lazy: the upstream is dialled per request, so a refused
        # connection becomes a 502 the client can read (and the `error` hook reports it).
        master.options.update(connection_strategy="lazy")
        if self._trusted_ca:
            master.options.update(ssl_verify_upstream_trusted_ca=self._trusted_ca)
        master.addons.add(_Listening(self._listening))
        self._master = master
        try:
            await master.run()
        finally:  # however the master stopped, end the connections before the loop cancels them
            await self._disconnect_clients()

    def _listening(self, addresses: list[tuple[str, int]], errors: list[Exception]) -> None:
        """Once mitmproxy listens, open the recording (not before: a proxy that cannot start leaves no
        empty recording behind) and let `start()` return."""
        assert self._master is not None
        try:
            if not addresses:
                raise RecorderError(f"could not listen on {LISTEN_HOST}: "
                                    + ("; ".join(map(str, errors)) or "no server started"))
            started = _iso(time.time())
            manifest = {"network": self._network, "upstream": self._mode.data, "markets": self._markets,
                        "provenance": {"recorder": "dydx-bot record (mitmproxy reverse proxy)",
                                       "started_at": started, "versions": _versions()}}
            addon = RecorderAddon(RecordingWriter(self.out), manifest)
        except Exception as exc:  # mitmproxy would swallow it and start() would wait for ever
            self._error = exc
            self._master.shutdown()
        else:
            self._master.addons.add(addon)
            self.port = addresses[0][1]
            self.addon = addon
        finally:
            self._ready.set()

    async def _shutdown(self) -> None:
        await self._disconnect_clients()
        assert self._master is not None
        self._master.shutdown()

    async def _disconnect_clients(self) -> None:
        """Close every client connection the way mitmproxy's idle timeout does, so each WebSocket ends
        with its `websocket_end` (and a close frame upstream) rather than being cut when the loop ends."""
        assert self._master is not None
        proxyserver = self._master.addons.get("proxyserver")
        for handler in list(proxyserver.connections.values()):
            client = handler.transports.get(handler.client)
            if client is not None and client.handler is not None:
                client.handler.cancel("recorder stopping")
        deadline = time.monotonic() + STOP_TIMEOUT
        while proxyserver.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


class _Listening:
    """Hands the listening addresses (or why there are none) to `callback` once mitmproxy is up."""

    def __init__(self, callback: Callable[[list[tuple[str, int]], list[Exception]], None]) -> None:
        self._callback = callback

    def running(self) -> None:
        proxyserver = ctx.master.addons.get("proxyserver")
        errors = [s.last_exception for s in proxyserver.servers if s.last_exception is not None]
        self._callback(proxyserver.listen_addrs(), errors)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("dydx-bot", "dydx-v4-client"):  # the manifest records mitmproxy's own version
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions
