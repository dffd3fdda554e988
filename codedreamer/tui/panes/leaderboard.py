"""The leaderboard: dreams by score, with the parts of the score in their own columns.

Columns for parts a dream may not have yet (priority from reflection, the critic's
verdict, code checks) appear as soon as one dream has them, so the table grows with the
cycle without changing here. Fields are read with defaults: a dream file written before a
field existed still shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.text import Text

from codedreamer.storage.dream import Dream, Priority
from codedreamer.storage.query import priority_rank
from codedreamer.tui.panes.dream_table import (
    DreamColumn,
    DreamTable,
    plain_cell,
    status_cell,
    status_glyph_cell,
)

PRIORITY_STYLE = {
    Priority.CRITICAL: "bold red",
    Priority.HIGH: "red",
    Priority.MEDIUM: "yellow",
    Priority.LOW: "cyan",
    Priority.UNRANKED: "dim",
}
_PASSED = ("ok", "pass", "passed", "true", "yes", "applies", "parses", "clean")


def score_of(dream: Dream) -> float | None:
    """The dream's ranked score, or None for a dream nobody has scored yet."""
    score = getattr(dream, "score", None)
    parts = getattr(dream, "score_parts", None)
    if isinstance(score, int | float) and (score or parts):
        return float(score)
    return None


def checks_of(dream: Dream) -> Mapping[str, Any]:
    """Code checks (the draft parses, the patch applies) and verification (tests) together."""
    merged: dict[str, Any] = {}
    for field in ("code_checks", "verification"):
        checks = getattr(dream, field, None)
        if isinstance(checks, Mapping):
            merged.update(checks)
    return merged


def checks_passed(checks: Mapping[str, Any]) -> int:
    return sum(1 for value in checks.values() if str(value).strip().lower().startswith(_PASSED))


def leaderboard_key(dream: Dream) -> tuple[float, int, float, datetime, str]:
    """Best first when sorted descending: score, then priority, then novelty, then newest."""
    score = score_of(dream)
    return (
        score if score is not None else float("-inf"),
        -priority_rank(dream.priority),
        dream.novelty,
        dream.created,
        dream.id,
    )


def _score_cell(dream: Dream) -> Text:
    score = score_of(dream)
    return Text("—" if score is None else f"{score:.1f}", style="bold", justify="right")


PRIORITY_SHORT = {
    Priority.CRITICAL: "CRIT",
    Priority.HIGH: "HIGH",
    Priority.MEDIUM: "MED",
    Priority.LOW: "LOW",
    Priority.UNRANKED: "",
}


def _priority_cell(dream: Dream) -> Text:
    priority = Priority(dream.priority)
    return Text(PRIORITY_SHORT[priority], style=PRIORITY_STYLE[priority])


def _critic_cell(dream: Dream) -> Text:
    return plain_cell(str(getattr(dream, "critic_severity", "") or ""))


def _checks_cell(dream: Dream) -> Text:
    checks = checks_of(dream)
    if not checks:
        return Text("")
    passed = checks_passed(checks)
    style = "green" if passed == len(checks) else "red"
    return Text(f"{passed}/{len(checks)}", style=style)


def _any(field: str, empty: Any) -> Any:
    def shown(dreams: Sequence[Dream]) -> bool:
        return any(getattr(d, field, empty) not in (empty, None) for d in dreams)

    return shown


class Leaderboard(DreamTable):
    """Dreams by score, best first; click a header (or use the palette) to sort by it."""

    COLUMNS = (
        DreamColumn(
            "score",
            "Score",
            _score_cell,
            leaderboard_key,
            width=5,
            shown=lambda dreams: any(score_of(d) is not None for d in dreams),
        ),
        DreamColumn(
            "novelty",
            "Nov",
            lambda d: Text(f"{d.novelty:.2f}", justify="right"),
            lambda d: (d.novelty, d.created),
            width=4,
        ),
        DreamColumn(
            "priority",
            "Prio",
            _priority_cell,
            lambda d: (-priority_rank(d.priority), d.novelty),
            width=4,
            shown=lambda dreams: any(d.priority != Priority.UNRANKED for d in dreams),
        ),
        DreamColumn(
            "critic",
            "Critic",
            _critic_cell,
            lambda d: str(getattr(d, "critic_severity", "") or ""),
            width=6,
            shown=_any("critic_severity", ""),
            min_table_width=70,
        ),
        DreamColumn(
            "checks",
            "Checks",
            _checks_cell,
            lambda d: (checks_passed(checks_of(d)), len(checks_of(d))),
            width=6,
            shown=lambda dreams: any(checks_of(d) for d in dreams),
            min_table_width=70,
        ),
        DreamColumn(
            "status",
            "Status",
            status_cell,
            lambda d: (str(d.status), d.created),
            width=10,
            descending=False,
            min_table_width=60,
        ),
        DreamColumn(
            "st",
            "St",
            status_glyph_cell,
            lambda d: (str(d.status), d.created),
            width=2,
            descending=False,
            max_table_width=60,
        ),
        DreamColumn(
            "category",
            "Category",
            lambda d: plain_cell(d.category, style="italic"),
            lambda d: d.category.lower(),
            width=12,
            descending=False,
            min_table_width=90,
        ),
        DreamColumn(
            "title",
            "Title",
            lambda d: plain_cell(d.title or f"{d.category} in {d.source_path}"),
            lambda d: d.title.lower(),
            descending=False,
        ),
    )
    DEFAULT_SORT = "score"
