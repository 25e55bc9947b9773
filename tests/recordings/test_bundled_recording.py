"""The bundled recording the app opens with: intact, honest about its provenance, and replayed by the whole
graph to the same outputs every time. The build itself (real figures -> replay server -> live source
through the recorder -> checked and restamped) is exercised on a few minutes of the real samples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from app.sources import DEFAULT_RECORDING
from streams.market import events as ev
from streams.market.parse import parse_frame
from streams.sources.recording import RestExchange, WsMessage, open_recording
from tests.support.golden import check_golden
from tools import build_default_recording as builder


def test_the_bundled_recording_verifies_against_its_manifest():
    recording = open_recording(DEFAULT_RECORDING)
    manifest = recording.manifest
    assert manifest is not None and recording.warnings == []
    assert manifest["markets"] == ["BTC-USD", "ETH-USD"]
    assert manifest["flow_format_version"] == 21
    summary = recording.summary()
    assert summary["counts"] == manifest["counts"]
    assert summary["counts"]["ws_from_server"] > 10_000 and summary["duration_s"] > 3600
    times = [entry.t for entry in recording.entries()]
    assert times == sorted(times), "snapshots come before the updates that follow them"


def test_the_manifest_says_what_is_real_and_what_is_not():
    provenance = open_recording(DEFAULT_RECORDING).manifest["provenance"]
    assert set(provenance) >= {"real", "synthetic", "reconstructed", "path", "timing"}
    assert "1000 mainnet 1MIN candles" in provenance["real"]["ETH-USD candles"]
    assert provenance["synthetic"]["BTC-USD candles"].startswith("SYNTHETIC")
    assert "recorder" in provenance["path"] and "replay server" in provenance["path"]


def test_every_frame_parses_and_nothing_secret_or_local_is_recorded():
    recording = open_recording(DEFAULT_RECORDING)
    kinds = {type(parse_frame(frame)) for frame in recording.frames()}
    assert ev.ParseError not in kinds and {ev.Subscribed, ev.ChannelBatchData, ev.RestResponse} <= kinds
    from mitmproxy import io

    with open(DEFAULT_RECORDING / "flows.mitm", "rb") as f:
        flows = list(io.FlowReader(f).stream())
    assert len(flows) == 4  # three REST exchanges and the WebSocket handshake
    assert {flow.client_conn.peername for flow in flows} == {("0.0.0.0", 0)}  # the user's address is redacted
    assert all("authorization" not in flow.request.headers and "cookie" not in flow.request.headers
               for flow in flows)
    assert b"/work/" not in (DEFAULT_RECORDING / "manifest.json").read_bytes()


def test_eth_minutes_end_on_the_real_candles(samples_dir):
    real = json.loads((samples_dir / "nautilus-2024/ws/v4_candles.json").read_text())["contents"]["candles"]
    by_start = {c["startedAt"]: c for c in real}
    last: dict[str, dict] = {}
    for entry in open_recording(DEFAULT_RECORDING).entries():
        if isinstance(entry, WsMessage) and not entry.from_client:
            message = json.loads(entry.data)
            if message.get("channel") == "v4_candles" and message.get("id") == "ETH-USD/1MIN" \
                    and message["type"] == "channel_batch_data":
                for candle in message["contents"]:
                    last[candle["startedAt"]] = candle
    assert len(last) == 60
    assert all(candle == by_start[start] for start, candle in last.items())


@pytest.mark.slow
def test_the_build_round_trips_through_server_source_and_recorder(samples_dir, tmp_path: Path):
    manifest = builder.build(samples_dir, tmp_path / "built", minutes=3)
    built = open_recording(tmp_path / "built")
    assert built.manifest == manifest and built.warnings == []
    assert manifest["counts"]["ws_connections"] == 1 and manifest["counts"]["rest"] == 3
    # the same messages as the seed, on the seed's schedule
    seed = tmp_path / "seed"
    builder.write_seed(samples_dir, seed, minutes=3)
    want = [(e.t, e.data) for e in open_recording(seed).entries() if isinstance(e, WsMessage) and not e.from_client]
    got = [(e.t, e.data) for e in built.entries() if isinstance(e, WsMessage) and not e.from_client]
    assert got == want
    oracle = [m for m in manifest["provenance"]["real"].values()]
    assert any("125 mainnet markets" in text for text in oracle)


def test_a_seed_is_the_same_bytes_every_time(samples_dir, tmp_path: Path):
    first, second = tmp_path / "a", tmp_path / "b"
    builder.write_seed(samples_dir, first, minutes=2)
    builder.write_seed(samples_dir, second, minutes=2)
    assert (first / "messages.jsonl").read_bytes() == (second / "messages.jsonl").read_bytes()
    markets = json.loads(next(e.body for e in open_recording(first).entries() if isinstance(e, RestExchange)
                              and e.path == "/v4/perpetualMarkets"))["markets"]
    assert len(markets) == 125 and Decimal(markets["ETH-USD"]["initialMarginFraction"]) == Decimal("0.05")


def test_the_scores_of_the_bundled_recording_are_pinned(request: pytest.FixtureRequest) -> None:
    """Replaying the bundled recording gives byte-identical scores every time, on every machine: any change
    to what the layers up to the scores compute fails this against its golden, from the first score that
    differs (re-pin deliberately: `pytest --update-golden`, see `tests.support.golden`)."""
    from tests.test_graph_golden import graph_lines

    frames = list(open_recording(DEFAULT_RECORDING).frames())
    check_golden(request, "bundled-scores", graph_lines(frames, order=("scores",)))
