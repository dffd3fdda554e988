"""Pick the code to dream about from a small random sample of the index.

Coverage-aware: code no dream has touched yet wins over code already dreamed about, and
larger, branchier code wins over trivial code. The index is sampled, never read whole.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

_BRANCH = re.compile(r"\b(if|elif|else|for|while|try|except|catch|case|switch|match|&&|\|\|)\b")
MIN_LINES = 3


@dataclass(frozen=True)
class Candidate:
    """What selection needs of a chunk."""

    key: str
    path: str
    start_line: int
    end_line: int
    content: str


@dataclass(frozen=True)
class Choice:
    key: str
    score: float
    reason: str


def covered(candidate: Candidate, dreamed: Collection[tuple[str, int, int]]) -> bool:
    return any(
        path == candidate.path and start <= candidate.end_line and candidate.start_line <= end
        for path, start, end in dreamed
    )


def complexity(content: str) -> float:
    """0..1: how much there is to think about (length and branching, saturating)."""
    lines = content.count("\n") + 1
    branches = len(_BRANCH.findall(content))
    return min(1.0, lines / 60) * 0.5 + min(1.0, branches / 12) * 0.5


def choose(
    candidates: Sequence[Candidate],
    dreamed: Collection[tuple[str, int, int]],
    rng: random.Random,
) -> Choice | None:
    """The best candidate, ties broken at random; None if none is worth a dream."""
    best: Choice | None = None
    for candidate in candidates:
        if candidate.end_line - candidate.start_line + 1 < MIN_LINES:
            continue
        fresh = not covered(candidate, dreamed)
        score = (1.0 if fresh else 0.0) + complexity(candidate.content) + rng.random() * 0.05
        if best is None or score > best.score:
            reason = (
                "not dreamed about yet" if fresh else "sample held only code dreamed about before"
            )
            best = Choice(candidate.key, score, reason)
    return best
