"""Scale: every dYdX market at once (~250, the SYNTHETIC recording of `scale_recording.py`) replayed in
real time, headless and with the dashboard: CPU (% of one core) and peak RSS.

Each face runs as its own process, as a user runs it: `python -m app --no-ui --replay REC --speed 1`
(JSON lines to /dev/null), and `python -m app --replay REC --speed 1` on a pseudo-terminal of
`--size` (its output read and dropped, as a terminal would). After `--warmup` seconds (start-up: the
REST history of every market, the snapshots) the process's CPU time (all threads, user + system, from
psutil) is taken over a `--window` of wall time: CPU % = CPU seconds / wall seconds x 100. Peak RSS is
the kernel's high-water mark (VmHWM), start-up included. `--speed 10` replays ten times the rate, for
headroom. Targets (issue 6): < 10 % of a core and < 256 MB with the dashboard.

    .venv/bin/python -m benchmarks.bench_scale [--recording DIR] [--window 60] [--warmup 20] [--speed 1]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

# runnable as a file too (python benchmarks/bench_scale.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from benchmarks import scale_recording
from benchmarks.bench_graph import count_messages
from benchmarks.report import RESULTS, ROOT, Row, show, write
from streams.sources.recording import open_recording

CPU_TARGET = 10.0  # % of one core, with the dashboard
RSS_TARGET_MB = 256


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def measure(process: psutil.Process, warmup: float, window: float) -> dict[str, float]:
    """CPU % of one core over `window` seconds after `warmup`, and the peak RSS until then."""
    time.sleep(warmup)
    if not process.is_running():
        raise SystemExit(f"process {process.pid} ended during the warm-up")
    start_cpu, start_wall = _cpu(process), time.monotonic()
    time.sleep(window)
    cpu, wall = _cpu(process) - start_cpu, time.monotonic() - start_wall
    return {"cpu_percent": 100.0 * cpu / wall, "cpu_seconds": cpu, "wall_seconds": wall,
            "rss_mb": process.memory_info().rss / 2**20, "peak_rss_mb": peak_rss_mb(process.pid)}


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def headless(recording: Path, speed: str, warmup: float, window: float) -> dict[str, float]:
    process = subprocess.Popen([sys.executable, "-m", "app", "--no-ui", "--replay", str(recording), "--speed", speed],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return measure(psutil.Process(process.pid), warmup, window)
    finally:
        _stop(process)


def dashboard(recording: Path, speed: str, warmup: float, window: float, size: tuple[int, int]) -> dict[str, float]:
    """The TUI on a pseudo-terminal of `size` (columns, rows); what it draws is read and dropped."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[0]), "LINES": str(size[1])}
    process = subprocess.Popen([sys.executable, "-m", "app", "--replay", str(recording), "--speed", speed],
                               cwd=ROOT, stdin=terminal, stdout=terminal, stderr=terminal, env=env,
                               start_new_session=True)
    os.close(terminal)
    drawn = [0]

    def drain() -> None:
        while True:
            try:
                chunk = os.read(controller, 1 << 16)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            drawn[0] += len(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        figures = measure(psutil.Process(process.pid), warmup, window)
        figures["terminal_bytes"] = drawn[0]
        return figures
    finally:
        _stop(process)
        os.close(controller)
        reader.join(5)


def rates(recording: Path) -> dict[str, Any]:
    """Markets, and the recording's live message rate (after the snapshots), in frames and updates/s."""
    opened = open_recording(recording)
    frames = list(opened.frames())
    live = [frame for frame in frames if frame.t >= scale_recording.T0]
    span = live[-1].t - live[0].t
    count, updates = count_messages(live)
    return {"markets": len((opened.manifest or {}).get("markets", [])), "frames": len(frames),
            "live_frames_per_s": count / span, "live_updates_per_s": updates / span}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, help="a scale recording (default: build one in a temp dir)")
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--speed", default="1")
    parser.add_argument("--size", default="200x50", help="the dashboard's terminal, COLUMNSxROWS")
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    size = tuple(int(n) for n in args.size.split("x"))
    name = "scale" if args.speed == "1" else f"scale-x{args.speed}"
    if args.recording is None and not scale_recording.SAMPLES.is_dir():
        rows = [Row("every market at once", f"not run: no real samples at {scale_recording.SAMPLES} to build from")]
        write(name, method=__doc__, rows=rows, out=args.out or RESULTS, figures={})
        show(name, rows)
        return
    minutes = int((args.warmup + args.window) * float(args.speed) / 60) + 2  # live traffic for the whole window
    with tempfile.TemporaryDirectory() as scratch:
        recording = args.recording or Path(scratch) / "scale"
        if args.recording is None:
            scale_recording.build(recording, minutes=minutes)
        traffic = rates(recording)
        runs = {"headless": headless(recording, args.speed, args.warmup, args.window)}
        if not args.skip_dashboard:
            runs["dashboard"] = dashboard(recording, args.speed, args.warmup, args.window, size)
    rows = [Row("markets, live rate at this speed", f"{traffic['markets']}, "
                f"{traffic['live_frames_per_s'] * float(args.speed):,.0f} frames/s "
                f"({traffic['live_updates_per_s'] * float(args.speed):,.0f} updates/s) at speed {args.speed}")]
    for face, figures in runs.items():
        target = face == "dashboard" and args.speed == "1"
        rows += [
            Row(f"{face}: CPU, % of one core", f"{figures['cpu_percent']:.1f} %",
                f"< {CPU_TARGET:g} %" if target else "", figures["cpu_percent"] < CPU_TARGET if target else None),
            Row(f"{face}: peak RSS", f"{figures['peak_rss_mb']:.0f} MB",
                f"< {RSS_TARGET_MB} MB" if target else "", figures["peak_rss_mb"] < RSS_TARGET_MB if target else None),
        ]
    write(name, method=__doc__, rows=rows, out=args.out or RESULTS, figures={
        "speed": args.speed, "window_s": args.window, "warmup_s": args.warmup, "terminal": args.size,
        "recording": traffic, "runs": runs})
    show(name, rows)


if __name__ == "__main__":
    main()
