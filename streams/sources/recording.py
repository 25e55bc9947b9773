"""The recording format: a mitmproxy flow file plus a message journal and a manifest.

A recording is a directory:

- `flows.mitm`: a mitmproxy flow file (the contract other tools read). It holds every REST exchange
  and the handshake of every WebSocket connection, each written and flushed as soon as it exists.
- `messages.jsonl`: the WebSocket journal, one JSON object per line, flushed per message. mitmproxy
  would write a WebSocket flow only when it closes and holds it whole in memory, so the messages live
  here instead and an hours-long recording neither grows memory nor loses more than its last message
  to a crash. Lines: `{"t","conn","ev":"open","path"}`, `{"t","conn","ev":"msg","from_client",
  "text"|"b64"}`, `{"t","conn","ev":"close","code","by_client"}`.
- `manifest.json`: written when the recording is closed: markets, channels, time span, counts,
  sha256 of both files, the mitmproxy flow-format version and the provenance. Its counts and hashes
  detect damage the flow format cannot (a file cut exactly at a record boundary reads cleanly).

A plain flow file written by mitmproxy's own tools (`mitmdump -w`, reverse mode in front of the
indexer) is a recording too: its WebSocket flows carry their messages.

Reading is lazy where the format allows and never raises anything but `RecordingError`, whose
message names the file and how far it read.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from streams.kernel.frames import Frame

FLOWS = "flows.mitm"
JOURNAL = "messages.jsonl"
MANIFEST = "manifest.json"
FORMAT = "dydx-bot-recording"
FORMAT_VERSION = 1
LATEST_T = 1e10
"""Event times are Unix seconds: any time at or past this (the year 2286), or before 0, is damage."""


class RecordingError(Exception):
    """A recording that cannot be read as asked; the message names the file and what was read."""


# ---------------------------------------------------------------------------------------------------
# What a recording holds, in time order


@dataclass(frozen=True, slots=True)
class RestExchange:
    t: float  # when the response arrived
    method: str
    path: str  # path with query
    status: int
    body: bytes
    content_type: str = "application/json"
    t_request: float = 0.0
    retry_after: str | None = None  # the server's Retry-After, which a client of a replay must get too


@dataclass(frozen=True, slots=True)
class WsOpen:
    t: float
    conn: int
    path: str


@dataclass(frozen=True, slots=True)
class WsMessage:
    t: float
    conn: int
    from_client: bool
    data: bytes
    is_text: bool = True


@dataclass(frozen=True, slots=True)
class WsClose:
    t: float
    conn: int
    code: int | None
    by_client: bool


Entry = RestExchange | WsOpen | WsMessage | WsClose


def entry_frame(entry: Entry) -> Frame | None:
    """What a client would have received: server messages and REST answers (None for the rest)."""
    if isinstance(entry, WsMessage):
        return None if entry.from_client else Frame(t=entry.t, kind="ws", data=entry.data, conn=entry.conn)
    if isinstance(entry, RestExchange):
        return Frame(t=entry.t, kind="rest", data=entry.body, path=entry.path, status=entry.status)
    return None


# ---------------------------------------------------------------------------------------------------
# Journal lines


class _TextMessage(msgspec.Struct):
    """The fields of the commonest journal line, a text message, as `recording_writer.journal_line` writes
    them."""

    t: float
    conn: int
    ev: str
    from_client: bool | None = None
    text: str | None = None


_text_message = msgspec.json.Decoder(_TextMessage)


def _journal_entry(line: bytes) -> WsOpen | WsMessage | WsClose:
    """The entry a journal line holds. A text message decodes in one typed pass (a replay reads little
    else); every other line, well formed or not, takes the general path, which says what is wrong."""
    try:
        d = _text_message.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return _any_journal_entry(line)
    if d.ev == "msg" and d.from_client is not None and d.text is not None and 0 <= d.t < LATEST_T:
        return WsMessage(d.t, d.conn, d.from_client, d.text.encode("utf-8", "surrogateescape"))
    return _any_journal_entry(line)


def _any_journal_entry(line: bytes) -> WsOpen | WsMessage | WsClose:
    d = json.loads(line)
    ev = d["ev"]
    t = float(d["t"])
    if not 0 <= t < LATEST_T:  # NaN fails this too
        raise ValueError(f"t {d['t']!r} is not a time")
    if ev == "msg":
        if "text" in d:
            return WsMessage(t, int(d["conn"]), bool(d["from_client"]), d["text"].encode("utf-8", "surrogateescape"))
        # validate: without it, characters outside the alphabet are dropped and garbage reads as b""
        return WsMessage(t, int(d["conn"]), bool(d["from_client"]), base64.b64decode(d["b64"], validate=True),
                         is_text=False)
    if ev == "open":
        return WsOpen(t, int(d["conn"]), str(d["path"]))
    if ev == "close":
        return WsClose(t, int(d["conn"]), d["code"], bool(d["by_client"]))
    raise ValueError(f"unknown journal event {ev!r}")


# ---------------------------------------------------------------------------------------------------
# Reading


@dataclass
class Recording:
    """An opened recording: `entries()` yields everything in time order, `frames()` what a client got."""

    path: Path
    flows_path: Path
    journal_path: Path | None
    manifest: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def plain_flow_file(self) -> bool:
        return self.flows_path == self.path

    def entries(self) -> Iterator[Entry]:
        """Everything, in time order; under a manifest, what was read is compared with its counts at the end."""
        if self.plain_flow_file:
            return iter(sorted(_read_flows(self.flows_path, with_ws=True, warnings=self.warnings),
                               key=_sort_key))
        rest = _read_flows(self.flows_path, with_ws=False, warnings=self.warnings,
                           tolerate_tail=self.manifest is None)
        if self.journal_path is None:
            entries: Iterator[Entry] = rest
        else:
            entries = heapq.merge(rest, _read_journal(self.journal_path, self.warnings,
                                                      tolerate_tail=self.manifest is None), key=_sort_key)
        counts = (self.manifest or {}).get("counts")  # the writer reads strictly before there are counts
        return entries if counts is None else _counted(entries, counts, self.path / MANIFEST)

    def frames(self) -> Iterator[Frame]:
        for entry in self.entries():
            frame = entry_frame(entry)
            if frame is not None:
                yield frame

    def summary(self) -> dict[str, Any]:
        """Read the whole recording once and describe it (what `dydx-bot recording info` prints)."""
        counts: Counter[str] = Counter()
        channels: set[str] = set()
        markets: set[str] = set()
        rest_paths: Counter[str] = Counter()
        first = last = None
        for entry in self.entries():
            first = entry.t if first is None else first
            last = entry.t
            if (kind := _count_of(entry)) is not None:
                counts[kind] += 1
            if isinstance(entry, RestExchange):
                rest_paths[entry.path.split("?", 1)[0]] += 1
            elif isinstance(entry, WsMessage):
                if entry.from_client:
                    channel, ident = subscription_of(entry.data)
                    if channel:
                        channels.add(f"{channel}:{ident}" if ident else channel)
                        if ident and channel in ("v4_orderbook", "v4_trades", "v4_candles"):
                            markets.add(ident.split("/", 1)[0])
        return {
            "path": str(self.path),
            "kind": "plain mitmproxy flow file" if self.plain_flow_file else FORMAT,
            # a directory without its manifest may have lost anything: only the manifest says it is whole
            "complete": self.manifest is not None or self.plain_flow_file,
            "markets": sorted(markets),
            "channels": sorted(channels),
            "start": first,
            "end": last,
            "duration_s": round(last - first, 3) if first is not None and last is not None else 0.0,
            "counts": dict(sorted(counts.items())),
            "rest_paths": dict(sorted(rest_paths.items())),
            "manifest": self.manifest,
            "warnings": list(self.warnings),
        }


def subscription_of(data: bytes) -> tuple[str | None, str | None]:
    """(channel, id) of a client subscribe message, else (None, None)."""
    try:
        msg = json.loads(data)
    except ValueError:
        return None, None
    if not isinstance(msg, dict) or msg.get("type") != "subscribe":
        return None, None
    return msg.get("channel"), msg.get("id")


def _sort_key(entry: Entry) -> float:
    return entry.t


def _count_of(entry: Entry) -> str | None:
    """The manifest's `counts` key an entry counts under."""
    if isinstance(entry, RestExchange):
        return "rest"
    if isinstance(entry, WsOpen):
        return "ws_connections"
    if isinstance(entry, WsMessage):
        return "ws_from_client" if entry.from_client else "ws_from_server"
    return None


def _counted(entries: Iterator[Entry], expected: dict[str, int], manifest: Path) -> Iterator[Entry]:
    """`entries`, then a `RecordingError` if their counts are not the manifest's (edited, or a file swapped
    for another whose checksum was edited in too)."""
    counts: Counter[str | None] = Counter()
    for entry in entries:
        counts[_count_of(entry)] += 1
        yield entry
    for kind in sorted(set(expected) | {kind for kind in counts if kind is not None}):
        if counts[kind] != expected.get(kind, 0):
            raise RecordingError(f"{manifest}: counts {kind} {expected.get(kind, 0)}, but the recording holds "
                                 f"{counts[kind]}")


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open and check a recording directory or a plain mitmproxy flow file."""
    if not os.fspath(path):  # Path("") is the working directory
        raise RecordingError("no recording given (an empty path)")
    path = Path(path)
    try:
        return _open(path)
    except OSError as exc:
        raise RecordingError(f"{exc.filename or path}: cannot read ({exc.strerror or exc})") from None


def _open(path: Path) -> Recording:
    if not path.exists():
        raise RecordingError(f"{path}: no such recording")
    if path.is_file():
        _check_flow_file_head(path)
        return Recording(path=path, flows_path=path, journal_path=None, manifest=None)
    if not path.is_dir():
        raise RecordingError(f"{path}: neither a recording directory nor a flow file")
    os.listdir(path)  # an unreadable directory says so here, not as a missing file
    flows, journal, manifest_path = path / FLOWS, path / JOURNAL, path / MANIFEST
    for name in (FLOWS, JOURNAL, MANIFEST):
        if (path / name).exists() and not (path / name).is_file():
            raise RecordingError(f"{path / name}: not a file")
    if not flows.exists() and not journal.exists():
        raise RecordingError(f"{path}: not a recording (neither {FLOWS} nor {JOURNAL} is there)")
    warnings: list[str] = []
    manifest = None
    if manifest_path.exists():
        manifest = _load_manifest(manifest_path)
        _verify_against_manifest(path, manifest)
    else:
        warnings.append(f"{path}: no {MANIFEST}: the recorder did not close this recording; "
                        "reading what was written before it stopped")
    if flows.exists():
        if flows.stat().st_size:
            _check_flow_file_head(flows)
    else:
        warnings.append(f"{flows}: missing; only WebSocket messages are available")
    return Recording(path=path, flows_path=flows, journal_path=journal if journal.exists() else None,
                     manifest=manifest, warnings=warnings)


Time = Annotated[float, Meta(ge=0, lt=LATEST_T)]
Count = Annotated[int, Meta(ge=0)]


class _FileEntry(msgspec.Struct):
    bytes: Count
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]


class _ManifestShape(msgspec.Struct):
    """What a manifest must hold, and the types of what it may (other keys are kept, unread)."""

    format: str
    files: dict[str, _FileEntry]
    counts: dict[str, Count]
    format_version: int = 0
    markets: list[str] = []
    channels: list[str] = []
    start: Time | None = None
    end: Time | None = None
    provenance: dict[str, Any] = {}
    network: str = ""
    upstream: str = ""
    flow_format_version: int | None = None


def _load_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError as exc:
        raise RecordingError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RecordingError(f"{path}: not a {FORMAT} manifest")
    version = manifest.get("format_version")
    if type(version) is int and version > FORMAT_VERSION:  # a newer format may be shaped otherwise
        raise RecordingError(f"{path}: format version {version} is newer than this dydx-bot reads ({FORMAT_VERSION})")
    try:
        shape = msgspec.convert(manifest, _ManifestShape)
    except msgspec.ValidationError as exc:
        raise RecordingError(f"{path}: not a valid manifest: {exc}") from None
    if strange := sorted(set(shape.files) - {FLOWS, JOURNAL}):
        raise RecordingError(f"{path}: files lists {json.dumps(strange[0])}, which is not a file of a recording "
                             f"(only {FLOWS} and {JOURNAL}, inside its directory)")
    return manifest


def file_digest(path: Path) -> tuple[int, str]:
    """(bytes, sha256 hex) of a file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _verify_against_manifest(path: Path, manifest: dict[str, Any]) -> None:
    listed = manifest["files"]
    for name in (FLOWS, JOURNAL):
        if (path / name).exists() and name not in listed:
            raise RecordingError(f"{path / name}: not in the manifest's files, so it cannot be checked")
    for name, expected in listed.items():
        file = path / name
        if not file.exists():
            raise RecordingError(f"{file}: missing (the manifest lists it)")
        size, digest = file_digest(file)
        if size != expected.get("bytes"):
            raise RecordingError(f"{file}: {size} bytes but the manifest says {expected.get('bytes')} "
                                 "(truncated or appended to)")
        if digest != expected.get("sha256"):
            raise RecordingError(f"{file}: sha256 {digest[:12]}... does not match the manifest "
                                 f"({str(expected.get('sha256'))[:12]}...): the file was changed or damaged")


def _check_flow_file_head(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        raise RecordingError(f"{path}: empty file (no flows)")
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"{"):
        raise RecordingError(f"{path}: looks like JSON/HAR, not a mitmproxy flow file")
    # a tnetstring starts with its decimal length and a colon
    colon = head.find(b":")
    if colon <= 0 or not head[:colon].isdigit():
        raise RecordingError(f"{path}: not a mitmproxy flow file (starts with {head[:16]!r})")


def flow_format_version(path: Path) -> int | None:
    """The mitmproxy flow-format version of the first flow in a flow file (None when there is none)."""
    from mitmproxy.io import tnetstring

    try:
        with open(path, "rb") as f:
            state = tnetstring.load(f)
    except (OSError, ValueError, IndexError):
        return None
    version = state.get("version") if isinstance(state, dict) else None
    return version if isinstance(version, int) else None


def _read_flows(path: Path, *, with_ws: bool, warnings: list[str], tolerate_tail: bool = False
                ) -> Iterator[Entry]:
    """REST exchanges (and, for plain flow files, WebSocket sessions) from a mitmproxy flow file."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        yield from _flows(path, with_ws=with_ws, warnings=warnings, tolerate_tail=tolerate_tail)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _flows(path: Path, *, with_ws: bool, warnings: list[str], tolerate_tail: bool) -> Iterator[Entry]:
    from mitmproxy import exceptions, http, io  # heavy import, only where flows are read

    count = 0
    conn = 0
    with open(path, "rb") as f:
        reader = io.FlowReader(f)
        stream = iter(reader.stream())
        while True:
            try:
                flow = next(stream)
            except StopIteration:
                break
            except (exceptions.FlowReadException, KeyError, TypeError, ValueError, AttributeError) as exc:
                where = f"{path}: damaged after {count} flows (byte {f.tell()} of {path.stat().st_size})"
                # a well-formed record without a field mitmproxy needs raises a bare KeyError
                reason = (f"a flow lacks the field {exc}" if isinstance(exc, KeyError)
                          else str(exc) or type(exc).__name__)
                if "newer" in reason.lower() or "version" in reason.lower():
                    raise RecordingError(f"{path}: {reason} (read {count} flows)") from None
                if tolerate_tail:
                    warnings.append(f"{where}: {reason}; the rest is ignored")
                    return
                raise RecordingError(f"{where}: {reason}") from None
            count += 1
            if not isinstance(flow, http.HTTPFlow) or flow.response is None:
                continue
            if flow.websocket is not None:
                if not with_ws:
                    continue
                conn += 1
                yield from _ws_entries(flow, conn)
                continue
            req, resp = flow.request, flow.response
            yield RestExchange(t=resp.timestamp_end or resp.timestamp_start, method=req.method,
                               path=req.path, status=resp.status_code, body=resp.content or b"",
                               content_type=resp.headers.get("content-type", ""),
                               t_request=req.timestamp_start, retry_after=resp.headers.get("retry-after"))


def _ws_entries(flow: Any, conn: int) -> Iterator[Entry]:
    yield WsOpen(t=flow.response.timestamp_end or flow.response.timestamp_start, conn=conn,
                 path=flow.request.path)
    last = flow.response.timestamp_start
    for message in flow.websocket.messages:
        last = message.timestamp
        yield WsMessage(t=message.timestamp, conn=conn, from_client=message.from_client,
                        data=message.content, is_text=message.is_text)
    yield WsClose(t=flow.websocket.timestamp_end or last, conn=conn, code=flow.websocket.close_code,
                  by_client=bool(flow.websocket.closed_by_client))


def _read_journal(path: Path, warnings: list[str], *, tolerate_tail: bool) -> Iterator[Entry]:
    try:
        yield from _journal_entries(path, warnings, tolerate_tail=tolerate_tail)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _journal_entries(path: Path, warnings: list[str], *, tolerate_tail: bool) -> Iterator[Entry]:
    with open(path, "rb") as f:
        number = 0
        last = 0.0
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                # the recorder was stopped while writing this line: only it is lost
                message = f"{path}: line {number} is incomplete ({len(line)} bytes, no newline)"
                if tolerate_tail:
                    warnings.append(message + "; ignored")
                    return
                raise RecordingError(message)
            try:
                entry = _journal_entry(line)
            except (ValueError, KeyError, TypeError) as exc:
                raise RecordingError(f"{path}: line {number} is not a journal entry "
                                     f"({type(exc).__name__}: {exc}); {number - 1} lines read") from None
            if entry.t < last:  # the recorder writes in arrival order: a reordered or spliced journal
                raise RecordingError(f"{path}: line {number} goes back in time (t {entry.t!r} after {last!r}); "
                                     f"{number - 1} lines read")
            last = entry.t
            yield entry
        if number == 0 and not tolerate_tail:
            warnings.append(f"{path}: no WebSocket messages")


# ---------------------------------------------------------------------------------------------------
# Manifest
