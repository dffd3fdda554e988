"""The thought stream: the code being dreamed about and the model's tokens as they arrive.

The app hands it each event (tokens already batched by the bridge) and calls `flush()` once
per frame, so a burst of tokens costs one repaint. Code and model text are untrusted:
control characters are made visible (`safe_text`) and the text is put into `Content`
as literal text, highlighted by a lexer, never parsed as markup.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.widgets import Static

from codedreamer.events import (
    ChunkSelected,
    CycleFinished,
    CycleStarted,
    DreamRejected,
    DreamSaved,
    EngineError,
    Event,
    ModelLoaded,
    StageFinished,
    StageStarted,
)
from codedreamer.safe_text import safe_line, safe_text
from codedreamer.tui.bridge import TokenBatch, ViewItem

MAX_STREAM_CHARS = 8_000
"""Older text of a very long cycle scrolls away; the dream file keeps all of it."""
MAX_CODE_LINES = 80


class ThoughtStream(Vertical):
    """Stage, model and speed on top, the selected code, then the streaming text."""

    DEFAULT_CSS = """
    ThoughtStream #stage-line, ThoughtStream #chunk-line {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ThoughtStream #chunk-line { color: $text-muted; }
    ThoughtStream #code {
        height: auto;
        max-height: 6;
        overflow-y: auto;
        background: $boost;
        text-wrap: nowrap;
    }
    ThoughtStream #stream-scroll { height: 1fr; }
    ThoughtStream #stream { height: auto; }
    """

    def __init__(self, *, exact_token_counts: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exact_token_counts = exact_token_counts
        """In-process every token is one event; a daemon's log merges them (no live rate)."""
        self.model_name = ""
        self.stage = ""
        self.cycle = 0
        self.rate: float | None = None
        self.rate_final = False
        self._first_token_at = 0.0
        self.last_token_at = 0.0
        """When the latest token was streamed (epoch seconds, from its event)."""
        self._stage_pieces = 0
        self._parts: list[tuple[str, str]] = []
        self._chars = 0
        self._code = Content("")
        self._chunk = Content("")
        self._dirty = False
        self._shown: dict[str, tuple[str, tuple[object, ...]]] = {}
        self._stream_lines = -1

    def compose(self) -> ComposeResult:
        yield Static(id="stage-line")
        yield Static(id="chunk-line")
        yield Static(id="code")
        with VerticalScroll(id="stream-scroll"):
            yield Static(id="stream")

    def on_mount(self) -> None:
        self._dirty = True
        self.flush()

    # ------------------------------------------------------------------ events

    def apply(self, item: ViewItem) -> None:
        """Take one event or token batch into the pane's state (painted by `flush`)."""
        if isinstance(item, TokenBatch):
            self._append(safe_text(item.text), "")
            if self._stage_pieces == 0:
                self._first_token_at = item.first_timestamp
            self.last_token_at = item.timestamp
            self._stage_pieces += item.pieces
            if self.exact_token_counts and not self.rate_final:
                # Decode speed, as the runtime measures it: tokens after the first over
                # the time since the first (the prompt's prefill is not generation).
                elapsed = item.timestamp - self._first_token_at
                if self._stage_pieces > 2 and elapsed > 0.2:
                    self.rate = (self._stage_pieces - 1) / elapsed
        elif isinstance(item, Event):
            self._apply_event(item)
        self._dirty = True

    def _apply_event(self, event: Event) -> None:
        if isinstance(event, ModelLoaded) and (event.role == "reasoning" or not self.model_name):
            self.model_name = event.model_name
        elif isinstance(event, CycleStarted):
            self.cycle = event.cycle
            self.stage, self.rate, self.rate_final = "", None, False
            self._parts, self._chars = [], 0
            self._code, self._chunk = Content(""), Content("")
        elif isinstance(event, ChunkSelected):
            self._show_chunk(event)
        elif isinstance(event, StageStarted):
            self.stage = event.stage
            if event.model_name:
                self.model_name = event.model_name
            self.rate, self.rate_final = None, False
            self._stage_pieces = 0
            prefix = "\n" if self._parts else ""
            self._append(f"{prefix}▸ {event.stage}\n", "bold $accent")
        elif isinstance(event, StageFinished):
            self.rate, self.rate_final = event.tokens_per_second, True
            self._append(
                f"\n  {event.completion_tokens} tokens in {event.seconds:.1f} s · "
                f"{event.tokens_per_second:.1f} tok/s · {safe_line(event.finish_reason)}\n",
                "$text-muted",
            )
        elif isinstance(event, DreamSaved):
            self._append(f"✔ saved: {safe_line(event.title)}\n", "bold $success")
        elif isinstance(event, DreamRejected):
            detail = f" — {event.detail}" if event.detail else ""
            self._append(f"✘ rejected: {safe_line(event.reason + detail)}\n", "bold $warning")
        elif isinstance(event, CycleFinished) and event.outcome == "error":
            self._append(f"✘ cycle failed: {safe_line(event.reason)}\n", "bold $error")
        elif isinstance(event, EngineError):
            self._append(f"! {safe_line(event.message)}\n", "$error")

    def _show_chunk(self, event: ChunkSelected) -> None:
        where = f"{event.path}:{event.start_line}-{event.end_line}"
        parts: list[str | tuple[str, str]] = [(safe_line(where), "bold")]
        if event.symbol:
            parts.append("  " + safe_line(event.symbol))
        if event.reason:
            parts.append((f"  ({safe_line(event.reason)})", "italic"))
        self._chunk = Content.assemble(*parts)
        code = getattr(event, "code", "")
        if code:
            lines = safe_text(code).splitlines()[:MAX_CODE_LINES]
            language = getattr(event, "language", "") or None
            self._code = highlight("\n".join(lines), language=language, path=event.path)
        else:
            self._code = Content("")

    def _append(self, text: str, style: str) -> None:
        self._parts.append((text, style))
        self._chars += len(text)
        while self._chars > MAX_STREAM_CHARS and len(self._parts) > 1:
            dropped, _ = self._parts.pop(0)
            self._chars -= len(dropped)

    # ------------------------------------------------------------------ painting

    def stage_line(self) -> Content:
        # The model name goes last: a narrow pane cuts the line from the right.
        parts: list[str | tuple[str, str]] = []
        parts.append((f"▶ {self.stage}" if self.stage else "▷ idle", "bold $accent"))
        if self.rate is not None:
            approx = "" if self.rate_final else "~"
            parts.append((f"  {approx}{self.rate:.1f} tok/s", "bold"))
        if self.cycle:
            parts.append((f"  cycle {self.cycle}", "$text-muted"))
        if self.model_name:
            parts.append(("  " + safe_line(self.model_name), "$text-muted"))
        return Content.assemble(*parts)

    def stream_content(self) -> Content:
        return Content.assemble(*[(text, style) if style else text for text, style in self._parts])

    def flush(self) -> None:
        """Repaint what changed since the last frame (called by the app once per frame).

        Only a change of height needs a layout pass (which repaints the whole screen); the
        one-line labels and a stream that did not gain a line repaint just themselves.
        """
        if not self._dirty or not self.is_mounted:
            return
        self._dirty = False
        self._update("#stage-line", self.stage_line(), layout=False)
        self._update("#chunk-line", self._chunk, layout=False)
        code = self.query_one("#code", Static)
        if self._update("#code", self._code, layout=True):
            code.display = bool(self._code.plain)
        scroll = self.query_one("#stream-scroll", VerticalScroll)
        # Follow new text only while the reader is at the end: scrolling up to reread
        # something must not be yanked back by the next token.
        following = scroll.scroll_y >= scroll.max_scroll_y - 1
        stream = self.stream_content()
        width = max(1, scroll.scrollable_content_region.width)
        lines = len(stream.wrap(width)) if stream.plain else 0
        grew = lines != self._stream_lines
        self._stream_lines = lines
        self._update("#stream", stream, layout=grew)
        if following and grew:
            scroll.call_after_refresh(scroll.scroll_end, animate=False, immediate=True)

    def _update(self, selector: str, content: Content, *, layout: bool) -> bool:
        """Set a label's content if it changed; True if it did."""
        key = (content.plain, tuple(content.spans))
        if self._shown.get(selector) == key:
            return False
        self._shown[selector] = key
        self.query_one(selector, Static).update(content, layout=layout)
        return True
