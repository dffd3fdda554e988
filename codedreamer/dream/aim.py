"""The focus step: which kind of improvement this cycle looks for, steered by feedback.

A drill continues its parent's focus. Otherwise focus areas rotate, weighted by how the
user marked earlier dreams of each area. The "dead code" focus is grounded in the index:
it targets a definition the index says nothing references, and tells the model that fact,
instead of asking it to guess what is unused. With no such definition it is not chosen.
"""

from __future__ import annotations

from typing import Any

from codedreamer.dream.context import CycleContext, Target
from codedreamer.dream.feedback import focus_weights, tally
from codedreamer.dream.focus import FOCUS_AREAS, enabled_focus_areas, pick_weighted_focus

DEAD_CODE = "dead_code"
PRIORITY_FACT = 85


def dead_code_fact(definition: Any) -> str:
    name = definition.qualified_name or definition.name
    return (
        f"Index fact: `{name}` ({definition.kind}) is defined in {definition.path} at lines "
        f"{definition.start_line}-{definition.end_line} and is referenced nowhere else in the "
        "indexed code. Say whether it is really unused and what to do about it."
    )


def pick_dead_code(context: CycleContext) -> Any | None:
    """An unreferenced definition not dreamed about yet, or None."""
    symbols = context.services.symbols()
    if symbols is None:
        return None
    covered = {(d.source_path, d.line_start) for d in context.earlier}
    covered |= {(path, start) for path, start, _ in context.state.attempted}
    unused = [d for d in symbols.unreferenced() if (d.path, d.start_line) not in covered]
    if not unused:
        return None
    return context.services.rng.choice(unused)


def focus_step(context: CycleContext) -> None:
    by_name = {area.name: area for area in FOCUS_AREAS}
    if context.parent is not None and context.parent.focus in by_name:
        context.focus = by_name[context.parent.focus]
        return
    areas = enabled_focus_areas()
    feedback = tally(context.earlier)
    weights = focus_weights([a.name for a in areas], feedback)
    recent = [d.focus for d in context.earlier]
    focus = pick_weighted_focus(context.services.rng, areas, recent, weights)
    if focus.name == DEAD_CODE and context.target is None:
        definition = pick_dead_code(context)
        if definition is None:
            others = [a for a in areas if a.name != DEAD_CODE] or areas
            focus = pick_weighted_focus(context.services.rng, others, recent, weights)
        else:
            context.target = Target(
                definition.path,
                definition.start_line,
                definition.end_line,
                "unreferenced definition (index: no references)",
            )
            context.context_sections.append(
                ("index references", dead_code_fact(definition), PRIORITY_FACT)
            )
    context.focus = focus
