"""Stage 3 Critic: judge the draft against the code, refine it once when that is serious.

The critic answers in JSON under a grammar built from a schema (CRITIC_SCHEMA), and
`parse_severity` still reads free text, a torn JSON object or a label, so a small model's
answer gives a severity whenever it states one. MODERATE or MAJOR, or a draft that failed
its checks, gets one refinement through the Code stage; the refined draft replaces the
first (kept as `draft_code`) only when it passes the checks. A draft that still fails its
checks after that is not stored: the dream is rejected with the reason.
"""

from __future__ import annotations

from codedreamer.dream.code import check_draft, generate
from codedreamer.dream.context import CriticVerdict, CycleContext
from codedreamer.dream.parse import one_line, parse_severity
from codedreamer.dream.prompts import (
    CRITIC_SCHEMA,
    CRITIC_SYSTEM,
    PRIORITY_CODE,
    PRIORITY_TASK,
    code_block,
    critic_task,
    refine_task,
)
from codedreamer.dream.stages import run_stage
from codedreamer.dream.structured import SchemaModel
from codedreamer.dream.think import seed_of
from codedreamer.models.budget import PromptSection, budget_prompt

SERIOUS = frozenset({"moderate", "major"})
CRITIC_MAX_TOKENS = 200


def needs_refinement(severity: str | None, problem: str) -> bool:
    return severity in SERIOUS or bool(problem)


def critique_text(raw: str) -> str:
    """The critic's words without the JSON wrapping, for the dream file."""
    import json

    start, end = raw.find("{"), raw.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(raw[start : end + 1])
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("issues"), str):
            severity = str(data.get("severity", "")).upper()
            return f"{severity}: {data['issues'].strip()}".strip(": ")
    return raw.strip()


def critic_step(context: CycleContext) -> None:
    draft = context.draft
    if draft is None or not (draft.code or draft.diff):
        return
    assert context.chunk is not None
    model = context.services.reasoning()
    change = f"```diff\n{draft.diff}\n```" if draft.diff else f"```\n{draft.code}\n```"
    checks = ", ".join(f"{k}: {v}" for k, v in draft.checks.items())
    prompt = budget_prompt(
        model,
        CRITIC_SYSTEM,
        [
            PromptSection(
                "task",
                critic_task(context.title, context.insight, change, checks),
                PRIORITY_TASK,
                required=True,
            ),
            PromptSection("code", code_block(seed_of(context)), PRIORITY_CODE, required=True),
        ],
        max_tokens=context.stage_tokens(CRITIC_MAX_TOKENS),
    )
    result = run_stage(
        SchemaModel(model, CRITIC_SCHEMA),  # type: ignore[arg-type]
        prompt.messages,
        stage="critic",
        max_tokens=prompt.max_tokens,
        temperature=0.0,
        repeat_penalty=1.0,
        sink=context.services.sink,
        cancel=context.cancel,
    )
    context.stage_results.append(result)
    if result.finish_reason == "cancelled":
        context.reject("cancelled", "generation stopped before it finished")
        return
    severity = parse_severity(result.text)
    critique = critique_text(result.text)
    verdict = CriticVerdict(severity=severity or "unknown", critique=critique)
    context.critic = verdict
    if not needs_refinement(severity, draft.problem):
        return
    review = critique if not draft.problem else f"{critique} Automatic check: {draft.problem}"
    task = refine_task(
        context.chunk.path, context.title, context.insight, change, one_line(review, 400)
    )
    refined = generate(context, task)
    if refined.finish_reason == "cancelled":
        context.reject("cancelled", "generation stopped before it finished")
        return
    chunk = context.chunk
    second = check_draft(
        refined.text,
        context.services.read_source(chunk.path),
        chunk.content,
        chunk.language,
        chunk.path,
    )
    if second.checks.get("format") != "none" and not second.problem:
        verdict.refined = True
        verdict.draft_code = draft.diff or draft.code
        context.draft = second
    elif draft.problem:
        context.reject("code_invalid", f"{draft.problem}; the refinement did not fix it")
