"""What the views show of the knowledge graph, as one event: counts, tiers, hot nodes.

Built after each save, so a view (in this process or attached through the event log)
never opens the graph files to refresh its pane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codedreamer.events import GraphChanged, HotNode

if TYPE_CHECKING:
    from codedreamer.memory.graph import KnowledgeGraph

HOT_NODES_SHOWN = 12


def graph_changed(
    graph: KnowledgeGraph, *, hot: int = HOT_NODES_SHOWN, now: float | None = None
) -> GraphChanged:
    stats = graph.stats(now=now)
    nodes = tuple(
        HotNode(
            node_id=node.id,
            kind=node.kind.label,
            label=node.label or node.id,
            momentum=round(node.momentum, 4),
            tier=str(node.tier.value),
            entanglement=round(node.entanglement, 4),
            edges=len(graph.edges(node.id)),
        )
        for node in graph.hot(hot, now=now)
    )
    return GraphChanged(
        nodes=stats.nodes,
        edges=stats.edges,
        avg_entanglement=round(stats.mean_entanglement, 4),
        tiers=dict(stats.nodes_by_tier),
        hot=nodes,
    )
