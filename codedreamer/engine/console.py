"""Print engine events to a terminal: the headless view of a dream cycle.

Model output and code are untrusted text: tokens are written to the console's file as
they are, and every other line is built from rich `Text`, never parsed as markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from codedreamer.engine.events import (
    ChunkSelected,
    CycleStarted,
    DreamRejected,
    DreamSaved,
    EngineError,
    Event,
    GraphChanged,
    Notice,
    StageFinished,
    StageStarted,
    TokenStreamed,
)


class ConsolePrinter:
    """An EventSink that streams tokens live and prints one line per other event."""

    def __init__(self, console: Console, *, show_tokens: bool = True) -> None:
        self._console = console
        self._show_tokens = show_tokens
        self._mid_line = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, TokenStreamed):
            if self._show_tokens:
                self._console.file.write(event.text)
                self._console.file.flush()
                self._mid_line = not event.text.endswith("\n")
            return
        if self._mid_line:
            self._console.file.write("\n")
            self._mid_line = False
        self._console.print(self._describe(event))

    @staticmethod
    def _describe(event: Event) -> Text:
        if isinstance(event, CycleStarted):
            return Text(f"── dream cycle {event.cycle} ──", style="bold")
        if isinstance(event, ChunkSelected):
            where = f"{event.path}:{event.start_line}-{event.end_line}"
            label = f" {event.symbol}" if event.symbol else ""
            return Text.assemble(("code ", "dim"), where, label, (f"  ({event.reason})", "dim"))
        if isinstance(event, StageStarted):
            model = f" · {event.model_name}" if event.model_name else ""
            return Text(f"▶ {event.stage}{model}", style="cyan")
        if isinstance(event, StageFinished):
            return Text(
                f"■ {event.stage}: {event.completion_tokens} tokens in {event.seconds:.1f}s "
                f"({event.tokens_per_second:.1f} tok/s, {event.finish_reason})",
                style="dim",
            )
        if isinstance(event, DreamSaved):
            return Text.assemble(
                ("✔ dream saved ", "green bold"),
                event.dream_id,
                "  ",
                event.title,
                (f"  novelty {event.novelty:.2f}", "dim"),
                ("\n  ", ""),
                (event.path, "dim"),
            )
        if isinstance(event, DreamRejected):
            detail = f": {event.detail}" if event.detail else ""
            return Text(f"✘ dream rejected ({event.reason}){detail}", style="yellow")
        if isinstance(event, GraphChanged):
            return Text(f"graph: {event.nodes} nodes, {event.edges} edges", style="dim")
        if isinstance(event, EngineError):
            return Text(f"error: {event.message}", style="red")
        if isinstance(event, Notice):
            return Text(event.message, style="dim")
        return Text(repr(event), style="dim")
