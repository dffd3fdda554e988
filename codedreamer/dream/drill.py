"""Drilling: a good dream at level L seeds a dream at level L+1 on the same code.

Levels (SPEC §5 step 12): L0 Discovery (one useful insight), L1 Framework (architecture),
L2 Implementation (signatures, types, error strategy), L3 Code (production-ready code).
The gate is the stored score, not a cooldown: a recent dream with a score of at least
`DRILL_MIN_SCORE`, no MAJOR critic verdict, not rejected by the user and no child yet is
continued; otherwise the cycle starts fresh.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from codedreamer.dream.context import CycleContext, Target
from codedreamer.events import DrillStarted
from codedreamer.storage.dream import Dream, Status

MAX_LEVEL = 3
DRILL_MIN_SCORE = 60.0
RECENT_CANDIDATES = 5
MAX_DRILL_TRIES = 2
"""Failed cycles on one parent before the engine stops drilling it (in this run): without
a limit, a parent whose continuation always fails held the engine on one chunk for 57 of
100 cycles in the quality benchmark."""
LEVEL_NAMES = {0: "Discovery", 1: "Framework", 2: "Implementation", 3: "Code"}


def can_seed(dream: Dream, min_score: float = DRILL_MIN_SCORE) -> bool:
    return (
        dream.drill_level < MAX_LEVEL
        and dream.score >= min_score
        and dream.critic_severity != "major"
        and dream.status != Status.REJECTED
    )


def next_drill(
    earlier: Sequence[Dream],
    min_score: float = DRILL_MIN_SCORE,
    given_up: Collection[str] = (),
) -> tuple[Dream, int] | None:
    """(parent, level) to continue, or None to start fresh. `earlier` is newest first;
    parents in `given_up` failed too often to be tried again."""
    has_child = {dream.parent for dream in earlier if dream.parent}
    for dream in earlier[:RECENT_CANDIDATES]:
        if dream.id in given_up:
            continue
        if dream.id not in has_child and can_seed(dream, min_score):
            return dream, dream.drill_level + 1
    return None


def drill_chain(dream: Dream, by_id: dict[str, Dream]) -> list[Dream]:
    """The dream and its ancestors, root first (stops at a missing or cyclic parent)."""
    chain = [dream]
    seen = {dream.id}
    while chain[0].parent and chain[0].parent in by_id and chain[0].parent not in seen:
        parent = by_id[chain[0].parent]
        seen.add(parent.id)
        chain.insert(0, parent)
    return chain


def drill_step(context: CycleContext) -> None:
    tries = context.state.drill_failures
    found = next_drill(
        context.earlier,
        given_up={parent for parent, count in tries.items() if count >= MAX_DRILL_TRIES},
    )
    if found is None:
        return
    parent, level = found
    context.parent = parent
    context.drill_level = level
    context.target = Target(
        parent.source_path,
        parent.line_start,
        parent.line_end,
        f"drill L{level} {LEVEL_NAMES[level]} from {parent.id} (score {parent.score:.0f})",
    )
    context.services.sink(DrillStarted(level=level, parent_id=parent.id, title=parent.title))
