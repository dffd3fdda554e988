"""The verification part of a dream's leaderboard score, from its stored verification.

A real verification outranks the Code stage's in-memory checks it builds on: a dream that
verified in a scratch work tree gets the full part, one that failed gets none; a stale or
never-verified dream falls back to the in-memory checks (dream/score.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from codedreamer.dream.score import verification_part


def verified_part(verification: Mapping[str, str], checks: Mapping[str, str]) -> float:
    return verification_part(checks, verification)
