"""The dream timeline: every dream, newest first; enter reads the whole dream."""

from __future__ import annotations

from rich.text import Text

from codedreamer.storage.dream import Dream
from codedreamer.tui.panes.dream_table import (
    DreamColumn,
    DreamTable,
    plain_cell,
    status_cell,
    status_glyph_cell,
)


def when_cell(dream: Dream) -> Text:
    """Local date and time the dream was made, compact (`11-29 03:12`)."""
    return Text(f"{dream.created.astimezone():%m-%d %H:%M}", style="dim", no_wrap=True)


def _location(dream: Dream) -> str:
    return f"{dream.source_path}:{dream.line_start}"


class Timeline(DreamTable):
    """Dreams in the order they were made, newest on top."""

    COLUMNS = (
        DreamColumn("when", "When", when_cell, lambda d: (d.created, d.id), width=11),
        DreamColumn(
            "status",
            "Status",
            status_cell,
            lambda d: (str(d.status), d.created),
            width=10,
            descending=False,
            min_table_width=50,
        ),
        DreamColumn(
            "st",
            "St",
            status_glyph_cell,
            lambda d: (str(d.status), d.created),
            width=2,
            descending=False,
            max_table_width=50,
        ),
        DreamColumn(
            "category",
            "Category",
            lambda d: plain_cell(d.category, style="italic"),
            lambda d: d.category.lower(),
            width=12,
            descending=False,
            min_table_width=60,
        ),
        DreamColumn(
            "title",
            "Title",
            lambda d: plain_cell(d.title or _location(d)),
            lambda d: d.title.lower(),
            descending=False,
        ),
    )
    DEFAULT_SORT = "when"
