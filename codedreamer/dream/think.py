"""Stage 1 Think: the reasoning model reads the seed and its context and names one improvement."""

from __future__ import annotations

from codedreamer.dream.context import CycleContext
from codedreamer.dream.prompts import (
    PRIORITY_CODE,
    PRIORITY_TASK,
    THINK_SYSTEM,
    SeedCode,
    code_block,
    drill_task,
    think_task,
)
from codedreamer.dream.stages import run_stage
from codedreamer.events import ContextAssembled
from codedreamer.models.budget import PromptSection, budget_prompt


def seed_of(context: CycleContext) -> SeedCode:
    chunk = context.chunk
    assert chunk is not None
    return SeedCode(
        path=chunk.path,
        language=chunk.language,
        start_line=chunk.start_line,
        end_line=chunk.end_line,
        symbol=chunk.qualified_name or chunk.symbol,
        content=chunk.content,
    )


def context_prompt_sections(context: CycleContext) -> list[PromptSection]:
    return [
        PromptSection(f"context:{source}", text, priority)
        for source, text, priority in context.context_sections
    ]


def think_step(context: CycleContext) -> None:
    assert context.chunk is not None and context.focus is not None
    settings = context.settings
    model = context.services.reasoning()
    task = think_task(context.focus)
    if context.parent is not None:
        task = (
            drill_task(context.drill_level, context.parent.title, context.parent.insight)
            + "\n"
            + task
        )
    sections = [
        PromptSection("task", task, PRIORITY_TASK, required=True),
        PromptSection("code", code_block(seed_of(context)), PRIORITY_CODE, required=True),
        *context_prompt_sections(context),
    ]
    prompt = budget_prompt(
        model,
        THINK_SYSTEM,
        sections,
        max_tokens=context.stage_tokens(settings.reasoning_max_tokens),
    )
    kept = [
        s.name.removeprefix("context:") for s in prompt.sections if s.name.startswith("context:")
    ]
    context.services.sink(ContextAssembled(sources=tuple(kept), prompt_tokens=prompt.prompt_tokens))
    result = run_stage(
        model,
        prompt.messages,
        stage="think",
        max_tokens=prompt.max_tokens,
        temperature=settings.dream_temperature,
        repeat_penalty=settings.repeat_penalty,
        sink=context.services.sink,
        cancel=context.cancel,
    )
    context.think = result
    context.stage_results.append(result)
    if result.finish_reason == "cancelled":
        context.reject("cancelled", "generation stopped before it finished")
