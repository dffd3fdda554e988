"""Avoidance: tell the model which themes are covered already and which the user rejected.

A dream's themes are its category, its category on its symbol, and the key words of its
title. Every kept dream counts for its themes with a weight that halves every
`THEME_HALF_LIFE_SEC`, so a theme covered last month no longer blocks anything; themes of
dreams the user rejected are listed separately (the user said no to those). Pure
functions over the dreams on disk, so the counts survive restarts with no store of their own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from codedreamer.dream.context import CycleContext
from codedreamer.storage.dream import Dream, Status

THEME_HALF_LIFE_SEC = 24 * 3600.0
MIN_WEIGHT = 0.25
MAX_COVERED = 8
MAX_REJECTED = 5
PRIORITY_AVOID = 70
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_STOP = frozenset(
    [
        "this",
        "that",
        "with",
        "from",
        "into",
        "when",
        "which",
        "their",
        "there",
        "should",
        "could",
        "would",
        "about",
        "instead",
        "using",
        "used",
        "uses",
        "make",
        "makes",
        "more",
        "less",
        "code",
        "function",
        "method",
        "class",
        "value",
        "values",
        "file",
        "improve",
        "improvement",
        "better",
        "avoid",
        "add",
        "adds",
        "handle",
        "handling",
        "check",
    ]
)


def themes_of(title: str, category: str, symbol: str = "") -> list[str]:
    """The themes a dream stands for: category, category on symbol, title key words."""
    themes = [category] if category else []
    if category and symbol:
        themes.append(f"{category} in {symbol}")
    words = [w.lower() for w in _WORD.findall(title) if w.lower() not in _STOP]
    themes.extend(dict.fromkeys(words[:3]))
    return themes


def dream_themes(dream: Dream) -> list[str]:
    if dream.themes:
        return list(dream.themes)
    return themes_of(dream.title, dream.category, dream.symbols[0] if dream.symbols else "")


def decayed_weight(age_sec: float, half_life_sec: float = THEME_HALF_LIFE_SEC) -> float:
    return math.exp(-math.log(2) * max(0.0, age_sec) / half_life_sec)


def covered_themes(
    dreams: Iterable[Dream], now: datetime, half_life_sec: float = THEME_HALF_LIFE_SEC
) -> list[tuple[str, float]]:
    """(theme, decayed count) of dreams not rejected by the user, heaviest first."""
    weights: dict[str, float] = {}
    for dream in dreams:
        if dream.status == Status.REJECTED:
            continue
        weight = decayed_weight((now - dream.created).total_seconds(), half_life_sec)
        for theme in dream_themes(dream):
            weights[theme] = weights.get(theme, 0.0) + weight
    kept = [(t, w) for t, w in weights.items() if w >= MIN_WEIGHT]
    return sorted(kept, key=lambda item: (-item[1], item[0]))[:MAX_COVERED]


def rejected_themes(dreams: Sequence[Dream]) -> list[str]:
    """Themes of the dreams the user rejected, most recent first."""
    found: list[str] = []
    for dream in dreams:
        if dream.status == Status.REJECTED:
            for theme in dream_themes(dream):
                if theme not in found:
                    found.append(theme)
    return found[:MAX_REJECTED]


def avoidance_text(covered: Sequence[tuple[str, float]], rejected: Sequence[str]) -> str:
    lines: list[str] = []
    if covered:
        listed = "; ".join(f"{theme} ({weight:.1f})" for theme, weight in covered)
        lines.append(f"Already covered, find something else: {listed}.")
    if rejected:
        lines.append(f"The user rejected these, do not suggest them: {'; '.join(rejected)}.")
    return "\n".join(lines)


def avoidance_step(context: CycleContext) -> None:
    from datetime import UTC

    now = datetime.now(UTC)
    covered = covered_themes(context.earlier, now)
    rejected = rejected_themes(context.earlier)
    context.avoid = [theme for theme, _ in covered] + rejected
    text = avoidance_text(covered, rejected)
    if text:
        context.context_sections.append(("avoidance", text, PRIORITY_AVOID))
