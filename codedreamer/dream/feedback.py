"""The user's marks as a signal: applied / rejected / deferred counted per category and focus.

The counts steer which focus areas come up (areas whose dreams get applied come up more,
rejected ones less) and the `feedback` part of every dream's score. All of it is derived
from the dream files themselves, so marks made by the CLI, the TUI or another process
count the moment they are on disk. Pure functions over lists of dreams.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from codedreamer.storage.dream import Dream, Status

NEUTRAL = 0.5


@dataclass
class Tally:
    applied: int = 0
    rejected: int = 0
    deferred: int = 0
    pending: int = 0

    @property
    def marked(self) -> int:
        return self.applied + self.rejected + self.deferred

    def acceptance(self) -> float:
        """Laplace-smoothed share of applied among decided marks; deferred counts half.

        0.5 with no marks, so a new category is neither favoured nor punished.
        """
        return (self.applied + 0.5 * self.deferred + 1) / (self.marked + 2)


@dataclass(frozen=True)
class Feedback:
    by_category: dict[str, Tally]
    by_focus: dict[str, Tally]

    def category(self, name: str) -> float:
        tally = self.by_category.get(name)
        return tally.acceptance() if tally is not None else NEUTRAL

    def focus(self, name: str) -> float:
        tally = self.by_focus.get(name)
        return tally.acceptance() if tally is not None else NEUTRAL


def _count(tally: Tally, status: Status) -> None:
    if status == Status.APPLIED:
        tally.applied += 1
    elif status == Status.REJECTED:
        tally.rejected += 1
    elif status == Status.DEFERRED:
        tally.deferred += 1
    else:
        tally.pending += 1


def tally(dreams: Iterable[Dream]) -> Feedback:
    by_category: dict[str, Tally] = {}
    by_focus: dict[str, Tally] = {}
    for dream in dreams:
        _count(by_category.setdefault(dream.category, Tally()), dream.status)
        if dream.focus:
            _count(by_focus.setdefault(dream.focus, Tally()), dream.status)
    return Feedback(by_category, by_focus)


def focus_weights(names: Sequence[str], feedback: Feedback) -> dict[str, float]:
    """Sampling weight per focus area: 0.25 (always rejected) .. 1.75 (always applied)."""
    return {name: 0.25 + 1.5 * feedback.focus(name) for name in names}


def marks_signature(dreams: Iterable[Dream]) -> tuple[int, ...]:
    """A cheap fingerprint of every mark: changes whenever any dream's status changes."""
    return tuple(sorted(hash((dream.id, dream.status.value)) for dream in dreams))
