"""Where the app's frames come from, as chosen on the command line: a recording to replay (at a speed) or
the live indexer. Shared by the dashboard and the headless runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reactivex import abc

from streams.kernel.frames import Frame
from streams.sources.recording import Recording, RecordingError, open_recording
from streams.sources.replay import Replayer

DEFAULT_RECORDING = Path(__file__).resolve().parent.parent / "recordings" / "default"


@dataclass
class ReplaySource:
    """An opened recording and the speed to play it at (None: as fast as possible)."""

    recording: Recording
    speed: float | None = 1.0

    @classmethod
    def open(cls, path: str | Path | None = None, speed: float | None = 1.0) -> ReplaySource:
        return cls(open_recording(DEFAULT_RECORDING if path is None else path), speed)  # "" is refused

    @property
    def name(self) -> str:
        return self.recording.name

    @property
    def speed_text(self) -> str:
        return "max speed" if self.speed is None else f"{self.speed:g}x"

    def replayer(self, scheduler: abc.SchedulerBase, on_damage: Callable[[RecordingError], None]) -> Replayer:
        """A fresh replayer from the start of the recording (each call reads it anew). Damage is found only
        where reading reaches it: the replay ends there, after every frame before it, and `on_damage` is told."""
        return Replayer(_until_damaged(self.recording.frames(), on_damage), scheduler, speed=self.speed)


def _until_damaged(frames: Iterator[Frame], on_damage: Callable[[RecordingError], None]) -> Iterator[Frame]:
    try:
        yield from frames
    except RecordingError as exc:
        on_damage(exc)
