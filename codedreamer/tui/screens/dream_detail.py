"""One dream, whole: its fields in a table, its sections as Markdown with highlighted code.

Fields are listed from the `Dream` declaration itself (each field's label and format),
so a field added to dreams later shows here without a change. Values are literal text;
the prose sections are the model's Markdown (links are not followed) and code sections
are fenced with a fence longer than any backtick run inside them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static

from codedreamer.safe_text import safe_line, safe_text
from codedreamer.storage.dream import Dream, Status
from codedreamer.storage.dream_file import fence_for
from codedreamer.tui.panes.dream_table import DreamTable

_HIDDEN = {"title", "source_path", "line_start", "line_end"}
_FENCED_DEFAULT = {"code": "language", "seed_code": "language", "draft_code": "language"}


@dataclasses.dataclass(frozen=True)
class FieldView:
    name: str
    label: str
    section: bool
    heading: str
    fence: str
    show: Any


def field_views(dream: Dream) -> list[FieldView]:
    """How to show each field of the dream's class, in declaration order."""
    views: list[FieldView] = []
    for item in dataclasses.fields(dream):
        spec = item.metadata.get("spec")
        if spec is not None:
            views.append(
                FieldView(item.name, spec.label, spec.section, spec.heading, spec.fence, spec.show)
            )
            continue
        # A record without declarations: guess from the value's type.
        value = getattr(dream, item.name)
        section = isinstance(value, str) and item.name in {
            "insight",
            "plan",
            "code",
            "critique",
            "seed_code",
        }
        label = item.name.replace("_", " ").capitalize()
        views.append(
            FieldView(
                item.name,
                label,
                section,
                label,
                _FENCED_DEFAULT.get(item.name, ""),
                _show_value,
            )
        )
    return views


def _show_value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value.value if hasattr(value, "value") else value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == [] or value is False


def fields_table(dream: Dream) -> Table:
    """The dream's front-matter fields that have a value, as label / value rows."""
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1, 0, 0))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    source = f"{dream.source_path}:{dream.line_start}-{dream.line_end}"
    table.add_row(Text("Source"), Text(safe_line(source)))
    for view in field_views(dream):
        if view.section or not view.label or view.name in _HIDDEN:
            continue
        value = getattr(dream, view.name)
        if _empty(value) or (view.name == "score" and not getattr(dream, "score_parts", None)):
            continue  # an unscored dream has score 0.0, which means "not scored yet"
        try:
            shown = view.show(value)
        except (TypeError, ValueError, AttributeError):
            shown = _show_value(value)
        if shown:
            table.add_row(Text(safe_line(view.label)), Text(safe_line(str(shown))))
    return table


def sections_markdown(dream: Dream) -> str:
    """The readable sections as Markdown: prose as written, code fenced and highlighted."""
    blocks: list[str] = []
    for view in field_views(dream):
        if not view.section:
            continue
        content = getattr(dream, view.name)
        if not isinstance(content, str) or not content.strip():
            continue
        content = safe_text(content)
        heading = safe_line(view.heading or view.label)
        if view.fence:
            info = dream.language if view.fence == "language" else view.fence
            info = "".join(ch for ch in info if ch.isalnum() or ch in "+-_#.")
            fence = fence_for(content)
            blocks.append(f"## {heading}\n\n{fence}{info}\n{content}\n{fence}\n")
        else:
            blocks.append(f"## {heading}\n\n{content}\n")
    return "\n".join(blocks) or "_This dream has no text._\n"


def title_text(dream: Dream) -> Text:
    status = Status(dream.status).value
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {status} ", style="reverse bold")
    text.append(" ")
    text.append(safe_line(dream.title or f"{dream.category} in {dream.source_path}"), "bold")
    return text


class DreamScreen(Screen[None]):
    """The whole of one dream. a / r / d / u mark it; escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,backspace", "back", "Back", id="detail.back"),
        Binding("a", "mark('applied')", "Apply", id="detail.applied"),
        Binding("r", "mark('rejected')", "Reject", id="detail.rejected"),
        Binding("d", "mark('deferred')", "Defer", id="detail.deferred"),
        Binding("u", "mark('pending')", "Pending", show=False, id="detail.pending"),
    ]

    DEFAULT_CSS = """
    DreamScreen #detail-title { height: 1; background: $panel; }
    DreamScreen #detail-body { height: 1fr; padding: 0 1; }
    DreamScreen #detail-fields { margin: 1 0; }
    """

    def __init__(self, dream: Dream) -> None:
        super().__init__()
        self.dream = dream

    def compose(self) -> ComposeResult:
        yield Static(title_text(self.dream), id="detail-title")
        with VerticalScroll(id="detail-body"):
            yield Static(fields_table(self.dream), id="detail-fields")
            yield Markdown(sections_markdown(self.dream), id="detail-markdown", open_links=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail-body", VerticalScroll).focus()

    def show_dream(self, dream: Dream) -> None:
        """A newer version of the same dream (after a mark): refresh title and fields."""
        self.dream = dream
        self.query_one("#detail-title", Static).update(title_text(dream))
        self.query_one("#detail-fields", Static).update(fields_table(dream))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_mark(self, status: str) -> None:
        self.post_message(DreamTable.MarkRequested(self.dream.id, Status(status)))
