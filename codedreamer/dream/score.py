"""The leaderboard score: one documented formula over named parts, stored with the dream.

    score = 100 * Σ weight_i * part_i        (each part in [0, 1]; the weights sum to 1)

| part         | weight | value                                                        |
|--------------|--------|--------------------------------------------------------------|
| novelty      | 0.25   | validation's novelty score                                   |
| critic       | 0.20   | NONE 1.0, MINOR 0.75, MODERATE 0.4, MAJOR 0.1; refined +0.15 |
| priority     | 0.25   | CRITICAL 1.0, HIGH 0.75, MEDIUM 0.5, LOW 0.25, unranked 0.4  |
| centrality   | 0.10   | the code node's entanglement / the most entangled code's     |
| feedback     | 0.10   | user's acceptance rate for the category (0.5 with no marks)  |
| verification | 0.10   | verified in a scratch tree 1.0, verification failed 0;       |
|              |        | else in-memory: diff applies+parses 0.8, applies 0.6, code   |
|              |        | only 0.5, no code 0.3, fails 0                               |

The parts are stored in `score_parts` so every view shows why a dream ranks where it does
(docs/dream_cycle.md). Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping

WEIGHTS: Mapping[str, float] = {
    "novelty": 0.25,
    "critic": 0.20,
    "priority": 0.25,
    "centrality": 0.10,
    "feedback": 0.10,
    "verification": 0.10,
}
CRITIC_VALUE = {"none": 1.0, "minor": 0.75, "moderate": 0.4, "major": 0.1}
PRIORITY_VALUE = {"critical": 1.0, "high": 0.75, "medium": 0.5, "low": 0.25, "unranked": 0.4}
REFINED_BONUS = 0.15


def critic_part(severity: str, refined: bool) -> float:
    value = CRITIC_VALUE.get(severity, 0.5)
    return min(1.0, value + REFINED_BONUS) if refined else value


def verification_part(
    checks: Mapping[str, str], verification: Mapping[str, str] | None = None
) -> float:
    """A real verification (verify/) outranks the Code stage's in-memory checks."""
    status = (verification or {}).get("status", "")
    if status == "verified":
        return 1.0
    if status == "failed":
        return 0.0
    applies = checks.get("diff_applies", "")
    if applies.startswith("ok"):
        return 0.8 if checks.get("parses", "ok").startswith(("ok", "not checked")) else 0.6
    if applies.startswith("fails") or checks.get("existing_matches", "").startswith("fails"):
        return 0.0
    return 0.5 if checks.get("format") == "code" else 0.3


def centrality_part(entanglement: float, max_entanglement: float) -> float:
    if max_entanglement <= 0:
        return 0.0
    return max(0.0, min(1.0, entanglement / max_entanglement))


def score_parts(
    *,
    novelty: float,
    severity: str,
    refined: bool,
    priority: str,
    centrality: float,
    feedback: float,
    checks: Mapping[str, str],
    verification: Mapping[str, str] | None = None,
) -> dict[str, float]:
    return {
        "novelty": round(max(0.0, min(1.0, novelty)), 4),
        "critic": critic_part(severity, refined),
        "priority": PRIORITY_VALUE.get(priority, PRIORITY_VALUE["unranked"]),
        "centrality": round(centrality, 4),
        "feedback": round(feedback, 4),
        "verification": verification_part(checks, verification),
    }


def total(parts: Mapping[str, float]) -> float:
    return round(100.0 * sum(WEIGHTS[name] * parts.get(name, 0.0) for name in WEIGHTS), 2)
