"""A fuzz run of the parser over mutated real frames: whatever the bytes, `parse_frame` returns an event
(a typed one or a ParseError saying what and where) and never raises. The frames are the bundled
recording's (every channel and message kind it holds), plus the real captures when ../shared is there."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sources import DEFAULT_RECORDING
from streams.kernel.frames import Frame
from streams.market import events as ev
from streams.market.parse import parse_frame
from streams.sources.recording import open_recording
from tests.support.builders import mutate, mutation


def _bundled_frames() -> list[Frame]:
    """The first frames of each kind in the bundled recording (snapshots, batches, REST bodies)."""
    seen: dict[tuple[str, str], int] = {}
    picked = []
    for frame in open_recording(DEFAULT_RECORDING).frames():
        key = (frame.kind, frame.path or frame.data[:60].decode("utf-8", "replace").split('"channel":"')[-1][:12])
        if seen.get(key, 0) < 3:
            seen[key] = seen.get(key, 0) + 1
            picked.append(frame)
    return picked


FRAMES = _bundled_frames()

def test_the_corpus_covers_every_kind_of_frame():
    kinds = {type(parse_frame(frame)) for frame in FRAMES}
    assert {ev.Connected, ev.Subscribed, ev.ChannelBatchData, ev.RestResponse} <= kinds


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(range(len(FRAMES))), st.lists(mutation, min_size=1, max_size=6))
def test_mutated_bundled_frames_never_raise(index, ops):
    frame = FRAMES[index]
    mutated = Frame(t=frame.t, kind=frame.kind, data=mutate(frame.data, ops), conn=frame.conn, path=frame.path,
                    status=frame.status)
    event = parse_frame(mutated)
    assert event is not None
    if isinstance(event, ev.ParseError):
        assert event.what and event.where and event.size == len(mutated.data)


@pytest.fixture(scope="module")
def real_frames(samples_dir: Path) -> list[Frame]:
    return [Frame(t=1.0, kind="ws", data=path.read_bytes(), conn=1)
            for path in sorted((samples_dir / "nautilus-2024" / "ws").glob("*.json"))]


@settings(max_examples=1500, deadline=None)
@given(data=st.data())
def test_mutated_real_captures_never_raise(real_frames, data):
    frame = data.draw(st.sampled_from(real_frames))
    ops = data.draw(st.lists(mutation, min_size=1, max_size=6))
    assert parse_frame(Frame(t=1.0, kind="ws", data=mutate(frame.data, ops), conn=1)) is not None
