"""Servers for tests that drive blocking clients (an `IndexerSocket` thread, a subprocess, the app):
the server runs on its own event loop in a background thread, so the test's own loop stays free."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from streams.sources.recording import Recording
from streams.sources.replay_server import ReplayServer, ReplayUrls

STARTUP_TIMEOUT = 10.0
"""Seconds to wait for the server to start or stop: a guard against hangs, never a measurement."""


@contextmanager
def replay_server(recording: str | os.PathLike[str] | Recording, **options: Any) -> Iterator[ReplayUrls]:
    """Serve `recording` on 127.0.0.1 (a free port) and yield `(rest_url, ws_url)`.

    `options` are `ReplayServer`'s (speed, gate_timeout, ping_interval, idle_at_end). A bad recording
    raises `RecordingError` here, before any thread starts.
    """
    server = ReplayServer(recording, **options)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="replay-server", daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(server.start(), loop).result(STARTUP_TIMEOUT)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(STARTUP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STARTUP_TIMEOUT)
        loop.close()
