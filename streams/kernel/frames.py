"""The raw unit every source emits: one server message (or REST answer) with its arrival time.

Live and replay differ only in where frames come from; everything above parses the same frames.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

FrameKind = Literal["ws", "rest", "status"]


class Frame(Struct, frozen=True):
    """`t` is the arrival time in epoch seconds (as recorded, or the live receive time).

    `conn` numbers the WebSocket connection within one source (REST frames use 0); `path` is the
    REST request path with its query (or the WebSocket URL path); `status` is the HTTP status for
    REST frames. A `status` frame carries a source event (connected, reconnecting, resync...) as JSON.
    """

    t: float
    kind: FrameKind
    data: bytes
    conn: int = 0
    path: str = ""
    status: int = 0
