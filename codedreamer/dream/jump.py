"""Graph jump: after `JUMP_AFTER_FAILURES` failed cycles in a row, dream somewhere else.

The target is a random WARM or HOT CODE node of the knowledge graph, and never the code
the failing cycles were about: the jump changes what is dreamed about, not just the
prompt. The failure count is reset by the jump, so the next jump needs three more.
"""

from __future__ import annotations

from codedreamer.dream.context import CycleContext, Target
from codedreamer.events import Notice
from codedreamer.memory.graph_types import NodeKind

JUMP_AFTER_FAILURES = 3
TRIES = 32
"""Draws of a random warm node before giving up on leaving the failing file."""


def jump_step(context: CycleContext) -> None:
    state = context.state
    if context.target is not None or state.consecutive_failures < JUMP_AFTER_FAILURES:
        return
    graph = context.services.graph()
    if graph is None:
        return
    avoid = state.last_path
    for _ in range(TRIES):
        node = graph.random_warm_node(context.services.rng, kinds=[NodeKind.CODE])
        if node is None:
            return
        if node.path and node.path != avoid:
            break
    else:
        return
    failures = state.consecutive_failures
    state.consecutive_failures = 0
    context.jumped = True
    context.target = Target(
        node.path,
        max(1, node.start_line),
        max(node.start_line, node.end_line),
        f"graph jump to {node.id} after {failures} failed cycles",
    )
    context.services.sink(Notice(message=f"graph jump: {avoid or '?'} -> {node.path}"))
