"""`dydx-bot recording info PATH [--json]`: what a recording holds and whether it is whole."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from app.commands import UsageError
from streams.sources.recording import flow_format_version, open_recording


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("recording", help="inspect recordings",
                                   description="Inspect recordings (a recording directory or a mitmproxy flow file).")
    actions = parser.add_subparsers(dest="recording_command", metavar="ACTION")
    info = actions.add_parser("info", help="summarise one recording",
                              description="Summarise a recording: markets, channels, time span, counts, "
                                          "files and their checksums, flow-format version, provenance.")
    info.add_argument("path", metavar="PATH", help="recording directory or mitmproxy flow file")
    info.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    if args.recording_command != "info":
        raise UsageError("recording: say what to do, e.g. `dydx-bot recording info PATH`")
    info = recording_info(args.path)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def recording_info(path: str) -> dict[str, Any]:
    """The summary of `Recording.summary()` plus its files and flow-format version (RecordingError if
    the recording is damaged: reading it whole is how damage shows)."""
    recording = open_recording(path)
    info = recording.summary()
    manifest = recording.manifest
    files = {}
    for file in (recording.flows_path, recording.journal_path):
        if file is not None and file.exists():
            files[file.name] = {"bytes": file.stat().st_size,
                                "checksum": "matches the manifest" if manifest else "no manifest to check against"}
    info["files"] = files
    if manifest:
        info["flow_format_version"] = manifest.get("flow_format_version")
    else:
        info["flow_format_version"] = flow_format_version(recording.flows_path)
    return info


def format_info(info: dict[str, Any]) -> str:
    manifest = info["manifest"] or {}
    counts = info["counts"]
    rows = [
        ("recording", f"{info['path']} ({info['kind']}, {'complete' if info['complete'] else 'INCOMPLETE'})"),
        ("markets", ", ".join(info["markets"] or manifest.get("markets", [])) or "-"),
        ("channels", ", ".join(info["channels"]) or "-"),
        ("time", _span(info)),
        ("counts", ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in counts.items()) or "nothing recorded"),
        ("rest paths", "\n".join(f"{n:>6}  {p}" for p, n in info["rest_paths"].items()) or "-"),
        ("files", "\n".join(f"{name}  {_size(f['bytes'])}, {f['checksum']}" for name, f in info["files"].items())
         or "-"),
        ("flow format", f"version {info['flow_format_version'] or '?'}"
                        + (f" (mitmproxy {manifest['mitmproxy_version']})" if "mitmproxy_version" in manifest else "")),
    ]
    if manifest:
        rows.append(("provenance", _provenance(manifest)))
    if info["warnings"]:
        rows.append(("warnings", "\n".join(info["warnings"])))
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}".replace("\n", "\n" + " " * width) for label, value in rows)


def _span(info: dict[str, Any]) -> str:
    if info["start"] is None:
        return "-"
    return f"{_utc(info['start'])} .. {_utc(info['end'])} ({info['duration_s']:.3f} s)"


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(sep=" ", timespec="milliseconds")[:-6] + "Z"


def _size(n: int) -> str:
    size: float = n
    for unit in ("B", "kB", "MB"):
        if size < 1000:
            return f"{n} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _provenance(manifest: dict[str, Any]) -> str:
    provenance = manifest.get("provenance") or {}
    lines = [f"network {manifest.get('network', '?')}, upstream {manifest.get('upstream', '?')}"]
    lines += [f"{key.replace('_', ' ')} {_plain(value)}" for key, value in provenance.items()]
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)
