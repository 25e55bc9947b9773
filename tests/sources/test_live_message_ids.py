"""Message-id checks on real frames of one mainnet connection (7ad53844, nautilus-2024 captures):
connected 0, orderbook snapshot 4, trades 1491, unsubscribed 1905, orderbook update 3219."""

from __future__ import annotations

import json

import pytest

from streams.sources.message_ids import MessageIdCheck

CONNECTION = ["connected.json", "v4_orderbook_snapshot.json", "v4_trades.json", "unsubscribed.json",
              "v4_orderbook.json"]


@pytest.fixture
def frames(samples_dir):
    def load(name):
        frame = json.loads((samples_dir / "nautilus-2024" / "ws" / name).read_text())
        return frame["type"], frame.get("connection_id"), frame.get("message_id")
    return load


def feed(check, frames):
    return [check.check(*frame) for frame in frames]


def test_one_real_connection_passes_with_its_forward_jumps(frames):
    check = MessageIdCheck()
    assert feed(check, [frames(name) for name in CONNECTION]) == [None] * 5
    assert (check.connection_id, check.last) == ("7ad53844-1f2c-4d86-83d1-42f6562844f3", 3219)


def test_a_repeated_id_is_reported(frames):
    check = MessageIdCheck()
    feed(check, [frames(name) for name in CONNECTION])
    assert check.check(*frames("v4_orderbook.json")) == "message_id 3219 repeated"


def test_an_id_going_back_is_reported(frames):
    check = MessageIdCheck()
    feed(check, [frames(name) for name in CONNECTION])
    assert check.check(*frames("v4_trades.json")) == "message_id went back from 3219 to 1491"


def test_a_late_subscribed_frame_is_not_a_regression(frames):
    """Its id was reserved when the request arrived; it is sent after the server's initial fetch."""
    check = MessageIdCheck()
    late = [frames(name) for name in ["connected.json", "v4_trades.json", "v4_orderbook_snapshot.json",
                                      "unsubscribed.json"]]
    assert feed(check, late) == [None] * 4 and check.last == 1905


def test_error_frames_reuse_the_current_id(frames):
    check = MessageIdCheck()
    feed(check, [frames(name) for name in CONNECTION])
    assert check.check("error", "7ad53844-1f2c-4d86-83d1-42f6562844f3", 3219) is None
    assert check.check("channel_data", "7ad53844-1f2c-4d86-83d1-42f6562844f3", 3220) is None


def test_a_new_connection_id_on_an_open_socket_is_reported(frames):
    check = MessageIdCheck()
    feed(check, [frames(name) for name in CONNECTION])
    assert check.check(*frames("trade_deleveraged.json")) == (
        "new connection_id 796abe49-c178-417e-b3d1-7da7de91b931 on an open connection "
        "(was 7ad53844-1f2c-4d86-83d1-42f6562844f3)")
    # a second `connected` with the same id restarts the count: that is a regression too
    assert check.check(*frames("connected.json")) == "message_id went back from 3219 to 0"


def test_frames_without_ids_are_left_to_the_parser():
    check = MessageIdCheck()
    assert check.check("channel_data", None, None) is None
    assert check.check("channel_data", "c", 5) is None
    assert check.check("channel_data", "c", None) is None
    assert check.last == 5
