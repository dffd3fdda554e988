"""Focus areas: what a dream looks for. They rotate so the dreams cover different ground.

Low-value categories (docstrings, type hints, renames, import order, logging) are the ones
users of review bots dismiss most; they are not offered unless the user enables them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FocusArea:
    name: str
    task: str
    low_value: bool = False


FOCUS_AREAS: tuple[FocusArea, ...] = (
    FocusArea("bugs", "Find one real bug or edge case this code gets wrong, and how to fix it."),
    FocusArea(
        "error_handling",
        "Find one place where a failure (bad input, missing file, exception) is handled badly.",
    ),
    FocusArea("performance", "Find one concrete inefficiency and a faster way to do the same."),
    FocusArea("security", "Find one security weakness (injection, unsafe input, secrets)."),
    FocusArea(
        "simplification", "Find one way to make this code simpler without changing behaviour."
    ),
    FocusArea("architecture", "Find one design problem in how this code is structured or coupled."),
    FocusArea("missing_feature", "Suggest one small missing capability this code clearly needs."),
    FocusArea("dead_code", "Find code here that is unused, unreachable or never wired up."),
    FocusArea("docstrings", "Suggest documentation this code lacks.", low_value=True),
    FocusArea("type_hints", "Suggest missing or wrong type annotations.", low_value=True),
    FocusArea("naming", "Suggest clearer names for confusing identifiers.", low_value=True),
    FocusArea("logging", "Suggest logging this code should emit.", low_value=True),
)


def enabled_focus_areas(extra_enabled: Sequence[str] = ()) -> list[FocusArea]:
    return [area for area in FOCUS_AREAS if not area.low_value or area.name in extra_enabled]


def pick_focus(
    rng: random.Random, areas: Sequence[FocusArea], recent_focus: Sequence[str] = ()
) -> FocusArea:
    """Pick an area not used by the most recent dreams, so focus rotates across restarts.

    `recent_focus` lists the focus of earlier dreams, newest first.
    """
    if not areas:
        raise ValueError("no focus areas enabled")
    recent = set(recent_focus[: len(areas) - 1])
    fresh = [area for area in areas if area.name not in recent]
    return rng.choice(fresh or list(areas))


def pick_weighted_focus(
    rng: random.Random,
    areas: Sequence[FocusArea],
    recent_focus: Sequence[str],
    weights: Mapping[str, float],
) -> FocusArea:
    """Like `pick_focus` (recent areas rest), but areas the user applies come up more often.

    `weights` come from the user's marks (dream/feedback.py); a missing area weighs 1.
    """
    if not areas:
        raise ValueError("no focus areas enabled")
    recent = set(recent_focus[: len(areas) - 1])
    fresh = [area for area in areas if area.name not in recent] or list(areas)
    return rng.choices(fresh, weights=[max(0.01, weights.get(a.name, 1.0)) for a in fresh])[0]
