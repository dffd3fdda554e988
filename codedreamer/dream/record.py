"""The last steps: reflect on the new dream, then store it, remember it and connect it.

Store writes the dream file atomically (storage/), with its score and score parts; the
TRM memory learns its insight and reinforces the memories the prompt used; the knowledge
graph gets a DREAM node `about` its code and `refines` its parent in a drill chain.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from codedreamer.dream.avoidance import themes_of
from codedreamer.dream.context import CycleContext
from codedreamer.dream.feedback import tally
from codedreamer.dream.parse import one_line
from codedreamer.dream.reflect import Reflection, apply_reflection, reflect_dream
from codedreamer.dream.score import centrality_part, score_parts, total
from codedreamer.events import DreamSaved, EngineError
from codedreamer.storage.dream import Dream, Priority, new_dream_id


def code_node_ids(path: str, qualified_name: str) -> list[str]:
    from codedreamer.memory.graph_types import code_entity_id, code_file_id

    ids = [code_file_id(path)]
    if qualified_name:
        ids.append(code_entity_id(path, qualified_name))
    return ids


def centrality_of(context: CycleContext, path: str, qualified_name: str) -> float:
    graph = context.services.graph()
    if graph is None:
        return 0.0
    from codedreamer.memory.graph_types import NodeKind

    top = graph.entangled(1, kinds=[NodeKind.CODE])
    if not top:
        return 0.0
    nodes = graph.nodes(code_node_ids(path, qualified_name))
    best = max((node.entanglement for node in nodes), default=0.0)
    return centrality_part(best, top[0].entanglement)


def build_dream(context: CycleContext) -> Dream:
    chunk = context.chunk
    focus = context.focus
    assert chunk is not None and focus is not None
    now = datetime.now(UTC)
    draft = context.draft
    critic = context.critic
    symbol = chunk.qualified_name or chunk.symbol
    models = {"reasoning": context.think.model_name if context.think else ""}
    for result in context.stage_results:
        models.setdefault("coder" if result.stage == "code" else result.stage, result.model_name)
    timings: dict[str, float] = {}
    for result in context.stage_results:
        key = f"{result.stage}_seconds"
        timings[key] = round(timings.get(key, 0.0) + result.seconds, 3)
    if context.think is not None:
        timings["think_tokens_per_second"] = round(context.think.tokens_per_second, 2)
    timings["total_seconds"] = round(time.perf_counter() - context.started, 3)
    return Dream(
        id=new_dream_id(now),
        created=now,
        category=focus.name,
        focus=focus.name,
        source_path=chunk.path,
        line_start=chunk.start_line,
        line_end=chunk.end_line,
        language=chunk.language,
        title=context.title,
        novelty=context.novelty,
        drill_level=context.drill_level,
        parent=context.parent.id if context.parent is not None else None,
        symbols=[symbol] if symbol else [],
        themes=themes_of(context.title, focus.name, symbol),
        critic_severity=critic.severity if critic is not None else "",
        refined=critic.refined if critic is not None else False,
        models=models,
        timings=timings,
        validation=context.checks,
        code_checks=dict(draft.checks) if draft is not None else {},
        insight=context.insight,
        plan=context.plan,
        code=draft.code if draft is not None else "",
        diff=draft.diff if draft is not None else "",
        critique=critic.critique if critic is not None else "",
        draft_code=critic.draft_code if critic is not None else "",
        seed_code=chunk.content,
    )


def reflect_step(context: CycleContext) -> None:
    """Build the dream and let the reasoning model rank it (priority and reason)."""
    dream = build_dream(context)
    reflection: Reflection = reflect_dream(
        context.services.reasoning(),
        dream,
        sink=context.services.sink,
        cancel=context.cancel,
        max_tokens=context.stage_tokens(96),
    )
    dream = apply_reflection(dream, reflection)
    if reflection.priority is None:
        dream.priority_reason = "reflection gave no priority: " + one_line(reflection.raw, 80)
    chunk = context.chunk
    assert chunk is not None
    parts = score_parts(
        novelty=dream.novelty,
        severity=dream.critic_severity,
        refined=dream.refined,
        priority=Priority(dream.priority).value,
        centrality=centrality_of(context, chunk.path, chunk.qualified_name),
        feedback=tally(context.earlier).category(dream.category),
        checks=dream.code_checks,
        verification=dream.verification,
    )
    dream.score_parts = parts
    dream.score = total(parts)
    context.pending = dream


def store_step(context: CycleContext) -> None:
    dream = context.pending
    assert dream is not None
    services = context.services
    path = services.store().save_new(dream)
    context.dream = dream
    services.sink(
        DreamSaved(dream_id=dream.id, path=str(path), title=dream.title, novelty=dream.novelty)
    )
    memory = services.memory()
    if memory is not None:
        memory.reinforce(context.memory_ids)
        memory.add(f"{dream.title} ({dream.source_path})", source=dream.id)
        try:
            memory.save()
        except OSError as exc:
            services.sink(EngineError(message=f"TRM memory not saved: {exc}"))
    chunk = context.chunk
    assert chunk is not None
    about = code_node_ids(chunk.path, chunk.qualified_name)
    services.change_graph(
        lambda graph: graph.add_dream(
            dream.id,
            about=about,
            parent_dream_id=dream.parent,
            label=dream.title,
            path=dream.source_path,
            start_line=dream.line_start,
            end_line=dream.line_end,
        )
    )
