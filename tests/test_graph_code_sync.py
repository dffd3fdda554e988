"""Index-to-graph glue: import resolution, per-definition vectors, backfill from an index.

The index is represented by a small in-memory source with the same three methods as the
real `IndexStore` (code_entities, file_imports, chunk_vectors); the graph side is real.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from codedreamer.memory.code_sync import (
    backfill_from_index,
    chunk_locations,
    dependencies_between,
    node_vectors,
)
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_types import EdgeKind, code_entity_id, code_file_id


def test_dependencies_keep_only_files_with_nodes() -> None:
    kept, missing = dependencies_between(
        {
            "pkg/core.py": ["pkg/util.py", "pkg/util.py", "pkg/core.py", "gone.py"],
            "not-a-node.py": ["pkg/core.py"],
        },
        ["pkg/core.py", "pkg/util.py"],
    )
    assert kept == {"pkg/core.py": ["pkg/util.py"]}
    assert missing == 1


def test_node_vectors_average_chunks_of_one_definition() -> None:
    ids, matrix = node_vectors(
        ["n1", None, "n1", "n2"], np.array([[2.0, 0.0], [5.0, 5.0], [0.0, 3.0], [1.0, 1.0]])
    )
    assert ids == ["n1", "n2"]
    # Unit vectors summed per node: the direction of their mean, which is what cosine uses.
    np.testing.assert_allclose(matrix, [[1.0, 1.0], [0.5**0.5, 0.5**0.5]], rtol=1e-6)
    with pytest.raises(ValueError, match="expected 2 vectors"):
        node_vectors(["a", "b"], np.zeros((3, 2)))


@dataclass(frozen=True)
class Entity:
    path: str
    kind: str
    qualified_name: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class ChunkRow:
    id: str
    path: str
    kind: str
    qualified_name: str


class MemoryIndex:
    """The three index methods the graph needs, over in-memory data."""

    def __init__(
        self,
        entities: Sequence[Entity],
        imports: Mapping[str, Sequence[str]],
        chunks: Sequence[ChunkRow],
        vectors: np.ndarray,
    ) -> None:
        self._entities, self._imports = entities, imports
        self._chunks, self._vectors = chunks, vectors

    def code_entities(self) -> Sequence[Entity]:
        return self._entities

    def file_imports(self) -> Mapping[str, Sequence[str]]:
        return self._imports

    def chunk_vectors(self) -> tuple[list[str], np.ndarray[Any, Any]]:
        return [c.id for c in self._chunks], self._vectors

    def chunks(self) -> Sequence[ChunkRow]:
        return self._chunks


def small_index() -> MemoryIndex:
    entities = [
        Entity("app/main.py", "function", "run", 1, 10),
        Entity("app/main.py", "function", "run_fast", 12, 20),
        Entity("app/db.py", "class", "Database", 1, 40),
        Entity("app/db.py", "module", "", 1, 50),
    ]
    chunks = [
        ChunkRow("c1", "app/main.py", "function", "run"),
        ChunkRow("c2", "app/main.py", "function", "run_fast"),
        ChunkRow("c3", "app/db.py", "class", "Database"),
        ChunkRow("c4", "app/db.py", "class", "Database"),  # a split class: two chunks
        ChunkRow("c5", "app/db.py", "module", ""),
    ]
    vectors = np.array(
        [[1, 0, 0], [0.98, 0.05, 0], [0, 1, 0], [0, 0.9, 0.3], [0.1, 0.1, 1]], dtype=np.float32
    )
    # Imports as the index reports them: already resolved to indexed files.
    return MemoryIndex(entities, {"app/main.py": ["app/db.py", "app/gone.py"]}, chunks, vectors)


def test_backfill_from_index_creates_every_edge_kind_and_is_idempotent() -> None:
    graph = KnowledgeGraph()
    graph.add_dream("d1", path="app/main.py", start_line=14, end_line=15, now=0)
    index = small_index()
    report = backfill_from_index(graph, index, chunk_keys=chunk_locations(index), threshold=0.9)
    assert report.sync is not None and report.sync.added == 5
    assert report.unresolved_imports == 1
    assert report.edges_added[EdgeKind.DEPENDS_ON.label] == 1
    assert report.edges_added[EdgeKind.SIMILAR.label] == 1
    assert report.edges_added[EdgeKind.ABOUT.label] == 1
    assert report.vectors_used == 4
    run, fast = code_entity_id("app/main.py", "run"), code_entity_id("app/main.py", "run_fast")
    similar = [e for e in graph.edges(run) if e.kind is EdgeKind.SIMILAR]
    assert [{e.src, e.dst} for e in similar] == [{run, fast}]
    about = [e.dst for e in graph.edges("dream:d1")]
    assert about == [fast]
    deps = [e for e in graph.edges(code_file_id("app/db.py")) if e.kind is EdgeKind.DEPENDS_ON]
    assert [(e.src, e.dst) for e in deps] == [
        (code_file_id("app/main.py"), code_file_id("app/db.py"))
    ]

    again = backfill_from_index(graph, index, chunk_keys=chunk_locations(index), threshold=0.9)
    assert sum(again.edges_added.values()) == 0
    assert again.sync is not None and again.sync.added == 0


def test_backfill_without_chunk_locations_says_so() -> None:
    graph = KnowledgeGraph()
    report = backfill_from_index(graph, small_index(), chunk_keys=None)
    assert EdgeKind.SIMILAR.label not in report.edges_added
    assert any("no similar edges" in note for note in report.notes)


def test_chunk_locations_from_either_store_shape() -> None:
    index = small_index()
    assert chunk_locations(index) == {
        c.id: (c.path, c.kind, c.qualified_name) for c in index.chunks()
    }

    class Direct:
        def chunk_locations(self) -> dict[str, tuple[str, str, str]]:
            return {"x": ("p.py", "function", "f")}

    assert chunk_locations(Direct()) == {"x": ("p.py", "function", "f")}
    assert chunk_locations(object()) is None
