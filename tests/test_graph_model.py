"""KnowledgeGraph behaviour: stable ids, no duplicate edges, activation, prune, sync, queries."""

from __future__ import annotations

import numpy as np
import pytest

from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_types import (
    CodeEntityInput,
    EdgeKind,
    NodeInput,
    NodeKind,
    Tier,
    code_entity_id,
    code_file_id,
    concept_node_id,
    fact_node_id,
)

HOUR = 3600.0
DAY = 24 * HOUR


def fact(i: int, momentum: float | None = None) -> NodeInput:
    return NodeInput(id=f"fact:{i}", kind=NodeKind.FACT, label=f"fact {i}", momentum=momentum)


def entities() -> list[CodeEntityInput]:
    return [
        CodeEntityInput("pkg/a.py", "function", "load", 1, 10),
        CodeEntityInput("pkg/a.py", "class", "Store", 12, 40),
        CodeEntityInput("pkg/a.py", "method", "Store.save", 20, 30),
        CodeEntityInput("pkg/b.py", "function", "main", 1, 5),
    ]


def test_ids_stay_stable_after_removals_even_though_indices_are_reused() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes([fact(i) for i in range(5)], now=0)
    g.add_edge("fact:0", "fact:4", EdgeKind.ABOUT)
    g.add_edge("fact:3", "fact:4", EdgeKind.ABOUT)
    assert g.remove_nodes(["fact:1", "fact:2"]) == 2
    # rustworkx hands the freed indices to the new nodes; ids must not get mixed up.
    g.upsert_nodes([NodeInput(id="dream:new", kind=NodeKind.DREAM, label="new")], now=0)
    g.upsert_nodes([NodeInput(id="concept:x", kind=NodeKind.CONCEPT, label="x")], now=0)
    assert sorted(g.node_ids()) == ["concept:x", "dream:new", "fact:0", "fact:3", "fact:4"]
    assert {(e.src, e.dst) for e in g.edges("fact:4")} == {
        ("fact:0", "fact:4"),
        ("fact:3", "fact:4"),
    }
    assert g.edges("dream:new") == [] and g.edges("concept:x") == []
    node = g.node("dream:new", now=0)
    assert node is not None and node.kind is NodeKind.DREAM and node.label == "new"
    assert g.node("fact:1") is None


def test_edges_are_never_duplicated_and_weights_update() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes([fact(0), fact(1)], now=0)
    assert g.add_edge("fact:0", "fact:1", EdgeKind.ABOUT, 0.3) is True
    assert g.add_edge("fact:0", "fact:1", EdgeKind.ABOUT, 0.9) is False
    assert g.edge_count == 1
    assert g.edges("fact:0")[0].weight == pytest.approx(0.9)
    # A different kind between the same pair is a different relation.
    assert g.add_edge("fact:0", "fact:1", EdgeKind.DEPENDS_ON) is True
    # `similar` is symmetric: the reverse direction is the same edge.
    assert g.add_edge("fact:0", "fact:1", EdgeKind.SIMILAR, 0.8) is True
    assert g.add_edge("fact:1", "fact:0", EdgeKind.SIMILAR, 0.85) is False
    assert g.edge_count == 3
    # Self-loops are skipped, not stored.
    assert g.add_edge("fact:0", "fact:0", EdgeKind.ABOUT) is False
    assert g.edge_count == 3


def test_bulk_edges_deduplicate_against_existing_and_within_the_batch() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes([fact(i) for i in range(100)], now=0)
    src = [f"fact:{i}" for i in range(99)] * 2
    dst = [f"fact:{i + 1}" for i in range(99)] * 2
    weights = [0.2] * 99 + [0.6] * 99
    assert g.add_edges(src, dst, EdgeKind.ABOUT, weights) == 99
    assert g.edge_count == 99
    assert {e.weight for e in g.edges("fact:50")} == {0.6}
    # Same pairs again plus reversed `similar` pairs: nothing new for ABOUT.
    assert g.add_edges(src[:99], dst[:99], EdgeKind.ABOUT) == 0
    assert g.add_edges(src[:99], dst[:99], EdgeKind.SIMILAR) == 99
    assert g.add_edges(dst[:99], src[:99], EdgeKind.SIMILAR) == 0
    assert g.edge_count == 198


def test_unknown_ids_and_bad_weights_are_clear_errors() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes([fact(0)], now=0)
    with pytest.raises(KeyError, match="fact:9"):
        g.add_edge("fact:0", "fact:9", EdgeKind.ABOUT)
    with pytest.raises(ValueError, match="finite"):
        g.add_edges(["fact:0"], ["fact:0"], EdgeKind.ABOUT, [float("nan")])
    with pytest.raises(ValueError, match="momentum"):
        g.upsert_node(fact(1, momentum=1.5))
    with pytest.raises(ValueError, match="exists as FACT"):
        g.upsert_node(NodeInput(id="fact:0", kind=NodeKind.DREAM))
    # A batch with one bad node changes nothing at all.
    with pytest.raises(ValueError, match="exists as FACT"):
        g.upsert_nodes([fact(5), NodeInput(id="fact:0", kind=NodeKind.CONCEPT)])
    assert g.node_ids() == ["fact:0"]


def test_decay_is_per_node_and_does_not_compound() -> None:
    g = KnowledgeGraph(half_life_sec=DAY)
    g.upsert_nodes([fact(0, 1.0)], now=0)
    g.upsert_nodes([fact(1, 1.0)], now=DAY)  # created a day later
    for hour in range(1, 49):
        g.decay(hour * HOUR)
    a, b = g.node("fact:0", now=2 * DAY), g.node("fact:1", now=2 * DAY)
    assert a is not None and b is not None
    assert a.momentum == pytest.approx(0.25, rel=1e-9)
    assert b.momentum == pytest.approx(0.5, rel=1e-9)
    # Queries see momentum as of `now` without writing it.
    later = g.node("fact:0", now=3 * DAY)
    assert later is not None and later.momentum == pytest.approx(0.125, rel=1e-9)


def test_activation_via_use_and_via_a_new_dream() -> None:
    g = KnowledgeGraph(half_life_sec=DAY)
    g.sync_code_entities(entities(), now=0)
    load = code_entity_id("pkg/a.py", "load")
    before = g.node(load, now=DAY)
    assert before is not None and before.momentum == pytest.approx(0.25)
    assert g.activate([load, "no-such-node"], now=DAY) == 1
    after = g.node(load, now=DAY)
    assert after is not None
    assert after.momentum == pytest.approx(0.25 + 0.5 * 0.75)
    assert after.last_access == DAY

    first = g.add_dream("20260101-000000-aaaaaaaa", about=[load], label="first", now=DAY)
    assert first.missing == () and first.edges_added == 1
    save = code_entity_id("pkg/a.py", "Store.save")
    links = g.add_dream(
        "20260101-000100-bbbbbbbb",
        about=[save, "code:gone.py"],
        parent_dream_id="20260101-000000-aaaaaaaa",
        now=DAY,
    )
    assert links.missing == ("code:gone.py",)
    kinds = {(e.dst, e.kind) for e in g.edges(links.node_id) if e.src == links.node_id}
    assert kinds == {(save, EdgeKind.ABOUT), ("dream:20260101-000000-aaaaaaaa", EdgeKind.REFINES)}
    # Being referenced by a dream is a use: `save` went from 0.25 to 0.625, load twice.
    saved = g.node(save, now=DAY)
    assert saved is not None and saved.momentum == pytest.approx(0.625)
    loaded = g.node(load, now=DAY)
    assert (
        loaded is not None and loaded.momentum == pytest.approx(0.8125) and loaded.tier is Tier.HOT
    )


def test_prune_removes_cold_nodes_and_their_edges_and_returns_the_count() -> None:
    g = KnowledgeGraph(half_life_sec=DAY)
    g.sync_code_entities(entities(), now=0)
    g.upsert_nodes([fact(0, 1.0), fact(1, 0.5), fact(2, 0.3)], now=0)
    g.add_edge("fact:2", "fact:0", EdgeKind.ABOUT)
    g.add_edge("fact:1", code_file_id("pkg/b.py"), EdgeKind.ABOUT)
    edges = g.edge_count
    # After a day: fact:0 0.5 (WARM), fact:1 0.25 and fact:2 0.15 (COLD), CODE 0.25 (COLD).
    removed = g.prune(now=DAY)
    assert isinstance(removed, int) and removed == 2
    assert sorted(g.node_ids(NodeKind.FACT)) == ["fact:0"]
    assert g.edge_count == edges - 2
    assert len(g.node_ids(NodeKind.CODE)) == 6  # CODE mirrors the index: kept by default
    assert g.prune(now=DAY) == 0
    assert g.prune(now=DAY, include_code=True) == 6
    assert g.node_ids() == ["fact:0"] and g.edge_count == 0


def test_sync_adds_and_removes_code_with_its_edges() -> None:
    g = KnowledgeGraph()
    report = g.sync_code_entities(entities(), now=0)
    assert (report.added, report.removed, report.updated) == (6, 0, 0)
    assert report.edges_added == 4  # each definition -> its file
    store = code_entity_id("pkg/a.py", "Store")
    g.add_dream("d1", about=[store], now=0)

    changed = [e for e in entities() if e.qualified_name != "Store"]
    changed[0] = CodeEntityInput("pkg/a.py", "function", "load", 3, 14)  # moved
    report = g.sync_code_entities(changed, now=10)
    assert (report.added, report.removed, report.updated) == (0, 1, 5)
    assert store not in g
    assert g.edges("dream:d1") == []  # the about edge went with the code
    load = g.node(code_entity_id("pkg/a.py", "load"), now=10)
    assert load is not None and (load.start_line, load.end_line) == (3, 14)

    report = g.sync_code_entities([CodeEntityInput("pkg/b.py", "function", "main", 1, 5)])
    assert report.removed == 3 and sorted(g.node_ids(NodeKind.CODE)) == [
        code_file_id("pkg/b.py"),
        code_entity_id("pkg/b.py", "main"),
    ]


def test_hot_and_entangled_order_and_kind_filter() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes([fact(i, m) for i, m in enumerate([0.2, 0.9, 0.5, 0.95])], now=0)
    g.upsert_node(NodeInput(id=concept_node_id("Caching"), kind=NodeKind.CONCEPT), now=0)
    assert [n.id for n in g.hot(3, now=0)] == ["concept:caching", "fact:3", "fact:1"]
    assert [n.id for n in g.hot(2, now=0, kinds=[NodeKind.FACT])] == ["fact:3", "fact:1"]
    assert len(g.hot(50, now=0)) == 5 and g.hot(0) == []
    g.add_edges(["fact:0", "fact:0", "fact:2"], ["fact:1", "fact:2", "fact:1"], EdgeKind.ABOUT)
    top = g.entangled(2)
    assert [n.id for n in top] == ["fact:0", "fact:1"] or [n.id for n in top] == [
        "fact:0",
        "fact:2",
    ]
    assert top[0].entanglement > 0 and g.entangled(5)[-1].entanglement == 0.0
    assert concept_node_id("  caching ") == concept_node_id("CACHING")
    assert fact_node_id("a  b") == fact_node_id("a b")


def test_stats_count_kinds_tiers_and_edges() -> None:
    g = KnowledgeGraph()
    g.sync_code_entities(entities(), now=0)
    g.add_dream("d1", about=[code_entity_id("pkg/a.py", "load")], now=0)
    s = g.stats(now=0)
    assert (s.nodes, s.edges) == (7, 5)
    assert s.nodes_by_kind == {"CODE": 6, "DREAM": 1, "CONCEPT": 0, "FACT": 0}
    assert s.nodes_by_tier == {"COLD": 0, "WARM": 6, "HOT": 1}  # load: 0.5 -> 0.75
    assert s.edges_by_kind["same_file"] == 4 and s.edges_by_kind["about"] == 1
    assert 0 < s.mean_entanglement < 1


def test_dependencies_are_replaced_not_accumulated() -> None:
    g = KnowledgeGraph()
    g.sync_code_entities(entities(), now=0)
    assert g.set_dependencies({"pkg/b.py": ["pkg/a.py", "missing.py"]}) == (1, 0)
    assert g.set_dependencies({"pkg/b.py": ["pkg/a.py"]}) == (0, 0)
    assert g.set_dependencies({"pkg/a.py": ["pkg/b.py"]}) == (1, 1)
    deps = [e for e in g.edges(code_file_id("pkg/a.py")) if e.kind is EdgeKind.DEPENDS_ON]
    assert [(e.src, e.dst) for e in deps] == [(code_file_id("pkg/a.py"), code_file_id("pkg/b.py"))]


def test_backfill_similar_links_nearest_neighbours_once_per_pair() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes([fact(i) for i in range(4)], now=0)
    vectors = np.array([[1, 0, 0], [0.95, 0.05, 0], [0, 1, 0], [0, 0.9, 0.1]], dtype=np.float32)
    ids = ["fact:0", "fact:1", "fact:2", "fact:3", "ghost"]
    with pytest.raises(ValueError, match="5 vectors"):
        g.backfill_similar(ids, vectors)
    made = g.backfill_similar(ids, np.vstack([vectors, [[1, 1, 1]]]), k=1, threshold=0.9)
    assert made == 2
    pairs = {frozenset((e.src, e.dst)) for e in g.edges_among(ids)}
    assert pairs == {frozenset({"fact:0", "fact:1"}), frozenset({"fact:2", "fact:3"})}
    assert g.backfill_similar(ids[:4], vectors, k=1, threshold=0.9) == 0


def test_graph_only_backfill_links_files_and_dreams() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes(
        [
            NodeInput(
                id="code:x.py::f",
                kind=NodeKind.CODE,
                label="f",
                detail="function",
                path="x.py",
                start_line=1,
                end_line=9,
            ),
            NodeInput(
                id="code:x.py::g",
                kind=NodeKind.CODE,
                label="g",
                detail="function",
                path="x.py",
                start_line=10,
                end_line=20,
            ),
            NodeInput(id="dream:d", kind=NodeKind.DREAM, path="x.py", start_line=12, end_line=14),
            NodeInput(id="dream:e", kind=NodeKind.DREAM, path="x.py"),
        ],
        now=0,
    )
    assert g.link_same_file() == 2  # the file node is created on the way
    assert code_file_id("x.py") in g
    assert g.link_dreams_to_code() == 2
    assert {(e.src, e.dst) for e in g.edges("dream:d")} == {("dream:d", "code:x.py::g")}
    assert {(e.src, e.dst) for e in g.edges("dream:e")} == {("dream:e", "code:x.py")}
    assert g.link_same_file() == 0 and g.link_dreams_to_code() == 0


def test_random_warm_node_skips_cold_and_filters_kinds() -> None:
    import random

    g = KnowledgeGraph()
    g.upsert_nodes([fact(0, 0.1), fact(1, 0.5), fact(2, 0.9)], now=0)
    g.sync_code_entities([CodeEntityInput("x.py", "function", "f", 1, 3)], now=0)
    rng = random.Random(1)
    draws = [g.random_warm_node(rng, kinds=[NodeKind.FACT], now=0) for _ in range(50)]
    picked = {node.id for node in draws if node is not None}
    assert picked == {"fact:1", "fact:2"}
    code = g.random_warm_node(rng, kinds=[NodeKind.CODE], now=0)
    assert code is not None and code.path == "x.py"
    assert g.random_warm_node(rng, kinds=[NodeKind.DREAM], now=0) is None
    assert g.random_warm_node(rng, now=10 * DAY) is None  # everything has gone cold


def test_queries_after_growth_past_a_cached_entanglement() -> None:
    g = KnowledgeGraph()
    g.upsert_nodes([fact(0), fact(1)], now=0)
    g.add_edge("fact:0", "fact:1", EdgeKind.ABOUT)
    assert g.stats(now=0).nodes == 2  # caches entanglement for the current capacity
    g.upsert_nodes([fact(i) for i in range(2, 200)], now=0)  # grows the columns
    assert g.stats(now=0).nodes == 200
    assert len(g.entangled(300)) == 200
    node = g.node("fact:150", now=0)
    assert node is not None and node.entanglement == 0.0


def test_threads_can_share_one_graph() -> None:
    import threading

    g = KnowledgeGraph()
    g.upsert_nodes([fact(i) for i in range(200)], now=0)
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for i in range(50):
                a, b = f"fact:{(i + offset) % 200}", f"fact:{(i * 7 + offset) % 200}"
                g.add_edge(a, b, EdgeKind.ABOUT)
                g.activate([a])
                g.upsert_node(fact(1000 + offset * 100 + i))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(50):
                g.stats()
                g.hot(10)
                g.entangled(10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(g) == 350
    assert (
        g.stats().edges
        == g.edge_count
        == len({(e.src, e.dst) for n in g.node_ids() for e in g.edges(n)})
    )
