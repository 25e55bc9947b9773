"""The one-pass decode of the hot channels (`streams.market.hot_decode`) against the general parser: fed the
same frames (every frame of the bundled recording and of the hardening corpus's recording, frames made
malformed by hand and by mutation, and the real captures when ../shared is there), `parse_frame` (hot
path first) and `parse_ws_general` give equal events of the same type, errors with the same messages."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sources import DEFAULT_RECORDING
from streams.kernel.frames import Frame
from streams.market import events as ev
from streams.market.hot_decode import decode_hot
from streams.market.parse import parse_frame, parse_ws_general
from streams.sources.recording import open_recording
from tests.faults.test_fault_recordings import write
from tests.support.builders import mutate, mutation

HOT = {"v4_orderbook", "v4_trades", "v4_markets", "v4_candles"}


def assert_same(frame: Frame) -> ev.Event | None:
    """Both paths' event for `frame`, checked equal (type, fields, an error's what and where)."""
    general = parse_ws_general(frame)
    event = parse_frame(frame)
    assert type(event) is type(general) and event == general, (frame.data[:200], event, general)
    return event


def assert_taken_when_hot(frame: Frame, event: ev.Event | None) -> None:
    """A hot channel's data frame that parses is the hot path's (the general parser saw none of it)."""
    hot = isinstance(event, ev.ChannelData | ev.ChannelBatchData) and event.channel in HOT
    assert (decode_hot(frame) is not None) == hot, (frame.data[:200], event)


def ws_frames(path: Path) -> list[Frame]:
    return [frame for frame in open_recording(path).frames() if frame.kind == "ws"]


DEFAULT_FRAMES = ws_frames(DEFAULT_RECORDING)


def test_every_frame_of_the_bundled_recording_gives_the_same_event_both_ways():
    taken: Counter[str] = Counter()
    for frame in DEFAULT_FRAMES:
        event = assert_same(frame)
        assert_taken_when_hot(frame, event)
        if decode_hot(frame) is not None:
            taken[type(event).__name__] += 1
    # what the recording holds: 13,262 of its 13,270 WebSocket frames are hot channels' batches
    assert taken == {"ChannelBatchData": 13_262}


def test_every_frame_of_the_hardening_recording_gives_the_same_event_both_ways(tmp_path):
    path, _ = write(tmp_path / "rec")
    frames = ws_frames(path)
    kinds = Counter(type(assert_same(frame)).__name__ for frame in frames)
    for frame in frames:
        assert_taken_when_hot(frame, parse_frame(frame))
    assert kinds["ChannelData"] + kinds["ChannelBatchData"] > 0, kinds


def _frame(message: dict | bytes, t: float = 7.0) -> Frame:
    data = message if isinstance(message, bytes) else json.dumps(message).encode()
    return Frame(t=t, kind="ws", data=data, conn=1)


_DATA = {"type": "channel_data", "connection_id": "c", "message_id": 3, "channel": "v4_trades", "id": "ETH-USD",
         "contents": {"trades": [{"id": "1", "side": "BUY", "size": "1", "price": "5", "createdAt": "x"}]}}
_BATCH = {**_DATA, "type": "channel_batch_data", "contents": [_DATA["contents"]]}


@pytest.mark.parametrize("message", [
    _DATA, _BATCH,
    {**_DATA, "type": "channel_data", "contents": [_DATA["contents"]]},  # a batch's contents in a single frame
    {**_BATCH, "contents": _DATA["contents"]},  # and the other way round
    {**_DATA, "contents": {"trades": [{"id": "1", "side": "BUY", "size": "1", "price": [5], "createdAt": "x"}]}},
    {**_DATA, "contents": None}, {**_BATCH, "contents": []}, {**_BATCH, "contents": [None]},
    {key: value for key, value in _DATA.items() if key != "contents"},
    {key: value for key, value in _DATA.items() if key != "connection_id"},
    {key: value for key, value in _DATA.items() if key != "message_id"},
    {key: value for key, value in _DATA.items() if key != "type"},
    {**_DATA, "message_id": "3"}, {**_DATA, "connection_id": None}, {**_DATA, "version": None},
    {**_DATA, "version": "2.1.0", "subaccountNumber": 0}, {**_DATA, "subaccountNumber": "0"},
    {**_DATA, "message": 5}, {**_DATA, "message": "hi"}, {**_DATA, "id": None}, {**_DATA, "id": 4},
    {**_DATA, "type": "subscribed"}, {**_DATA, "type": "unsubscribed"}, {**_DATA, "type": "hello"},
    {**_DATA, "type": None}, {**_DATA, "channel": "v4_nope"}, {**_DATA, "channel": None},
    {**_DATA, "channel": "v4_orderbook"}, {**_DATA, "channel": "v4_markets", "contents": {"markets": {}}},
    {**_DATA, "channel": "v4_candles", "contents": {}},
    {"type": "channel_data", "connection_id": "c", "message_id": 1, "channel": "v4_orderbook", "id": "BTC-USD",
     "contents": {"bids": [["1", "0"]], "asks": [["2", "1", "3"]]}},
    {"type": "channel_data", "connection_id": "c", "message_id": 1, "channel": "v4_markets",
     "contents": {"oraclePrices": {"BTC-USD": {"oraclePrice": "1e3"}}}},
    b'{"type":"channel_data","channel":"v4_candles","connection_id":"c","message_id":3,"channel":"v4_trades",'
    b'"contents":{"trades":[]}}',  # the channel twice
    b'{"type":"channel_batch_data","connection_id":"c","message_id":3,"channel":"v4_trades","type":"channel_data",'
    b'"contents":{"trades":[]}}',  # the type twice
    b'{"type":"channel_data","connection_id":"c","message_id":3,"channel":"v4_trades","contents":{"trades":[]},'
    b'"contents":{"trades":5}}',  # the contents twice
    b'{"type":"channel_data","connection_id":"c\xff","message_id":3,"channel":"v4_trades","contents":{"trades":[]}}',
    b'{ "type" : "channel_data" , "connection_id" : "c" , "message_id" : 3 , "channel" : "v4_trades" ,'
    b' "contents" : { "trades" : [ ] } }',
    b"", b"{not json", b"[]", b"null", b'{"channel":"v4_trades"}',
], ids=lambda message: (json.dumps(message) if isinstance(message, dict) else repr(message))[:60])
def test_hand_made_frames_give_the_same_event_or_error_both_ways(message):
    assert_same(_frame(message))


def test_a_hot_frame_with_its_fields_in_another_order_or_spaced_is_the_hot_paths():
    spaced = json.dumps(dict(reversed(_BATCH.items())), indent=1).encode()
    assert isinstance(decode_hot(_frame(spaced)), ev.ChannelBatchData)
    assert decode_hot(_frame(spaced)) == parse_ws_general(_frame(spaced))


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(range(len(DEFAULT_FRAMES))), st.lists(mutation, min_size=1, max_size=6))
def test_mutated_frames_of_the_bundled_recording_give_the_same_event_both_ways(index, ops):
    frame = DEFAULT_FRAMES[index]
    assert_same(Frame(t=frame.t, kind="ws", data=mutate(frame.data, ops), conn=frame.conn))


def test_the_real_captures_give_the_same_event_both_ways(samples_dir):
    paths = sorted(samples_dir.rglob("ws/*.json"))
    assert paths, f"no WebSocket captures under {samples_dir}"
    for path in paths:
        assert_same(Frame(t=1.0, kind="ws", data=path.read_bytes(), conn=1))
