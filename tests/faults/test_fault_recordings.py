"""Damaged recordings handed to the bot itself: `dydx-bot --no-ui --replay` and `dydx-bot recording info`.
(`tests/sources/test_recording_files.py` covers each kind of damage at the reader and through `recording
info`; here the same files go through the replay that trades on them.)

A recording whose damage shows when it is opened (a file the manifest does not match: truncated, also
exactly at a record boundary; garbage; a foreign format; a future flow format) is refused before anything
plays, in one line naming the file, exit status 1. Damage found only on the way (a bad journal line where
the recorder left no manifest) ends the replay there: everything before it was played and printed, the
summary says why it stopped, exit status 1. What a killed recorder leaves plays to its last whole message,
with a warning, exit status 0.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from mitmproxy.io import tnetstring

from app.cli import main
from streams.sources.recording import FLOWS, JOURNAL
from tests.sources.test_recording_files import record_ends
from tests.support.faults import CONN_A, MARKET, T0, FaultyRecording, IndexerTape


def write(path: Path, *, finish: bool = True) -> tuple[Path, int]:
    """Two REST answers and a minute of WebSocket traffic; returns the path and the frames a client got."""
    tape = IndexerTape(minutes=1)
    recording = FaultyRecording(path, markets={MARKET: tape.market})
    recording.rest(f"/v4/candles/perpetualMarkets/{MARKET}?resolution=1MIN&limit=1000", tape.snapshot("v4_candles"))
    session = recording.session(CONN_A)
    session.subscribe_all(tape)
    session.play(tape, until=T0 + 60)
    session.close(1000)
    if finish:
        recording.finish()
    return path, 2 + len(session.sent)


def replay(path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> tuple[int, list[dict], str]:
    code = main(["--no-ui", "--replay", str(path), "--speed", "max"])
    out, err = capsysbinary.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err.decode()


def info(path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> tuple[int, str, str]:
    code = main(["recording", "info", str(path)])
    out, err = capsysbinary.readouterr()
    return code, out.decode(), err.decode()


def test_a_whole_recording_replays_every_frame(tmp_path, capsysbinary):
    path, frames = write(tmp_path / "whole")
    code, lines, err = replay(path, capsysbinary)
    assert code == 0 and lines[-1]["frames"] == frames and lines[-1]["stopped"] == "end of recording"
    assert "warning" not in err


def test_what_a_killed_recorder_leaves_replays_to_its_last_whole_message(tmp_path, capsysbinary):
    path, frames = write(tmp_path / "killed", finish=False)  # no manifest: the recorder never closed it
    journal = path / JOURNAL
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-25])  # killed while writing the last line (the close)
    code, lines, err = replay(path, capsysbinary)
    assert (code, lines[-1]["frames"], lines[-1]["stopped"]) == (0, frames, "end of recording")
    assert f"warning: {journal}: line" in err and "is incomplete" in err

    last_message = whole[:-1].rindex(b"\n", 0, whole[:-1].rindex(b"\n")) + 1
    journal.write_bytes(whole[:last_message + 40])  # killed while writing the last message
    code, lines, _ = replay(path, capsysbinary)
    assert (code, lines[-1]["frames"]) == (0, frames - 1)
    code, out, _ = info(path, capsysbinary)
    assert code == 0 and "INCOMPLETE" in out and "is incomplete" in out


def test_damage_found_on_the_way_ends_the_replay_there_saying_so(tmp_path, capsysbinary):
    path, frames = write(tmp_path / "damaged", finish=False)
    journal = path / JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[40] = b'{"t": 1722000011.0, "conn": 1, "ev": "msg", "from_cl\n'  # a bad line mid-file
    journal.write_bytes(b"".join(lines))
    code, out, err = replay(path, capsysbinary)
    summary = out[-1]
    assert code == 1 and summary["stopped"].startswith(f"damaged recording: {journal}: line 41 is not a journal entry")
    # the open, `connected`, 4 subscribes from the client, then 34 server messages: all played
    assert summary["frames"] == 2 + 35
    assert summary["stopped"] in err


@pytest.mark.parametrize("damage, said", [
    ("cut inside a record", "bytes but the manifest says"),
    ("cut at a record boundary", "bytes but the manifest says"),
    ("garbage appended", "bytes but the manifest says"),
    ("journal changed", "does not match the manifest"),
])
def test_a_recording_its_manifest_does_not_match_is_refused_before_it_plays(tmp_path, capsysbinary, damage, said):
    path, _ = write(tmp_path / "rec")
    flows, journal = path / FLOWS, path / JOURNAL
    if damage == "cut inside a record":
        flows.write_bytes(flows.read_bytes()[:record_ends(flows)[0] + 50])
    elif damage == "cut at a record boundary":  # mitmproxy itself would read this without a word
        flows.write_bytes(flows.read_bytes()[:record_ends(flows)[0]])
    elif damage == "garbage appended":
        flows.write_bytes(flows.read_bytes() + b"\x00\xffnot a flow")
    else:
        journal.write_bytes(journal.read_bytes().replace(b'"conn":1', b'"conn":2', 1))
    code, lines, err = replay(path, capsysbinary)
    assert (code, lines) == (1, [])
    assert err.startswith("dydx-bot: ") and said in err and err.count("\n") == 1
    assert info(path, capsysbinary)[:2] == (1, "")


@pytest.mark.parametrize("content, said", [
    (b"\x00\x01\x02 random bytes \xff", "not a mitmproxy flow file"),
    (b'{"log": {"version": "1.2", "entries": []}}', "looks like JSON/HAR"),
    (b"", "empty file (no flows)"),
], ids=["garbage", "HAR", "empty"])
def test_garbage_and_foreign_files_are_refused_in_one_line(tmp_path, capsysbinary, content, said):
    path = tmp_path / "capture.mitm"
    path.write_bytes(content)
    code, lines, err = replay(path, capsysbinary)
    assert (code, lines, err) == (1, [], f"dydx-bot: {path}: {err.split(': ', 2)[2]}")
    assert said in err


def test_a_flow_file_from_a_future_mitmproxy_is_refused_saying_so(tmp_path, capsysbinary):
    path, _ = write(tmp_path / "rec")
    flows = path / FLOWS
    plain = tmp_path / "future.mitm"
    data = io.BytesIO(flows.read_bytes())
    states = [tnetstring.load(data) for _ in record_ends(flows)]
    states[-1]["version"] = 99
    plain.write_bytes(b"".join(tnetstring.dumps(state) for state in states))
    said = f"{plain}: mitmproxy 11.0.2 cannot read files with flow format version 99, please update mitmproxy."
    code, lines, err = replay(plain, capsysbinary)  # a plain flow file is read when the replay starts
    assert (code, [line["kind"] for line in lines], lines[-1]["frames"]) == (1, ["summary"], 0)
    assert said in lines[-1]["stopped"] and said in err
    code, out, err = info(plain, capsysbinary)
    assert (code, out) == (1, "") and said in err
