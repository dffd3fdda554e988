"""The TRM step: put a few salient, varied insights from earlier cycles into the prompt."""

from __future__ import annotations

from codedreamer.dream.context import CycleContext

RECALL_COUNT = 3
PRIORITY_MEMORY = 45


def recall_step(context: CycleContext) -> None:
    memory = context.services.memory()
    if memory is None or not memory.items:
        return
    recalled = memory.recall(RECALL_COUNT)
    if not recalled:
        return
    context.memories = [m.text for m in recalled]
    context.memory_ids = [m.id for m in recalled]
    lines = "\n".join(f"- {m.text}" for m in recalled)
    context.context_sections.append(
        (
            "memory",
            f"Earlier findings elsewhere in this codebase (for context):\n{lines}",
            PRIORITY_MEMORY,
        )
    )
