"""Pure selections over lists of dreams: filters, the actionable order, briefing groups.

No disk access here: the store reads the dreams, these functions decide which to show and
in what order, so the CLI, the TUI and the engine rank dreams the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from codedreamer.errors import UsageError
from codedreamer.storage.dream import Dream, Priority, Status

# Most urgent first; unranked dreams (no reflection yet) after every ranked one.
PRIORITY_ORDER: tuple[Priority, ...] = (
    Priority.CRITICAL,
    Priority.HIGH,
    Priority.MEDIUM,
    Priority.LOW,
    Priority.UNRANKED,
)
_PRIORITY_RANK = {priority: rank for rank, priority in enumerate(PRIORITY_ORDER)}


def parse_status(value: str | Status) -> Status:
    """The `Status` named by `value` (any case); UsageError listing the choices otherwise."""
    try:
        return Status(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise UsageError(f"{value!r} is not a dream status (choose {choices})") from None


def parse_priority(value: str | Priority) -> Priority:
    """The `Priority` named by `value` (any case); UsageError listing the choices otherwise."""
    try:
        return Priority(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(p.value for p in Priority)
        raise UsageError(f"{value!r} is not a dream priority (choose {choices})") from None


def priority_rank(priority: Priority) -> int:
    """0 for critical up to 4 for unranked."""
    return _PRIORITY_RANK[Priority(priority)]


def filter_dreams(
    dreams: Iterable[Dream],
    *,
    status: Status | None = None,
    priority: Priority | None = None,
    category: str | None = None,
    min_score: float | None = None,
) -> list[Dream]:
    """The dreams matching every given criterion, in their original order."""
    return [
        dream
        for dream in dreams
        if (status is None or dream.status == status)
        and (priority is None or dream.priority == priority)
        and (category is None or dream.category == category)
        and (min_score is None or dream.score >= min_score)
    ]


def actionable(dreams: Iterable[Dream]) -> list[Dream]:
    """Pending dreams, most urgent first: priority, then score, then novelty, then newest."""
    pending = [dream for dream in dreams if dream.status == Status.PENDING]
    # Sorts are stable: apply the least significant key first.
    pending.sort(key=lambda d: (d.created, d.id), reverse=True)
    pending.sort(key=lambda d: (priority_rank(d.priority), -d.score, -d.novelty))
    return pending


def take(dreams: Sequence[Dream], limit: int) -> list[Dream]:
    """The first `limit` dreams; a limit of 0 means all of them."""
    return list(dreams) if limit <= 0 else list(dreams[:limit])


def group_by_priority(dreams: Iterable[Dream]) -> dict[Priority, list[Dream]]:
    """Dreams grouped by priority, groups in PRIORITY_ORDER, empty groups left out.

    Within a group the input order is kept (the store lists newest first).
    """
    groups: dict[Priority, list[Dream]] = {priority: [] for priority in PRIORITY_ORDER}
    for dream in dreams:
        groups[Priority(dream.priority)].append(dream)
    return {priority: members for priority, members in groups.items() if members}


def insight_preview(text: str, *, max_lines: int = 3, max_chars: int = 300) -> str:
    """The first non-empty lines of an insight, cut at `max_chars` with an ellipsis."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    preview = "\n".join(lines[:max_lines])
    if len(preview) > max_chars:
        return preview[: max_chars - 1].rstrip() + "…"
    if len(lines) > max_lines:
        return preview + " …"
    return preview
