"""The filter prompt opened by `/`: one input line; enter applies, escape cancels."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from codedreamer.errors import UsageError
from codedreamer.safe_text import safe_line
from codedreamer.tui.filters import parse_filter

HELP = (
    "words match title, insight, path, symbols · status:pending|applied|rejected|deferred · "
    "category:NAME · priority:high · empty clears"
)


class FilterScreen(ModalScreen[str | None]):
    """Returns the filter text (possibly empty), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    FilterScreen { align: center bottom; }
    FilterScreen > Vertical {
        width: 100%;
        height: auto;
        background: $panel;
        border-top: solid $primary;
        padding: 0 1;
    }
    FilterScreen #filter-help { color: $text-muted; height: auto; }
    FilterScreen #filter-error { color: $error; height: auto; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(HELP), id="filter-help")
            yield Input(value=self.current, placeholder="filter dreams…", id="filter-input")
            yield Static(id="filter-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            parse_filter(event.value)
        except UsageError as exc:
            self.query_one("#filter-error", Static).update(Content(safe_line(str(exc))))
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
