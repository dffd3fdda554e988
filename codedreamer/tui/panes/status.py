"""The status line: what the engine is doing, the model, the index, and the dream counts.

`EngineStatus` folds events into the few facts the line shows (a pure reducer, tested
without a UI); `StatusLine` renders it, once per event batch and once a second for the
"next dream in N s" countdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.content import Content
from textual.widgets import Static

from codedreamer.events import (
    DreamRejected,
    EngineError,
    Event,
    IndexProgress,
    ModelLoaded,
    RunnerStateChanged,
    RunnerStopped,
    StageStarted,
)
from codedreamer.safe_text import safe_line

Mode = str  # "local" (engine in this process), "attached" (a daemon's), "viewer" (none)


@dataclass
class EngineStatus:
    """What the status line knows, folded from events and the dream store."""

    mode: Mode = "local"
    model_name: str = ""
    state: str = ""
    stage: str = ""
    next_cycle_at: float | None = None
    index_state: str = ""
    files_done: int = 0
    files_total: int = 0
    chunks: int = 0
    stored: int = 0
    pending: int = 0
    rejected: int = 0
    last_rejection: str = ""
    errors: int = 0
    quitting: bool = False

    def apply(self, event: Event) -> None:
        if isinstance(event, ModelLoaded):
            if event.role == "reasoning" or not self.model_name:
                self.model_name = event.model_name
        elif isinstance(event, RunnerStateChanged):
            self.state = event.state
            self.next_cycle_at = event.next_cycle_at
            if event.state != "dreaming":
                self.stage = ""
        elif isinstance(event, RunnerStopped):
            self.state, self.stage, self.next_cycle_at = "stopped", "", None
        elif isinstance(event, StageStarted):
            self.stage = event.stage
            if event.model_name:
                self.model_name = event.model_name
        elif isinstance(event, IndexProgress):
            self.index_state = event.state
            self.files_done, self.files_total = event.files_done, event.files_total
            self.chunks = event.chunks
        elif isinstance(event, DreamRejected):
            self.rejected += 1
            self.last_rejection = event.reason
        elif isinstance(event, EngineError):
            # A failed cycle also ends with CycleFinished(outcome="error"): count it once.
            self.errors += 1

    def activity(self, now: float) -> tuple[str, str]:
        """(text, style name) for what the engine is doing now."""
        if self.quitting:
            return "stopping…", "warning"
        if self.mode == "viewer":
            return "no engine running", "muted"
        state = self.state
        if state == "paused":
            return "⏸ paused", "warning"
        if state == "waiting" and self.next_cycle_at is not None:
            seconds = max(0, round(self.next_cycle_at - now))
            return f"◷ next dream in {seconds} s", "normal"
        if state == "dreaming":
            return (f"● dreaming · {self.stage}" if self.stage else "● dreaming"), "accent"
        if state == "indexing":
            return "indexing", "accent"
        if state == "stopped":
            return "■ stopped", "muted"
        if state:
            return state, "normal"
        return ("waiting for the daemon" if self.mode == "attached" else "starting"), "muted"

    def index_text(self) -> str:
        if self.index_state == "indexing" and self.files_total:
            return f"index {self.files_done}/{self.files_total} files"
        if self.index_state in ("ready", "updated"):
            return f"{self.chunks} chunks indexed"
        if self.index_state:
            return f"index {self.index_state}"
        return ""

    def dreams_text(self) -> str:
        text = f"{self.stored} dreams, {self.pending} pending"
        if self.rejected:
            text += f" · {self.rejected} rejected"
            if self.last_rejection:
                text += f" (last: {self.last_rejection})"
        return text


STYLES = {
    "warning": "bold $warning",
    "accent": "bold $accent",
    "muted": "$text-muted",
    "normal": "bold",
}


def render_status(status: EngineStatus, now: float) -> Content:
    """The line as Content: every untrusted part is literal text, made one-line safe."""
    activity, style = status.activity(now)
    parts: list[str | tuple[str, str]] = [(f" {activity} ", STYLES[style])]
    # Most useful first: a narrow terminal cuts the line from the right.
    for part in (
        "attached" if status.mode == "attached" else "",
        status.dreams_text(),
        f"{status.errors} errors" if status.errors else "",
        status.model_name,
        status.index_text(),
    ):
        if part:
            parts += [("│ ", "$text-muted"), safe_line(part) + " "]
    return Content.assemble(*parts)


class StatusLine(Static):
    """One line at the top of the screen; the app calls `refresh_line` when it changed."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, status: EngineStatus, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status = status
        self._clock = clock
        self._shown: tuple[str, tuple[object, ...]] | None = None

    def on_mount(self) -> None:
        self.refresh_line()

    def refresh_line(self) -> None:
        line = render_status(self.status, self._clock())
        key = (line.plain, tuple(line.spans))
        if key != self._shown:
            self._shown = key
            self.update(line, layout=False)  # always one line: no layout pass needed
