"""Bad recordings, as `dydx-bot recording info` and `dydx-bot --no-ui --replay` get them: paths that are no
recording, files that are not files, manifests of the wrong shape or pointing outside the recording, and
journals whose times or bytes are not what a recorder writes. Each is one line and exit status 1, and the
recording is left as it was."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from app.cli import main
from streams.sources.recording import FLOWS, JOURNAL, MANIFEST
from tests.faults.test_fault_recordings import write
from tests.hardening.corpus import Bad, refuse, tree_digest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-recordings")
    write(root / "rec")  # whole, with its manifest
    write(root / "open", finish=False)  # what a killed recorder leaves: no manifest
    return root


@pytest.fixture
def where(built: Path, tmp_path: Path) -> Path:
    for name in ("rec", "open"):
        shutil.copytree(built / name, tmp_path / name)
    return tmp_path


def manifest(**changes: object) -> Callable[[Path], Path]:
    def edit(where: Path) -> Path:
        path = where / "rec" / MANIFEST
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
        return where / "rec"
    return edit


def journal_line(number: int, line: bytes) -> Callable[[Path], Path]:
    """The unfinished recording with journal line `number` (from 1) replaced."""
    def edit(where: Path) -> Path:
        path = where / "open" / JOURNAL
        lines = path.read_bytes().splitlines(keepends=True)
        lines[number - 1] = line
        path.write_bytes(b"".join(lines))
        return where / "open"
    return edit


def as_dir(name: str) -> Callable[[Path], Path]:
    def edit(where: Path) -> Path:
        (where / "rec" / name).unlink()
        (where / "rec" / name).mkdir()
        return where / "rec"
    return edit


def counts_edited(where: Path) -> Path:
    path = where / "rec" / MANIFEST
    data = json.loads(path.read_text())
    data["counts"]["ws_from_server"] += 1
    path.write_text(json.dumps(data))
    return where / "rec"


def digest_of(name: str) -> dict[str, object]:
    return {"bytes": 0, "sha256": "0" * 64, "name": name}


# t of each line of the unfinished recording's journal: line 5 is a server message at 1722000002.9 or so
LINE = b'{"t": %s, "conn": 1, "ev": "msg", "from_client": false, "text": "{}"}\n'

# (name, how the recording is made bad -> its path, what the line says)
RECORDINGS: list[tuple[str, Callable[[Path], Path | str], str | Callable[[Path], str]]] = [
    ("an empty path", lambda where: "", "no recording given (an empty path)"),
    ("a path that is not there", lambda where: where / "nowhere", "nowhere: no such recording"),
    ("a path too long for the system", lambda where: where / ("x" * 300), "File name too long"),
    ("a device", lambda where: "/dev/zero", "/dev/zero: neither a recording directory nor a flow file"),
    ("flows.mitm a directory", as_dir(FLOWS), f"{FLOWS}: not a file"),
    ("messages.jsonl a directory", as_dir(JOURNAL), f"{JOURNAL}: not a file"),
    ("manifest.json a directory", as_dir(MANIFEST), f"{MANIFEST}: not a file"),
    ("files a list", manifest(files=[1, 2]), "not a valid manifest: Expected `object`, got `array` - at `$.files`"),
    ("format_version a string", manifest(format_version="2"),
     "not a valid manifest: Expected `int`, got `str` - at `$.format_version`"),
    ("provenance a string", manifest(provenance="x"),
     "not a valid manifest: Expected `object`, got `str` - at `$.provenance`"),
    ("counts of strings", manifest(counts={"rest": "2"}), "not a valid manifest: Expected `int`, got `str`"),
    ("start not finite", manifest(start=1e300), "not a valid manifest: Expected `float` < 10000000000.0"),
    ("a file outside the recording", manifest(files={"/dev/zero": digest_of("/dev/zero")}),
     'files lists "/dev/zero", which is not a file of a recording (only flows.mitm and messages.jsonl'),
    ("a file beside the recording", manifest(files={"../open/flows.mitm": digest_of("x")}),
     'files lists "../open/flows.mitm", which is not a file of a recording'),
    ("files empty", manifest(files={}), f"{FLOWS}: not in the manifest's files, so it cannot be checked"),
    ("a checksum that is not one", manifest(files={FLOWS: {"bytes": 1, "sha256": "x"}}),
     "not a valid manifest: Expected `str` matching regex"),
    ("counts edited", counts_edited, "counts ws_from_server 52, but the recording holds 51"),
    ("t NaN", journal_line(5, LINE % b"NaN"), f"{JOURNAL}: line 5 is not a journal entry (ValueError: t nan"),
    ("t Infinity", journal_line(5, LINE % b"Infinity"), "line 5 is not a journal entry (ValueError: t inf"),
    ("t 1e300", journal_line(5, LINE % b"1e300"), "line 5 is not a journal entry (ValueError: t 1e+300"),
    ("t negative", journal_line(5, LINE % b"-1"), "line 5 is not a journal entry (ValueError: t -1"),
    ("time running backwards", journal_line(5, LINE % b"1000000000.0"),
     "line 5 goes back in time (t 1000000000.0 after"),
    ("invalid base64", journal_line(5, b'{"t": 1722000003.0, "conn": 1, "ev": "msg", "from_client": false, '
                                       b'"b64": "!!not base64!!"}\n'), "line 5 is not a journal entry (Error:"),
]


def info(make: Callable[[Path], Path | str]) -> Callable[[Path], Sequence[str]]:
    return lambda where: ["recording", "info", str(make(where))]


def replay(make: Callable[[Path], Path | str]) -> Callable[[Path], Sequence[str]]:
    return lambda where: ["--no-ui", "--speed", "max", "--replay", str(make(where))]


@pytest.mark.parametrize("case", [Bad(name, info(make), said, code=1) for name, make, said in RECORDINGS], ids=str)
def test_recording_info_refuses_a_bad_recording_in_one_line(case, where, capsysbinary):
    refuse(case, where, capsysbinary)


OPENED_BEFORE_PLAYING = [entry for entry in RECORDINGS if entry[0] not in (
    "counts edited", "t NaN", "t Infinity", "t 1e300", "t negative", "time running backwards", "invalid base64")]


@pytest.mark.parametrize("case", [Bad(name, replay(make), said, code=1) for name, make, said in OPENED_BEFORE_PLAYING],
                         ids=str)
def test_a_replay_refuses_a_bad_recording_before_it_plays(case, where, capsysbinary):
    refuse(case, where, capsysbinary)


def test_counts_found_wrong_at_the_end_of_a_replay_stop_it_saying_so(where, capsysbinary):
    path = counts_edited(where)
    before = tree_digest(where)
    code = main(["--no-ui", "--speed", "max", "--replay", str(path)])
    err = capsysbinary.readouterr().err.decode()
    assert code == 1 and "Traceback" not in err  # progress lines, then why it stopped
    assert err.splitlines()[-1] == (f"stopped: damaged recording: {path / MANIFEST}: counts ws_from_server 52, "
                                    "but the recording holds 51")
    assert tree_digest(where) == before


def afile(where: Path) -> Path:
    (where / "afile").write_text("not a directory")
    return where / "afile"


def record(out: Callable[[Path], Path | str]) -> Callable[[Path], Sequence[str]]:
    return lambda where: ["record", "--markets", "BTC-USD", "--upstream", "http://127.0.0.1:9",
                          "--out", str(out(where))]


@pytest.mark.parametrize("case", [
    Bad("an empty --out", record(lambda where: ""), "no directory to record into (an empty --out)", code=1),
    Bad("--out a file", record(afile), "afile: not a directory; choose a new --out", code=1),
    Bad("--out a device", record(lambda where: "/dev/null"), "/dev/null: not a directory", code=1),
    Bad("--out /proc", record(lambda where: "/proc"), "cannot record here (", code=1),
    Bad("--out a read-only file system", record(lambda where: "/sys/dydx-bot-test"),
        "/sys/dydx-bot-test: cannot record here (", code=1),
    Bad("--out a recording", record(lambda where: where / "rec"), "already holds a recording", code=1),
], ids=str)
def test_record_refuses_an_out_it_cannot_write_a_recording_into(case, where, capsysbinary, monkeypatch):
    monkeypatch.chdir(where)  # what "" would write into
    refuse(case, where, capsysbinary)
