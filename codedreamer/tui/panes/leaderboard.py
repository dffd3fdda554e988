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
    category_column,
    plain_cell,
    status_columns,
    title_column,
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
        *status_columns(wide_from=60),
        category_column(min_table_width=90),
        title_column(lambda d: f"{d.category} in {d.source_path}"),
    )
    DEFAULT_SORT = "score"
