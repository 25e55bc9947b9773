"""One-pass typed decode of the hot channels' data frames (issue 16): the orderbook, trades, markets and
candles `channel_data` / `channel_batch_data` frames, nine in ten of a session's, decoded envelope and
contents at once, where the general parser (`streams.market.parse`) decodes the envelope with its contents
raw, then the contents.

One msgspec union tagged on `channel` picks the channel's struct, whose `contents` is the channel's update
or a list of them (JSON tells them apart: an object or an array); the frame's `type` must then match that
shape. Anything else (another channel or message kind, any decode error) gives None, and the general
parser takes the frame: it makes the same event from a frame this takes, and its errors, with their
messages, from a frame this refuses. Each struct has the general envelope's fields with their types
(`message` too, unused here), so that a frame the general parser refuses is refused here as well
(`tests/market/test_hot_decode.py` feeds both paths the same frames and compares)."""

from __future__ import annotations

from typing import Any, Union

import msgspec

from streams.kernel.frames import Frame
from streams.market import events as ev


def _channel_struct(channel: str, update: Any) -> type[msgspec.Struct]:
    return msgspec.defstruct(
        f"Hot_{channel}",
        [("type", str), ("connection_id", str), ("message_id", int), ("contents", update | list[update]),
         ("id", str | None, None), ("version", str, ""), ("subaccountNumber", int | None, None),
         ("message", str | None, None)],
        tag_field="channel", tag=channel)


# the channel's struct -> its name
_CHANNEL: dict[type, str] = {
    _channel_struct(channel, update): channel
    for channel, update in [
        ("v4_orderbook", ev.OrderbookUpdate),
        ("v4_trades", ev.TradesUpdate),
        ("v4_markets", ev.MarketsUpdate),
        ("v4_candles", ev.Candle),
    ]
}

_decode = msgspec.json.Decoder(Union[tuple(_CHANNEL)]).decode  # noqa: UP007 - a union built at run time


def decode_hot(frame: Frame) -> ev.ChannelData | ev.ChannelBatchData | None:
    """`frame`'s event when it is a hot channel's data frame that decodes; None sends it to the general
    parser."""
    try:
        m = _decode(frame.data)
    except (msgspec.DecodeError, UnicodeDecodeError):  # the general parser says what was wrong
        return None
    contents = m.contents
    # positional, in the events' field order (cheaper than keywords; test_hot_decode compares every field)
    if m.type == "channel_batch_data":
        if contents.__class__ is not list:
            return None
        return ev.ChannelBatchData(m.connection_id, m.message_id, _CHANNEL[m.__class__], contents, m.id, m.version,
                                   m.subaccountNumber, frame.t, frame.conn)
    if m.type == "channel_data" and contents.__class__ is not list:
        return ev.ChannelData(m.connection_id, m.message_id, _CHANNEL[m.__class__], contents, m.id, m.version,
                              m.subaccountNumber, frame.t, frame.conn)
    return None
