"""The dream timeline: every dream, newest first; enter reads the whole dream."""

from __future__ import annotations

from rich.text import Text

from codedreamer.storage.dream import Dream
from codedreamer.tui.panes.dream_table import (
    DreamColumn,
    DreamTable,
    category_column,
    status_columns,
    title_column,
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
        *status_columns(wide_from=50),
        category_column(min_table_width=60),
        title_column(_location),
    )
    DEFAULT_SORT = "when"
