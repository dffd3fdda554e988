"""Pick the code to dream about from a small random sample of the index.

Code only: documentation, configuration and build files (README, pyproject.toml, docs/,
webpack.config.js, ...) are not dreamed about. Coverage-aware: code no dream has touched
and no cycle has attempted wins over code already tried; recently changed code and larger,
branchier code win over old, trivial code. The index is sampled, never read whole.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from codedreamer.index.languages import language_for, spec_named

_BRANCH = re.compile(r"\b(if|elif|else|for|while|try|except|catch|case|switch|match|&&|\|\|)\b")
MIN_LINES = 3
RECENT_WEIGHT = 0.5
"""Score bonus of code changed just now; it halves every RECENT_HALF_LIFE_DAYS."""
RECENT_HALF_LIFE_DAYS = 7.0

# Code files that configure tools or build the project rather than being the project.
_NOT_PROJECT_DIRS = frozenset({"docs", "doc", "documentation", "examples", "example"})
_NOT_PROJECT_FILES = frozenset(
    {"setup.py", "conf.py", "noxfile.py", "fabfile.py", "manage.py", "gulpfile.js", "Gruntfile.js"}
)
_CONFIG_SUFFIX = re.compile(r"\.config\.[cm]?[jt]s$|^\.?[\w-]+rc\.[cm]?js$")

Location = tuple[str, int, int]
"""(path, start line, end line) of a dream or an attempt."""


@dataclass(frozen=True)
class Candidate:
    """What selection needs of a chunk."""

    key: str
    path: str
    start_line: int
    end_line: int
    content: str
    language: str = ""
    """The chunk's language as the index stores it ("" = judge by the path)."""
    modified: float | None = None
    """When the file last changed (seconds since the epoch), if known."""


@dataclass(frozen=True)
class Choice:
    key: str
    score: float
    reason: str


def is_code(candidate: Candidate) -> bool:
    """Parsed source code of the project itself: not docs, config or build files."""
    if candidate.language:
        if spec_named(candidate.language) is None:
            return False
    elif language_for(candidate.path) is None:
        return False
    pure = PurePosixPath(candidate.path)
    if pure.name in _NOT_PROJECT_FILES or _CONFIG_SUFFIX.search(pure.name):
        return False
    return not _NOT_PROJECT_DIRS.intersection(part.lower() for part in pure.parts[:-1])


def covered(candidate: Candidate, locations: Collection[Location]) -> bool:
    return any(
        path == candidate.path and start <= candidate.end_line and candidate.start_line <= end
        for path, start, end in locations
    )


def complexity(content: str) -> float:
    """0..1: how much there is to think about (length and branching, saturating)."""
    lines = content.count("\n") + 1
    branches = len(_BRANCH.findall(content))
    return min(1.0, lines / 60) * 0.5 + min(1.0, branches / 12) * 0.5


def recency(modified: float | None, now: float) -> float:
    """0..1: 1 for a file changed just now, halving every RECENT_HALF_LIFE_DAYS."""
    if modified is None:
        return 0.0
    age_days = max(0.0, now - modified) / 86400
    return math.pow(0.5, age_days / RECENT_HALF_LIFE_DAYS)


def choose(
    candidates: Sequence[Candidate],
    dreamed: Collection[Location],
    rng: random.Random,
    *,
    attempted: Collection[Location] = (),
    now: float | None = None,
) -> Choice | None:
    """The best code candidate, ties broken at random; None if none is worth a dream.

    `dreamed` are the locations of stored dreams, `attempted` those of cycles whose answer
    was rejected: both count as coverage, so a rejected chunk is not "new" again next cycle.
    `now` (seconds since the epoch) is needed for the recency bonus; without it, none.
    """
    best: Choice | None = None
    for candidate in candidates:
        if candidate.end_line - candidate.start_line + 1 < MIN_LINES or not is_code(candidate):
            continue
        fresh = not covered(candidate, dreamed) and not covered(candidate, attempted)
        recent = recency(candidate.modified, now) if now is not None else 0.0
        score = (
            (1.0 if fresh else 0.0)
            + complexity(candidate.content)
            + RECENT_WEIGHT * recent
            + rng.random() * 0.05
        )
        if best is None or score > best.score:
            if fresh:
                reason = "not dreamed about yet"
            else:
                reason = "sample held only code dreamed about or attempted before"
            if recent >= 0.5:
                reason += ", changed recently"
            best = Choice(candidate.key, score, reason)
    return best
