"""Frames -> typed events. Never raises: anything malformed becomes a `ParseError` that says what was
wrong and where, and the stream goes on."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import GenericAlias
from typing import Any

import msgspec
from reactivex import Observable

from streams.kernel import rx
from streams.kernel.frames import Frame
from streams.market import events as ev
from streams.market.hot_decode import decode_hot
from streams.sources.envelope import Envelope, decode_envelope

# channel -> (snapshot decoder, update decoder, batch decoder)
_CHANNELS: dict[str, tuple[msgspec.json.Decoder, msgspec.json.Decoder, msgspec.json.Decoder]] = {
    channel: (
        msgspec.json.Decoder(snapshot),
        msgspec.json.Decoder(update),
        msgspec.json.Decoder(GenericAlias(list, update)),  # list[update], which a checker reads as a type
    )
    for channel, snapshot, update in [
        ("v4_markets", ev.MarketsSnapshot, ev.MarketsUpdate),
        ("v4_orderbook", ev.OrderbookSnapshot, ev.OrderbookUpdate),
        ("v4_trades", ev.TradesSnapshot, ev.TradesUpdate),
        ("v4_candles", ev.CandlesSnapshot, ev.Candle),
        ("v4_subaccounts", ev.SubaccountSnapshot, ev.SubaccountUpdate),
        ("v4_parent_subaccounts", ev.ParentSubaccountSnapshot, ev.SubaccountUpdate),
        ("v4_block_height", ev.BlockHeightSnapshot, ev.BlockHeightUpdate),
    ]
}
CHANNELS = frozenset(_CHANNELS)

# REST path (without query) -> decoder of its body
_REST: list[tuple[re.Pattern[str], msgspec.json.Decoder]] = [
    (re.compile(pattern), msgspec.json.Decoder(body))
    for pattern, body in [
        (r"/v4/perpetualMarkets$", ev.PerpetualMarketsResponse),
        (r"/v4/candles/perpetualMarkets/[^/]+$", ev.CandlesResponse),
        (r"/v4/orderbooks/perpetualMarket/[^/]+$", ev.OrderbookResponse),
        (r"/v4/trades/perpetualMarket/[^/]+$", ev.TradesResponse),
        (r"/v4/historicalFunding/[^/]+$", ev.HistoricalFundingResponse),
        (r"/v4/addresses/[^/]+/subaccountNumber/\d+$", ev.SubaccountResponse),
        (r"/v4/addresses/[^/]+/parentSubaccountNumber/\d+$", ev.ParentSubaccountResponse),
        (r"/v4/addresses/[^/]+$", ev.AddressResponse),
        (r"/v4/fills(/parentSubaccountNumber)?$", ev.FillsResponse),
        (r"/v4/orders(/parentSubaccountNumber)?$", list[ev.Order]),
        (r"/v4/orders/[^/]+$", ev.Order),
        (r"/v4/assetPositions$", ev.AssetPositionsResponse),
        (r"/v4/perpetualPositions$", ev.PerpetualPositionsResponse),
        (r"/v4/height$", ev.HeightResponse),
        (r"/v4/time$", ev.TimeResponse),
    ]
]


def _error(frame: Frame, where: str, what: str) -> ev.ParseError:
    sample = frame.data[:120].decode("utf-8", "replace")
    return ev.ParseError(where=where, what=what, size=len(frame.data), sample=sample, t=frame.t,
                         conn=frame.conn)


def _ws_where(frame: Frame, env: Envelope | None = None) -> str:
    where = f"ws conn {frame.conn} frame at t={frame.t:.3f}"
    if env is not None:
        where += f" ({env.type} {env.channel or ''}{'/' + env.id if env.id else ''}"
        where += f" message_id {env.message_id})"
    return where


def _missing(env: Envelope, *names: str) -> str:
    """What is wrong with `env`, which lacks one of `names`: the first one it lacks."""
    missing = next(name for name in names if getattr(env, name) is None)
    return f"Object missing required field `{missing}`"


def parse_ws(frame: Frame) -> ev.Event:
    return decode_hot(frame) or parse_ws_general(frame)


def parse_ws_general(frame: Frame) -> ev.Event:
    """Any WebSocket frame, the hot channels' data frames too (`decode_hot` takes those first, faster)."""
    try:
        env = decode_envelope(frame.data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # bad UTF-8 is not a DecodeError
        return _error(frame, _ws_where(frame), str(exc))
    kind = env.type
    if kind == "error":
        return ev.IndexerError(message=env.message or "", connection_id=env.connection_id,
                               message_id=env.message_id, channel=env.channel, id=env.id,
                               t=frame.t, conn=frame.conn)
    if kind == "connected":
        if env.connection_id is None or env.message_id is None:
            return _error(frame, _ws_where(frame, env), _missing(env, "connection_id", "message_id"))
        return ev.Connected(connection_id=env.connection_id, message_id=env.message_id, t=frame.t,
                            conn=frame.conn)
    if kind not in ("subscribed", "channel_data", "channel_batch_data", "unsubscribed"):
        return _error(frame, _ws_where(frame, env), f"unknown message type {kind!r}")
    if env.connection_id is None or env.message_id is None or env.channel is None:
        return _error(frame, _ws_where(frame, env), _missing(env, "connection_id", "message_id", "channel"))
    decoders = _CHANNELS.get(env.channel)
    if decoders is None:
        return _error(frame, _ws_where(frame, env), f"unknown channel {env.channel!r}")
    if kind == "unsubscribed":
        return ev.Unsubscribed(connection_id=env.connection_id, message_id=env.message_id,
                               channel=env.channel, id=env.id, t=frame.t, conn=frame.conn)
    if not env.contents:
        return _error(frame, _ws_where(frame, env), "Object missing required field `contents`")
    snapshot, update, batch = decoders
    try:
        if kind == "subscribed":
            return ev.Subscribed(connection_id=env.connection_id, message_id=env.message_id,
                                 channel=env.channel, id=env.id, contents=snapshot.decode(env.contents),
                                 t=frame.t, conn=frame.conn)
        cls, decoder = (ev.ChannelData, update) if kind == "channel_data" else (ev.ChannelBatchData, batch)
        return cls(connection_id=env.connection_id, message_id=env.message_id, channel=env.channel,
                   id=env.id, version=env.version, subaccountNumber=env.subaccountNumber,
                   contents=decoder.decode(env.contents), t=frame.t, conn=frame.conn)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # bad UTF-8 is not a DecodeError
        # msgspec says `$...`: make it point into the frame's contents
        return _error(frame, _ws_where(frame, env), str(exc).replace("`$", "`$.contents"))


def parse_rest(frame: Frame) -> ev.Event | None:
    """A REST answer becomes a `RestResponse`; paths the bot does not use give None."""
    path = frame.path.split("?", 1)[0]
    for pattern, decoder in _REST:  # noqa: B007 - the pair the loop breaks on is the one used below
        if pattern.search(path):
            break
    else:
        return None
    where = f"rest {frame.path} (HTTP {frame.status}) at t={frame.t:.3f}"
    if frame.status != 200:
        return _error(frame, where, f"HTTP status {frame.status}")
    try:
        body = decoder.decode(frame.data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # bad UTF-8 is not a DecodeError
        return _error(frame, where, str(exc))
    return ev.RestResponse(path=frame.path, status=frame.status, body=body, t=frame.t)


def parse_frame(frame: Frame) -> ev.Event | None:
    if frame.kind == "ws":
        return decode_hot(frame) or parse_ws_general(frame)  # parse_ws, a call fewer
    if frame.kind == "rest":
        return parse_rest(frame)
    return None


def parse() -> Callable[[Observable[Frame]], Observable[ev.Event]]:
    """The operator: frames in, typed events out (status frames and unused REST paths dropped)."""
    return rx.filter_map(parse_frame)


_CHANNEL_MESSAGES = (ev.Subscribed, ev.ChannelData, ev.ChannelBatchData, ev.Unsubscribed)


RouteKey = tuple[type, str | None]


def route_key(event: ev.Event) -> RouteKey:
    """What a stage reads an event by (`rx.Routed`): its type and, for a channel's messages, the channel."""
    return type(event), getattr(event, "channel", None)


def channel_keys(name: str) -> tuple[RouteKey, ...]:
    """The route keys of every message of channel `name`."""
    return tuple((kind, name) for kind in _CHANNEL_MESSAGES)


REST: RouteKey = (ev.RestResponse, None)


def in_channel(event: Any, name: str, id: str | None = None) -> bool:
    """Whether `event` is a message of channel `name` (and of subscription `id`, when given)."""
    return isinstance(event, _CHANNEL_MESSAGES) and event.channel == name and (id is None or event.id == id)


def channel(name: str, id: str | None = None) -> Callable[[Observable[Any]], Observable[Any]]:
    """Keep one channel's messages (and one subscription id, when given)."""
    return rx.filter(lambda event: in_channel(event, name, id))
