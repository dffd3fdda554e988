"""The graph benchmark itself works: both sides agree on a small graph (no timing asserts)."""

from __future__ import annotations

from bench.bench_graph import check_agreement, random_columns, render, run
from codedreamer.memory.graph_types import EdgeKind


def test_benchmark_sides_compute_the_same_results_on_a_small_graph() -> None:
    result = run(nodes=1500, edges=6000, repeat=1)  # raises if decay/entanglement disagree
    assert result["edges"] == 6000 and result["nodes"] == 1500
    text = render(result)
    assert "| **total** |" in text and "1,500 nodes" in text


def test_random_graph_has_unique_edges_and_no_self_loops() -> None:
    columns = random_columns(500, 3000, seed=3)
    similar = int(EdgeKind.SIMILAR)
    pairs = {
        (min(a, b), max(a, b), k) if k == similar else (a, b, k)
        for a, b, k in zip(
            columns.edge_src.tolist(),
            columns.edge_dst.tolist(),
            columns.edge_kind.tolist(),
            strict=True,
        )
    }
    assert len(pairs) == columns.edge_src.size == 3000
    assert not (columns.edge_src == columns.edge_dst).any()


def test_agreement_check_catches_a_difference() -> None:
    import pytest

    with pytest.raises(AssertionError, match="differ"):
        check_agreement({"a": 0.5}, {"a": 0.6}, "decay")
