"""Random operation sequences against a plain-dict reference model.

rustworkx reuses node and edge indices after removals; whatever the order of adds and
removes, the graph must show the same ids and edges as the reference, before and after a
save/load round trip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_store import load_graph, save_graph
from codedreamer.memory.graph_types import EdgeKind, NodeInput, NodeKind

NAMES = [f"n{i}" for i in range(12)]
KINDS = [EdgeKind.ABOUT, EdgeKind.SIMILAR, EdgeKind.DEPENDS_ON]

Edge = tuple[str, str, EdgeKind]

operation = st.one_of(
    st.tuples(st.just("add"), st.lists(st.sampled_from(NAMES), max_size=4)),
    st.tuples(st.just("remove"), st.lists(st.sampled_from(NAMES), max_size=3)),
    st.tuples(
        st.just("edge"),
        st.lists(
            st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES), st.sampled_from(KINDS)),
            max_size=40,  # above the small-batch cut-off, so both dedup paths run
        ),
    ),
)


def key(src: str, dst: str, kind: EdgeKind) -> Edge:
    if kind.symmetric:
        src, dst = min(src, dst), max(src, dst)
    return src, dst, kind


def observed(graph: KnowledgeGraph) -> tuple[set[str], set[Edge]]:
    ids = set(graph.node_ids())
    edges = {key(e.src, e.dst, e.kind) for n in ids for e in graph.edges(n)}
    return ids, edges


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=25))
def test_graph_matches_a_reference_model(ops: list[tuple[str, list[Any]]]) -> None:
    graph = KnowledgeGraph()
    nodes: set[str] = set()
    edges: set[Edge] = set()
    for op, args in ops:
        if op == "add":
            graph.upsert_nodes([NodeInput(id=n, kind=NodeKind.FACT) for n in args], now=0)
            nodes.update(args)
        elif op == "remove":
            assert graph.remove_nodes(args) == len(set(args) & nodes)
            nodes.difference_update(args)
            edges = {e for e in edges if e[0] in nodes and e[1] in nodes}
        else:
            valid = [(s, d, k) for s, d, k in args if s in nodes and d in nodes]
            for kind in KINDS:
                batch = [(s, d) for s, d, k in valid if k is kind]
                new = {key(s, d, kind) for s, d in batch if s != d} - edges
                made = graph.add_edges([s for s, _ in batch], [d for _, d in batch], kind)
                assert made == len(new)
                edges |= new
        assert observed(graph) == (nodes, edges)
        assert graph.edge_count == len(edges) and graph.stats().edges == len(edges)
    with tempfile.TemporaryDirectory() as tmp:
        save_graph(graph, Path(tmp))
        assert observed(load_graph(Path(tmp))) == (nodes, edges)
