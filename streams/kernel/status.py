"""What a source says about itself: the JSON carried by `kind="status"` frames.

Data health and the UI read these to show connections, subscriptions, reconnects and resyncs next to
the data itself; only the fields that apply to an event are written.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from streams.kernel.frames import Frame

StatusEvent = Literal[
    "connecting",  # a socket is being opened (url, attempt)
    "connected",  # the server said `connected` (connection_id)
    "subscribed",  # a subscription's snapshot arrived (channel, id, message_id)
    "reconnecting",  # the socket is gone; the next one opens after `delay` s (attempt, reason, code)
    "resync",  # a fresh snapshot is needed (channel, id, message_id when a frame caused it; reason)
    "stale",  # a subscription is silent or unanswered and is renewed (channel, id, reason)
    "retry",  # a REST request failed and is retried after `delay` s (path, status, attempt, reason)
    "error",  # a REST request failed for good (path, status, reason)
    "tick",  # a heartbeat when the source emitted nothing for a while: event time moves on in silence
]


class SourceStatus(msgspec.Struct, frozen=True, omit_defaults=True):
    event: StatusEvent
    conn: int = 0
    url: str | None = None
    connection_id: str | None = None
    channel: str | None = None
    id: str | None = None
    message_id: int | None = None
    path: str | None = None
    status: int | None = None
    code: int | None = None
    attempt: int | None = None
    delay: float | None = None
    reason: str | None = None


_decoder = msgspec.json.Decoder(SourceStatus)


def status_frame(t: float, status: SourceStatus) -> Frame:
    return Frame(t=t, kind="status", data=msgspec.json.encode(status), conn=status.conn)


def read_status(frame: Frame) -> SourceStatus:
    """The status a `kind="status"` frame carries (raises `msgspec.DecodeError` on anything else)."""
    return _decoder.decode(frame.data)


def lost_because(status: SourceStatus) -> str:
    """Why a `reconnecting` connection was lost, in words."""
    return f"{status.reason or 'connection lost'}" + (f" (code {status.code})" if status.code else "")


def trouble(status: SourceStatus) -> str | None:
    """What went wrong, in one line, for the statuses a user must hear of (a lost connection, a request
    that failed for good); None for the others."""
    if status.event == "reconnecting":
        return f"{lost_because(status)}; reconnecting in {status.delay or 0:g} s"
    if status.event == "error":
        return f"{status.path} failed: {status.reason}"
    return None
