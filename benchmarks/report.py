"""What every benchmark records with its figures, and how they are shown.

Each benchmark writes `benchmarks/results/<name>.json`: the figures, the targets they are held to, the
method, and the machine and versions they were measured on (figures mean nothing without them). Then it
prints its rows of the markdown table that `python -m benchmarks.summary` prints for all of them.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PACKAGES = ("reactivex", "msgspec", "textual", "mitmproxy", "aiohttp", "numpy", "TA-Lib", "psutil",
            "dydx-v4-client")


@dataclass(frozen=True)
class Row:
    """One line of the table: `met` is None for a figure that has no target (context, a baseline)."""

    measure: str
    figure: str
    target: str = ""
    met: bool | None = None

    def markdown(self, benchmark: str) -> str:
        verdict = "" if self.met is None else "yes" if self.met else "**no**"
        return f"| {benchmark} | {self.measure} | {self.figure} | {self.target} | {verdict} |"


HEADER = "| benchmark | measure | figure | target | met |\n|---|---|---|---|---|"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(extra_packages: tuple[str, ...] = ()) -> dict[str, Any]:
    versions = {}
    for name in (*PACKAGES, *extra_packages):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "system": platform.platform(),
            "load_average_at_start": os.getloadavg(), "packages": versions}


def write(name: str, *, method: str, figures: dict[str, Any], rows: list[Row],
          extra_packages: tuple[str, ...] = (), out: Path = RESULTS) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps({
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(extra_packages),
        "method": method,
        "figures": figures,
        "rows": [asdict(row) for row in rows],
    }, indent=2) + "\n")
    return path


def show(name: str, rows: list[Row]) -> None:
    print(HEADER)
    for row in rows:
        print(row.markdown(name))


def interleaved(runs: int, works: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    """Wall seconds of each of `works`, `runs` rounds of all of them in turns (after one untimed round that
    warms imports, caches and the page cache), so that a busy moment of a shared machine falls on every work
    alike rather than on one: compare their medians, or the median of each round's ratio."""
    for work in works.values():
        work()
    seconds: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(runs):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of the rounds' ratios: each round's two figures saw the same machine."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def rate(count: float) -> str:
    return f"{count:,.0f}/s"
