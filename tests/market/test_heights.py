"""The chain's block height as a stream: v4_block_height (`height` in its snapshot, `blockHeight` in its
updates, batched or not) and the `blockHeight` of account messages, each move on once, with the mean
block time heard so far. The frames are the real testnet captures' shape (nautilus-2024/ws/
v4_block_height_*.json); the test on the captures themselves skips without ../shared."""

from __future__ import annotations

from streams.market.heights import block_heights
from streams.market.state import BlockHeight
from tests.support.builders import load_sample, run_frames, ws_frame

CONN = "6f79ea7c-48ce-44b6-b5ee-e14414a5ae0b"
T = 1_733_165_131.771


def blocks(message_id: int, t: float, *heights: int, batched: bool = False) -> object:
    contents = [{"blockHeight": str(h), "time": "2024-12-02T18:45:33.548Z"} for h in heights]
    return ws_frame({"type": "channel_batch_data" if batched else "channel_data", "connection_id": CONN,
                     "message_id": message_id, "id": "v4_block_height", "channel": "v4_block_height",
                     "version": "1.0.0", "contents": contents if batched else contents[0]}, t)


def test_heights_from_the_snapshot_updates_batches_and_account_messages_each_once_with_the_block_time():
    frames = [
        ws_frame({"type": "subscribed", "connection_id": CONN, "message_id": 2, "channel": "v4_block_height",
                  "id": "v4_block_height", "contents": {"height": "26543048", "time": "2024-12-02T18:45:31.771Z"}},
                 T),
        blocks(3, T + 1.5, 26_543_049),
        blocks(4, T + 2.0, 26_543_049),  # said again: nothing new
        blocks(5, T + 4.5, 26_543_050, 26_543_051, batched=True),
        ws_frame({"type": "channel_data", "connection_id": CONN, "message_id": 6, "channel": "v4_subaccounts",
                  "id": "dydx1x/0", "version": "3.0.0", "contents": {"blockHeight": "26543050"}}, T + 5.0),  # late
        ws_frame({"type": "channel_data", "connection_id": CONN, "message_id": 7, "channel": "v4_subaccounts",
                  "id": "dydx1x/0", "version": "3.0.0", "contents": {"blockHeight": "26543053"}}, T + 6.0),
        blocks(8, T + 6.5, 26_543_052),
    ]
    assert run_frames(frames, block_heights()) == [
        BlockHeight(T, 26_543_048), BlockHeight(T + 1.5, 26_543_049, 1.5),
        BlockHeight(T + 4.5, 26_543_050, 2.25), BlockHeight(T + 4.5, 26_543_051, 1.5),
        BlockHeight(T + 6.0, 26_543_053, 1.2),
    ]


def test_the_real_captures_give_their_two_heights(samples_dir):  # the fixture skips without ../shared
    frames = [ws_frame(load_sample(samples_dir, f"nautilus-2024/ws/v4_block_height_{name}.json"), T + i)
              for i, name in enumerate(("subscribed", "channel_data"))]
    assert run_frames(frames, block_heights()) == [BlockHeight(T, 26_543_048), BlockHeight(T + 1, 26_543_049, 1.0)]
