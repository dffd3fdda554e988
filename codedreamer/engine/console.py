"""Print engine events to a terminal: the headless view of a dream cycle.

Model output, code and file names are untrusted text: tokens are written to the console's
file with control characters made visible (safe_text), and every other line is built from
rich `Text` with each interpolated value passed through safe_line, never parsed as markup.
A model that emits ESC or a bidi override, or a file named with one, cannot move the
cursor, recolour the terminal or reorder what the user reads.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.text import Text

from codedreamer.events import (
    ChunkSelected,
    CycleStarted,
    DreamRejected,
    DreamSaved,
    EngineError,
    Event,
    GraphChanged,
    IndexProgress,
    ModelLoaded,
    Notice,
    RunnerStateChanged,
    StageFinished,
    StageStarted,
    TokenStreamed,
)
from codedreamer.safe_text import safe_line, safe_text


class ConsolePrinter:
    """An EventSink that streams tokens live and prints one line per other event."""

    def __init__(self, console: Console, *, show_tokens: bool = True) -> None:
        self._console = console
        self._show_tokens = show_tokens
        self._mid_line = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, TokenStreamed):
            if self._show_tokens:
                text = safe_text(event.text)
                self._console.file.write(text)
                self._console.file.flush()
                self._mid_line = not text.endswith("\n")
            return
        if self._mid_line:
            self._console.file.write("\n")
            self._mid_line = False
        line = self._describe(event)
        if line is not None:
            self._console.print(line)

    @staticmethod
    def _describe(event: Event) -> Text | None:
        """One line for an event, or None for events a terminal log does not need."""
        if isinstance(event, CycleStarted):
            return Text(f"── dream cycle {event.cycle} ──", style="bold")
        if isinstance(event, ChunkSelected):
            where = safe_line(f"{event.path}:{event.start_line}-{event.end_line}")
            label = f" {safe_line(event.symbol)}" if event.symbol else ""
            reason = safe_line(event.reason)
            return Text.assemble(("code ", "dim"), where, label, (f"  ({reason})", "dim"))
        if isinstance(event, StageStarted):
            model = f" · {safe_line(event.model_name)}" if event.model_name else ""
            return Text(f"▶ {event.stage}{model}", style="cyan")
        if isinstance(event, StageFinished):
            return Text(
                f"■ {event.stage}: {event.completion_tokens} tokens in {event.seconds:.1f}s "
                f"({event.tokens_per_second:.1f} tok/s, {safe_line(event.finish_reason)})",
                style="dim",
            )
        if isinstance(event, DreamSaved):
            return Text.assemble(
                ("✔ dream saved ", "green bold"),
                safe_line(event.dream_id),
                "  ",
                safe_line(event.title),
                (f"  novelty {event.novelty:.2f}", "dim"),
                ("\n  ", ""),
                (safe_line(event.path), "dim"),
            )
        if isinstance(event, DreamRejected):
            detail = f": {event.detail}" if event.detail else ""
            return Text(safe_line(f"✘ dream rejected ({event.reason}){detail}"), style="yellow")
        if isinstance(event, GraphChanged):
            return Text(f"graph: {event.nodes} nodes, {event.edges} edges", style="dim")
        if isinstance(event, EngineError):
            return Text(f"error: {safe_line(event.message)}", style="red")
        if isinstance(event, Notice):
            return Text(safe_line(event.message), style="dim")
        if isinstance(event, ModelLoaded):
            return Text(
                f"model loaded: {safe_line(event.model_name)} ({event.role}, {event.seconds:.1f}s)",
                style="dim",
            )
        if isinstance(event, IndexProgress) and event.state == "ready":
            return Text(f"index ready: {event.chunks} chunks", style="dim")
        if isinstance(event, RunnerStateChanged):
            if event.state == "waiting" and event.next_cycle_at is not None:
                when = time.strftime("%H:%M:%S", time.localtime(event.next_cycle_at))
                return Text(f"next dream at {when}", style="dim")
            if event.state == "paused":
                return Text("paused", style="dim")
            return None
        # Cycle ends, index progress ticks and the runner's own stop say nothing new here.
        return None
