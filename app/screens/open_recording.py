"""Open a recording: type a path (a recording directory or a mitmproxy flow file), or pick one of the
recordings shipped in `recordings/`."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from app.sources import DEFAULT_RECORDING


def bundled_recordings(folder: Path = DEFAULT_RECORDING.parent) -> list[Path]:
    """Recording directories (with a manifest) and flow files in `folder`, by name."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir()
                  if (path / "manifest.json").is_file() or path.suffix in (".mitm", ".flows"))


def _shown(path: Path) -> str:
    """Relative to the working directory when under it (`recordings/default`)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class OpenRecordingScreen(ModalScreen[Path | None]):
    """Dismissed with the chosen path (not yet opened: the backend reports what is wrong with it)."""

    DEFAULT_CSS = """
    OpenRecordingScreen { align: center middle; }
    OpenRecordingScreen > Vertical {
        width: 80; max-width: 95%; height: auto; padding: 1 2; border: thick $primary; background: $surface;
    }
    OpenRecordingScreen OptionList { height: auto; max-height: 10; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "dismiss", "cancel")]

    def __init__(self, recordings: list[Path]) -> None:
        super().__init__()
        self.recordings = recordings

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Open a recording", classes="title")
            yield Input(placeholder="path to a recording directory or a mitmproxy flow file")
            if self.recordings:
                yield OptionList(*(_shown(path) for path in self.recordings))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(Path(event.value.strip()).expanduser())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.recordings[event.option_index])
