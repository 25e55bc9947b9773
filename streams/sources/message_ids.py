"""Gap detection for one Indexer WebSocket: the only sequence the protocol offers.

The server numbers every frame of a connection with one counter across all channels, so on one socket
ids must strictly increase; forward jumps are normal (other channels share the counter). Two kinds of
frame are exempt from ordering: `subscribed`, whose id is reserved when the request arrives but which is
sent only after the server's initial fetch (frames with higher ids can come first), and `error`, which
reuses the current id. A connection_id that changes on an open socket means the server side was
replaced behind it (e.g. a proxy reconnected upstream).
"""

from __future__ import annotations


class MessageIdCheck:
    """Feed it each server frame of one socket; it answers why the connection must resync, or None."""

    def __init__(self) -> None:
        self.connection_id: str | None = None
        self.last: int | None = None

    def check(self, kind: str, connection_id: str | None, message_id: int | None) -> str | None:
        if connection_id is not None:
            if self.connection_id is None:
                self.connection_id = connection_id
            elif connection_id != self.connection_id:
                return f"new connection_id {connection_id} on an open connection (was {self.connection_id})"
        if message_id is None or kind in ("subscribed", "error"):
            return None
        if self.last is not None and message_id <= self.last:
            if message_id == self.last:
                return f"message_id {message_id} repeated"
            return f"message_id went back from {self.last} to {message_id}"
        self.last = message_id
        return None
