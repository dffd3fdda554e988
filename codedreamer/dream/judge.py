"""The validation step: judge the Think answer (dream/validation) and keep its parts."""

from __future__ import annotations

from codedreamer.dream.context import CycleContext
from codedreamer.dream.drill import drill_chain
from codedreamer.dream.parse import extract_title, labelled_sections
from codedreamer.dream.validation import EarlierDream, validate_insight
from codedreamer.storage.dream import Dream


def earlier_for_validation(dreams: list[Dream], parent: Dream | None = None) -> list[EarlierDream]:
    """Every earlier dream for duplicate checks. A drill continuation is about the same
    symbol and category as its ancestors by design, so they are compared by text only
    (no topic key); a reworded copy of an ancestor is still a near duplicate."""
    chain: set[str] = set()
    if parent is not None:
        by_id = {d.id: d for d in dreams}
        chain = {d.id for d in drill_chain(parent, by_id)}
    return [
        EarlierDream(
            d.id,
            d.insight,
            title="" if d.id in chain else d.title,
            symbol="" if d.id in chain else (d.symbols[0] if d.symbols else ""),
            category=d.category,
            status=d.status.value,
        )
        for d in dreams
    ]


def judge_step(context: CycleContext) -> None:
    assert context.think is not None and context.chunk is not None and context.focus is not None
    chunk = context.chunk
    verdict = validate_insight(
        context.think.text,
        seed_code=chunk.content,
        # The first name is the topic key: the qualified one, as earlier dreams store it.
        symbols=[chunk.qualified_name or chunk.symbol, chunk.symbol],
        earlier=[
            *earlier_for_validation(context.earlier, context.parent),
            *context.services.attempts(),
        ],
        novelty_threshold=context.settings.novelty_threshold,
        name_exists=context.services.name_exists,
        language=chunk.language,
        finish_reason=context.think.finish_reason,
        category=context.focus.name,
        seed_path=chunk.path,
        seed_lines=(chunk.start_line, chunk.end_line),
        path_exists=context.services.path_exists,
        vector_cache=context.services.vector_cache(),
    )
    context.checks = {**verdict.checks, "finish_reason": context.think.finish_reason}
    context.novelty = verdict.novelty
    if not verdict.accepted:
        context.reject(verdict.reason, verdict.detail)
        return
    text = verdict.text or context.think.text
    parts = labelled_sections(text, ("TITLE", "INSIGHT", "PLAN"))
    context.insight = parts.get("INSIGHT") or text
    context.plan = parts.get("PLAN", "")
    fallback = f"{context.focus.name} in {chunk.path}"
    context.title = verdict.title or extract_title(text, fallback)
