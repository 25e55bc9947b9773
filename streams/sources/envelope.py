"""The fields every Indexer WebSocket frame shares, decoded without its contents: what the live source
needs to check message ids and spot errors, and where the parser starts (`streams.market.parse`)."""

from __future__ import annotations

import msgspec


class Envelope(msgspec.Struct):
    """The fields every server frame shares; `contents` stays raw until its channel is known."""

    type: str
    connection_id: str | None = None
    message_id: int | None = None
    channel: str | None = None
    id: str | None = None
    version: str = ""
    subaccountNumber: int | None = None
    message: str | None = None
    contents: msgspec.Raw = msgspec.Raw()


decode_envelope = msgspec.json.Decoder(Envelope).decode
