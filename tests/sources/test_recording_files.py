"""Recording files as users hand them over: damaged, truncated (also exactly at a record boundary), empty,
foreign, from a future mitmproxy, half-written by a killed recorder, or missing a part. Each is refused
with a `RecordingError` naming the file and what was read, and `dydx-bot recording info` says the same
in one line with exit status 1 - or, for what a killed recorder leaves, reads what is there with a
warning. Then `recording info` on whole recordings, as text and as JSON.
"""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

import pytest
from mitmproxy.io import tnetstring

from app.cli import main
from app.commands.recording import format_info, recording_info
from streams.sources.recording import FLOWS, JOURNAL, MANIFEST, RecordingError, WsMessage, open_recording
from streams.sources.recording_writer import RecordingWriter

T0 = 1_733_000_000.0
HOST = "https://indexer.dydx.trade"
MARKETS_BODY = b'{"markets":{"BTC-USD":{"ticker":"BTC-USD","oraclePrice":"96400"}}}'


def write_recording(path: Path, *, close: bool = True) -> Path:
    """Three REST answers and one WebSocket session with a subscribe and five trade batches."""
    writer = RecordingWriter(path)
    writer.add_rest(f"{HOST}/v4/perpetualMarkets", 200, MARKETS_BODY, T0, T0 + 0.05)
    for i in range(2):
        writer.add_rest(f"{HOST}/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN&page={i}", 200,
                        b'{"candles":[]}', T0 + 0.1 + i, T0 + 0.15 + i)
    writer.ws_open(1, T0 + 3, "/v4/ws")
    writer.ws_message(1, T0 + 3.01, False, b'{"type":"connected","connection_id":"c1","message_id":0}')
    writer.ws_message(1, T0 + 3.02, True, b'{"type":"subscribe","channel":"v4_trades","id":"BTC-USD"}')
    for i in range(5):
        writer.ws_message(1, T0 + 3.1 + i, False, json.dumps(
            {"type": "channel_batch_data", "channel": "v4_trades", "id": "BTC-USD", "message_id": i + 1,
             "contents": [{"trades": [{"price": f"96400.{i}", "size": "0.01", "side": "BUY"}]}]}).encode())
    writer.ws_close(1, T0 + 9, 1000, by_client=True)
    if close:
        writer.close(network="mainnet", upstream=HOST, markets=["BTC-USD"],
                     provenance={"built_by": __name__, "versions": {"python": "3.11.7", "dydx-v4-client": "1.1.5"}})
    return path


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "rec")


@pytest.fixture
def killed(tmp_path: Path) -> Path:
    """What a recorder killed after its last write leaves: both files, no manifest."""
    path = write_recording(tmp_path / "killed")
    (path / MANIFEST).unlink()
    return path


@pytest.fixture
def flow_file(recording: Path, tmp_path: Path) -> Path:
    """A plain mitmproxy flow file (three REST flows), as `mitmdump -w` writes them."""
    path = tmp_path / "plain.mitm"
    path.write_bytes((recording / FLOWS).read_bytes())
    return path


def record_ends(path: Path) -> list[int]:
    """The byte offset after each tnetstring record of a flow file."""
    data = io.BytesIO(path.read_bytes())
    ends = []
    while data.tell() < len(data.getbuffer()):
        tnetstring.load(data)
        ends.append(data.tell())
    return ends


def read_whole(path: Path) -> int:
    return sum(1 for _ in open_recording(path).entries())


def assert_refused(path: Path, named: Path, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Reading `path` fails naming the file `named` and saying `said`; the CLI prints it in one line."""
    with pytest.raises(RecordingError) as refused:
        read_whole(path)
    message = str(refused.value)
    assert message.startswith(f"{named}: ") and said in message, message
    assert main(["recording", "info", str(path)]) == 1
    assert capsys.readouterr() == ("", f"dydx-bot: {message}\n")


# ---------------------------------------------------------------------------------------------------
# Truncated


def test_a_flow_file_cut_inside_a_record_is_refused_after_the_good_flows(
        flow_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ends = record_ends(flow_file)
    flow_file.write_bytes(flow_file.read_bytes()[:ends[1] + 100])
    assert_refused(flow_file, flow_file, "damaged after 2 flows", capsys)


@pytest.mark.parametrize("cut", ["inside a record", "at a record boundary"])
def test_a_truncated_flows_file_is_caught_by_the_manifest(recording: Path, cut: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    flows = recording / FLOWS
    size = flows.stat().st_size
    end = record_ends(flows)[1]  # a cut here leaves a file that mitmproxy reads without complaint
    flows.write_bytes(flows.read_bytes()[:end + 100 if cut == "inside a record" else end])
    assert_refused(recording, flows, f"{flows.stat().st_size} bytes but the manifest says {size}", capsys)


def test_without_a_manifest_a_cut_at_a_record_boundary_cannot_be_seen(flow_file: Path) -> None:
    """Why recordings carry a manifest: mitmproxy's format has no end marker."""
    flow_file.write_bytes(flow_file.read_bytes()[:record_ends(flow_file)[1]])
    assert read_whole(flow_file) == 2


def test_a_killed_recorder_cut_inside_a_flow_keeps_the_flows_before(killed: Path) -> None:
    flows = killed / FLOWS
    flows.write_bytes(flows.read_bytes()[:record_ends(flows)[1] + 100])
    recording = open_recording(killed)
    assert sum(1 for _ in recording.entries()) == 2 + 9  # two REST answers, the whole WebSocket session
    assert any(f"{flows}: damaged after 2 flows" in warning for warning in recording.warnings)


# ---------------------------------------------------------------------------------------------------
# Garbage, foreign, empty, future


def test_random_bytes_are_not_a_flow_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "noise.mitm"
    path.write_bytes(bytes(random.Random(7).randrange(256) for _ in range(512)))
    assert_refused(path, path, "not a mitmproxy flow file (starts with", capsys)


def test_garbage_behind_a_length_prefix_is_damage_after_no_flow(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "noise.mitm"
    path.write_bytes(b"300:" + bytes(random.Random(8).randrange(256) for _ in range(300)) + b"!")
    assert_refused(path, path, "damaged after 0 flows", capsys)


def test_garbage_appended_to_good_flows_is_refused(flow_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    size = flow_file.stat().st_size
    flow_file.write_bytes(flow_file.read_bytes() + b"\x00\xffnot a flow")
    assert_refused(flow_file, flow_file, f"damaged after 3 flows (byte {size + 1} of {size + 12})", capsys)


@pytest.mark.parametrize("name, content, said", [
    ("chart.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a mitmproxy flow file (starts with b'\\x89PNG"),
    ("session.har", b'{"log": {"version": "1.2", "entries": []}}', "looks like JSON/HAR"),
    ("bom.har", b'\xef\xbb\xbf{"log": {}}', "looks like JSON/HAR"),
    ("frames.json", b'[{"type": "connected"}]', "not a mitmproxy flow file (starts with b'[{"),
    ("empty.mitm", b"", "empty file (no flows)"),
])
def test_foreign_and_empty_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             name: str, content: bytes, said: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert_refused(path, path, said, capsys)


def test_a_foreign_file_in_place_of_the_flows_is_refused(killed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (killed / FLOWS).write_bytes(b"\x89PNG\r\n\x1a\n")
    assert_refused(killed, killed / FLOWS, "not a mitmproxy flow file", capsys)


def future_flows(flow_file: Path, bad: int) -> None:
    """Rewrite the `bad`-th flow of a file as if a future mitmproxy had written it (version 99)."""
    data = io.BytesIO(flow_file.read_bytes())
    states = [tnetstring.load(data) for _ in record_ends(flow_file)]
    states[bad]["version"] = 99
    flow_file.write_bytes(b"".join(tnetstring.dumps(state) for state in states))


@pytest.mark.parametrize("bad", [0, 2])
def test_a_future_flow_format_is_refused_saying_so(flow_file: Path, bad: int,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    future_flows(flow_file, bad)
    assert_refused(flow_file, flow_file, f"flow format version 99, please update mitmproxy. (read {bad} flows)",
                   capsys)


def test_a_future_flow_format_is_refused_even_where_damage_is_tolerated(
        killed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    future_flows(killed / FLOWS, 1)
    assert_refused(killed, killed / FLOWS, "flow format version 99", capsys)


def test_a_flow_without_its_request_names_the_missing_field(flow_file: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    state = tnetstring.load(io.BytesIO(flow_file.read_bytes()))
    del state["request"]
    flow_file.write_bytes(tnetstring.dumps(state))
    assert_refused(flow_file, flow_file, "damaged after 0 flows", capsys)
    with pytest.raises(RecordingError, match="a flow lacks the field 'request'"):
        read_whole(flow_file)


# ---------------------------------------------------------------------------------------------------
# The journal


def test_a_bad_journal_line_in_the_middle_is_refused_even_without_a_manifest(
        killed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = killed / JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[4] = b'{"t": 1733000003.2, "conn": 1, "ev": "msg", "from_cl\n'
    journal.write_bytes(b"".join(lines))
    assert_refused(killed, journal, "line 5 is not a journal entry (JSONDecodeError", capsys)
    with pytest.raises(RecordingError, match="; 4 lines read$"):
        read_whole(killed)


@pytest.mark.parametrize("line, said", [
    (b'{"t": 1, "conn": 1, "ev": "teleport"}\n', "ValueError: unknown journal event 'teleport'"),
    (b'{"t": "soon", "conn": 1, "ev": "open", "path": "/v4/ws"}\n', "ValueError"),
    (b'[1, 2, 3]\n', "TypeError"),
    (b'{"t": 1, "conn": 1, "ev": "msg"}\n', "KeyError"),
])
def test_journal_lines_of_the_wrong_shape_are_refused(killed: Path, line: bytes, said: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    journal = killed / JOURNAL
    journal.write_bytes(line + journal.read_bytes())
    assert_refused(killed, journal, f"line 1 is not a journal entry ({said}", capsys)


def test_a_partial_last_line_from_a_killed_recorder_is_dropped_with_a_warning(
        killed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = killed / JOURNAL
    journal.write_bytes(journal.read_bytes()[:-9])  # cut inside the last line (the close)
    recording = open_recording(killed)
    entries = list(recording.entries())
    assert len(entries) == 3 + 8  # the close is lost, every message before it is there
    assert sum(isinstance(e, WsMessage) for e in entries) == 7
    assert any(f"{journal}: line 9 is incomplete" in warning for warning in recording.warnings)
    assert main(["recording", "info", str(killed)]) == 0
    out = capsys.readouterr().out
    assert "INCOMPLETE" in out and "line 9 is incomplete" in out


def test_a_partial_last_line_under_a_manifest_is_refused(recording: Path, capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    journal = recording / JOURNAL
    size = journal.stat().st_size
    journal.write_bytes(journal.read_bytes()[:-9])
    assert_refused(recording, journal, f"{size - 9} bytes but the manifest says {size}", capsys)


def test_a_changed_journal_is_caught_by_its_checksum(recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = recording / JOURNAL
    journal.write_bytes(journal.read_bytes().replace(b"96400.3", b"96400.9"))
    assert_refused(recording, journal, "does not match the manifest", capsys)


# ---------------------------------------------------------------------------------------------------
# Missing parts and bad manifests


@pytest.mark.parametrize("name", [FLOWS, JOURNAL])
def test_a_file_the_manifest_lists_must_be_there(recording: Path, name: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (recording / name).unlink()
    assert_refused(recording, recording / name, "missing (the manifest lists it)", capsys)


def test_a_path_that_is_not_there_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused(tmp_path / "nope", tmp_path / "nope", "no such recording", capsys)


def test_a_directory_without_recording_files_is_refused(recording: Path, capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    (recording / FLOWS).unlink()
    (recording / JOURNAL).unlink()
    assert_refused(recording, recording, "not a recording (neither flows.mitm nor messages.jsonl", capsys)


@pytest.mark.parametrize("manifest, said", [
    ("{\"format\": ", "unreadable manifest"),
    ('{"format": "har"}', "not a dydx-bot-recording manifest"),
    ('{"format": "dydx-bot-recording", "format_version": 2}', "format version 2 is newer than"),
])
def test_bad_manifests_are_refused(recording: Path, manifest: str, said: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    (recording / MANIFEST).write_text(manifest)
    assert_refused(recording, recording / MANIFEST, said, capsys)


def test_a_killed_recorder_without_a_journal_still_serves_its_rest_answers(killed: Path) -> None:
    (killed / JOURNAL).unlink()
    assert read_whole(killed) == 3


def test_a_killed_recorder_whose_journal_is_lost_is_not_reported_complete(
        killed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (killed / JOURNAL).unlink()  # a directory with only its flows: not a plain flow file, and not whole
    assert main(["recording", "info", "--json", str(killed)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["complete"] is False and info["kind"] == "dydx-bot-recording"
    assert any("no manifest.json" in warning for warning in info["warnings"])


def test_json_output_fails_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recording", "info", "--json", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr() == ("", f"dydx-bot: {tmp_path / 'nope'}: no such recording\n")


# ---------------------------------------------------------------------------------------------------
# `recording info` on whole recordings


def test_info_summarises_a_recording(recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recording", "info", str(recording)]) == 0
    out = capsys.readouterr().out
    for expected in (f"{recording} (dydx-bot-recording, complete)", "markets      BTC-USD",
                     "channels     v4_trades:BTC-USD",
                     "time         2024-11-30 20:53:20.050Z .. 2024-11-30 20:53:29.000Z (8.950 s)",
                     "rest 3, ws connections 1, ws from client 1, ws from server 6",
                     "     2  /v4/candles/perpetualMarkets/BTC-USD", "     1  /v4/perpetualMarkets",
                     "messages.jsonl  1.7 kB, matches the manifest",
                     "flow format  version 21 (mitmproxy 11.0.2)",
                     "provenance   network mainnet, upstream https://indexer.dydx.trade", "built by " + __name__,
                     "versions python 3.11.7, dydx-v4-client 1.1.5"):
        assert expected in out, expected
    # the flow file's size moves by a few bytes with the server's ports and timestamps
    assert re.search(r"flows\.mitm  [45]\.\d kB, matches the manifest", out)
    assert "warnings" not in out


@pytest.mark.parametrize("size, shown", [(999, "999 B"), (1_500, "1.5 kB"), (52_345_678, "52.3 MB"),
                                         (3_210_000_000, "3.2 GB"), (4_000_000_000_000, "4000.0 GB")])
def test_info_shows_file_sizes_for_people(recording: Path, size: int, shown: str) -> None:
    info = recording_info(str(recording))
    info["files"][FLOWS]["bytes"] = size
    assert f"flows.mitm  {shown}, matches the manifest" in format_info(info)


def test_info_json_is_the_whole_summary(recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recording", "info", "--json", str(recording)]) == 0
    info = json.loads(capsys.readouterr().out)
    manifest = json.loads((recording / MANIFEST).read_text())
    assert info["complete"] is True and info["kind"] == "dydx-bot-recording"
    assert info["counts"] == manifest["counts"]
    assert info["rest_paths"] == {"/v4/candles/perpetualMarkets/BTC-USD": 2, "/v4/perpetualMarkets": 1}
    assert info["files"] == {name: {"bytes": manifest["files"][name]["bytes"], "checksum": "matches the manifest"}
                             for name in (FLOWS, JOURNAL)}
    assert info["flow_format_version"] == 21 and info["manifest"] == manifest
    assert (info["start"], info["end"]) == (T0 + 0.05, T0 + 9)


def test_info_on_a_plain_flow_file_reads_its_format_version(flow_file: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recording", "info", "--json", str(flow_file)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "plain mitmproxy flow file" and info["flow_format_version"] == 21
    assert info["files"] == {"plain.mitm": {"bytes": flow_file.stat().st_size,
                                            "checksum": "no manifest to check against"}}
    assert info["markets"] == info["channels"] == [] and info["counts"] == {"rest": 3}


def test_info_on_an_empty_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    RecordingWriter(tmp_path / "empty").close(network="mainnet", upstream=HOST, provenance={})
    assert main(["recording", "info", str(tmp_path / "empty")]) == 0
    out = capsys.readouterr().out
    assert "time         -" in out and "counts       nothing recorded" in out and "rest paths   -" in out


def test_recording_without_an_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recording"]) == 2
    assert capsys.readouterr().err == "dydx-bot: recording: say what to do, e.g. `dydx-bot recording info PATH`\n"
