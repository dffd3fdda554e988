"""Reflection and ranking: a priority with a reason per dream, and scores kept current.

`reflect_dream` asks the reasoning model for CRITICAL / HIGH / MEDIUM / LOW and a one-line
reason (JSON under a grammar, read back by `parse_priority`, which also reads free text).
`rescore` recomputes a dream's score from its stored parts and the current evidence (user
feedback, graph centrality); the engine runs it over all pending dreams every
`RERANK_EVERY_CYCLES` cycles and as soon as the user's marks change, and `codedreamer
dreams reflect` runs both on demand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from codedreamer.dream.feedback import Feedback
from codedreamer.dream.parse import parse_priority
from codedreamer.dream.prompts import REFLECT_SCHEMA, REFLECT_SYSTEM, reflect_task
from codedreamer.dream.score import score_parts, total
from codedreamer.dream.stages import run_stage
from codedreamer.dream.structured import SchemaModel
from codedreamer.events import EventSink
from codedreamer.models.budget import PromptSection, budget_prompt
from codedreamer.storage.dream import Dream, Priority

RERANK_EVERY_CYCLES = 10
REFLECT_MAX_TOKENS = 96


@dataclass(frozen=True)
class Reflection:
    priority: Priority | None
    reason: str
    raw: str


def reflect_dream(
    model: object,
    dream: Dream,
    *,
    sink: EventSink,
    cancel: threading.Event | None = None,
    max_tokens: int = REFLECT_MAX_TOKENS,
) -> Reflection:
    where = f"{dream.source_path}:{dream.line_start}-{dream.line_end}"
    prompt = budget_prompt(
        model,  # type: ignore[arg-type]
        REFLECT_SYSTEM,
        [
            PromptSection(
                "task",
                reflect_task(dream.title, dream.insight, dream.category, where),
                100,
                required=True,
            )
        ],
        max_tokens=max_tokens,
    )
    result = run_stage(
        SchemaModel(model, REFLECT_SCHEMA),  # type: ignore[arg-type]
        prompt.messages,
        stage="reflect",
        max_tokens=prompt.max_tokens,
        temperature=0.0,
        repeat_penalty=1.0,
        sink=sink,
        cancel=cancel,
    )
    value, reason = parse_priority(result.text)
    return Reflection(Priority(value) if value else None, reason, result.text)


def apply_reflection(dream: Dream, reflection: Reflection) -> Dream:
    if reflection.priority is None:
        return dream
    return replace(dream, priority=reflection.priority, priority_reason=reflection.reason)


def rescore(
    dream: Dream,
    feedback: Feedback,
    centrality: Callable[[Dream], float] | None = None,
) -> Dream:
    """The dream with its score recomputed from its own fields and current evidence."""
    old: Mapping[str, float] = dream.score_parts
    parts = score_parts(
        novelty=dream.novelty,
        severity=dream.critic_severity,
        refined=dream.refined,
        priority=Priority(dream.priority).value,
        centrality=centrality(dream) if centrality is not None else old.get("centrality", 0.0),
        feedback=feedback.category(dream.category),
        checks=dream.code_checks,
        verification=dream.verification,
    )
    return replace(dream, score_parts=parts, score=total(parts))
