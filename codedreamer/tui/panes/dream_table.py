"""A table of dreams, one row per dream: the shared base of the leaderboard and the timeline.

Rows are keyed by dream id, so a refresh (a new dream, a mark from another process) keeps
the cursor on the same dream. The keys that act on the selected dream (mark, open) only
post messages; the app does the writing. Every cell is a `rich.text.Text` built from
plain strings: a title or path from a dream is never read as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from codedreamer.safe_text import safe_line
from codedreamer.storage.dream import Dream, Status

STATUS_STYLE = {
    Status.PENDING: "",
    Status.APPLIED: "green",
    Status.REJECTED: "red",
    Status.DEFERRED: "yellow",
}
STATUS_GLYPH = {
    Status.PENDING: "·",
    Status.APPLIED: "✔",
    Status.REJECTED: "✘",
    Status.DEFERRED: "…",
}


def status_cell(dream: Dream) -> Text:
    status = Status(dream.status)
    return Text(f"{STATUS_GLYPH[status]} {status.value}", style=STATUS_STYLE[status])


def status_glyph_cell(dream: Dream) -> Text:
    status = Status(dream.status)
    return Text(STATUS_GLYPH[status], style=STATUS_STYLE[status] or "dim")


def plain_cell(text: str, style: str = "") -> Text:
    """One line of untrusted text as a cell: control characters escaped, never markup."""
    return Text(safe_line(text), style=style, no_wrap=True, overflow="ellipsis")


@dataclass(frozen=True)
class DreamColumn:
    """One column: its header, how to show a dream in it and how to sort by it."""

    key: str
    label: str
    cell: Callable[[Dream], Text]
    sort_key: Callable[[Dream], Any]
    width: int | None = None
    shown: Callable[[Sequence[Dream]], bool] = lambda dreams: True
    descending: bool = True
    """The first click sorts highest first (scores) or lowest first (names)."""
    min_table_width: int = 0
    """Left out of tables narrower than this (an 80-column terminal has little room)."""
    max_table_width: int = 0
    """Left out of tables this wide or wider (0: no limit): a compact variant of a column."""


def status_columns(wide_from: int) -> tuple[DreamColumn, DreamColumn]:
    """Status in words from `wide_from` columns of table width, as one glyph below it."""

    def by_status(dream: Dream) -> tuple[str, datetime]:
        return (str(dream.status), dream.created)

    return (
        DreamColumn(
            "status",
            "Status",
            status_cell,
            by_status,
            width=10,
            descending=False,
            min_table_width=wide_from,
        ),
        DreamColumn(
            "st",
            "St",
            status_glyph_cell,
            by_status,
            width=2,
            descending=False,
            max_table_width=wide_from,
        ),
    )


def category_column(min_table_width: int) -> DreamColumn:
    return DreamColumn(
        "category",
        "Category",
        lambda d: plain_cell(d.category, style="italic"),
        lambda d: d.category.lower(),
        width=12,
        descending=False,
        min_table_width=min_table_width,
    )


def title_column(untitled: Callable[[Dream], str]) -> DreamColumn:
    """The title, or `untitled(dream)` for a dream without one; takes the spare width."""
    return DreamColumn(
        "title",
        "Title",
        lambda d: plain_cell(d.title or untitled(d)),
        lambda d: d.title.lower(),
        descending=False,
    )


class DreamTable(DataTable[Text]):
    """Rows of dreams; subclasses declare `COLUMNS` and the default sort.

    The one column without a width (the title) takes whatever the others leave, so the
    table fits its pane at any terminal size without a horizontal scrollbar.
    """

    DEFAULT_CSS = """
    DreamTable { overflow-x: hidden; scrollbar-size-vertical: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "mark('applied')", "Apply", id="dream.applied"),
        Binding("r", "mark('rejected')", "Reject", id="dream.rejected"),
        Binding("d", "mark('deferred')", "Defer", id="dream.deferred"),
        Binding("u", "mark('pending')", "Pending", show=False, id="dream.pending"),
        Binding("enter", "open", "Open", id="dream.open"),
    ]

    COLUMNS: ClassVar[tuple[DreamColumn, ...]] = ()
    DEFAULT_SORT: ClassVar[str] = ""

    class MarkRequested(Message):
        """The user asked to set the status of a dream."""

        def __init__(self, dream_id: str, status: Status) -> None:
            super().__init__()
            self.dream_id = dream_id
            self.status = status

    class OpenRequested(Message):
        """The user asked to read a dream."""

        def __init__(self, dream_id: str) -> None:
            super().__init__()
            self.dream_id = dream_id

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.dreams: list[Dream] = []
        """The dreams shown, in row order."""
        self.sort_column = self.DEFAULT_SORT
        self.sort_reverse = False
        self._columns_shown: tuple[object, ...] = ()

    # ------------------------------------------------------------------ data

    def ordered(self, dreams: Sequence[Dream]) -> list[Dream]:
        """`dreams` in this table's order: the chosen column, else the default."""
        column = self.column_by_key(self.sort_column)
        if column is None:
            return list(dreams)
        ordered = sorted(dreams, key=column.sort_key, reverse=column.descending)
        return ordered[::-1] if self.sort_reverse else ordered

    def column_by_key(self, key: str) -> DreamColumn | None:
        return next((c for c in self.COLUMNS if c.key == key), None)

    def show(self, dreams: Sequence[Dream]) -> None:
        """Replace the rows with `dreams`, keeping the cursor on the same dream if still there."""
        selected = self.selected_dream_id
        row_before = self.cursor_row
        self.dreams = self.ordered(dreams)
        shown = self._visible_columns()
        layout = (*(c.key for c in shown), self._flex_width(shown))
        if layout != self._columns_shown:
            self.clear(columns=True)
            for column in shown:
                width = column.width if column.width is not None else self._flex_width(shown)
                self.add_column(self._header(column), width=width, key=column.key)
            self._columns_shown = layout
        else:
            self.clear()
        for dream in self.dreams:
            self.add_row(*(column.cell(dream) for column in shown), key=dream.id)
        if not self.dreams:
            return
        ids = [d.id for d in self.dreams]
        row = ids.index(selected) if selected in ids else min(max(row_before, 0), len(ids) - 1)
        self.move_cursor(row=row, animate=False, scroll=True)

    def _visible_columns(self) -> list[DreamColumn]:
        width = self.size.width
        return [
            c
            for c in self.COLUMNS
            if c.shown(self.dreams)
            and (not width or width >= c.min_table_width)
            and (not width or not c.max_table_width or width < c.max_table_width)
        ]

    def _flex_width(self, shown: Sequence[DreamColumn]) -> int | None:
        """Width of the column without one: the table's width less the others (None: unknown)."""
        width = self.size.width
        if not width:
            return None
        padding = 2 * self.cell_padding
        fixed = sum((c.width or 0) + padding for c in shown if c.width is not None)
        # One cell for the vertical scrollbar, which comes and goes with the row count.
        return max(8, width - fixed - padding - 1)

    def on_resize(self) -> None:
        shown = self._visible_columns()
        if (*(c.key for c in shown), self._flex_width(shown)) != self._columns_shown:
            self.show(self.dreams)

    def _header(self, column: DreamColumn) -> Text:
        arrow = ""
        if column.key == self.sort_column:
            arrow = " ▲" if column.descending == self.sort_reverse else " ▼"
        return Text(column.label + arrow, style="bold")

    def sort_by(self, key: str) -> None:
        """Sort by column `key`; the same column again flips the direction."""
        if self.column_by_key(key) is None:
            return
        if key == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = key, False
        self._columns_shown = ()  # headers carry the arrow: rebuild them
        self.show(self.dreams)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.column_key.value is not None:
            self.sort_by(event.column_key.value)

    @property
    def selected_dream_id(self) -> str | None:
        if not self.dreams or not 0 <= self.cursor_row < len(self.dreams):
            return None
        return self.dreams[self.cursor_row].id

    @property
    def selected_dream(self) -> Dream | None:
        if not self.dreams or not 0 <= self.cursor_row < len(self.dreams):
            return None
        return self.dreams[self.cursor_row]

    # ------------------------------------------------------------------ keys

    def action_mark(self, status: str) -> None:
        dream_id = self.selected_dream_id
        if dream_id is not None:
            self.post_message(self.MarkRequested(dream_id, Status(status)))

    def action_open(self) -> None:
        dream_id = self.selected_dream_id
        if dream_id is not None:
            self.post_message(self.OpenRequested(dream_id))
