"""Glue between the code index and the knowledge graph, used by `graph backfill`.

The graph takes plain inputs; this module turns what the index reports into them: CODE
nodes from the index's entities, `depends_on` edges from its resolved imports, `similar`
edges from its stored chunk vectors (combined per definition). Everything the index is
asked for goes through the small `CodeIndexSource` protocol, so the logic here is tested
without LanceDB (and, in tests/test_graph_index_integration.py, with it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_types import (
    FILE_LEVEL_KINDS,
    BackfillReport,
    CodeEntityInput,
    EdgeKind,
    NodeKind,
    code_entity_id,
    code_file_id,
)

DEFAULT_SIMILAR_K = 5
DEFAULT_SIMILAR_THRESHOLD = 0.8


class EntityLike(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def qualified_name(self) -> str: ...
    @property
    def start_line(self) -> int: ...
    @property
    def end_line(self) -> int: ...


class CodeIndexSource(Protocol):
    """What the graph needs from the code index."""

    def code_entities(self) -> Sequence[EntityLike]: ...

    def file_imports(self) -> Mapping[str, Sequence[str]]: ...

    def chunk_vectors(self) -> tuple[list[str], npt.NDArray[Any]]: ...


def entity_inputs(entities: Iterable[EntityLike]) -> list[CodeEntityInput]:
    return [
        CodeEntityInput(
            path=e.path,
            kind=e.kind,
            qualified_name=e.qualified_name,
            start_line=int(e.start_line),
            end_line=int(e.end_line),
        )
        for e in entities
    ]


# --------------------------------------------------------------------------- imports


def dependencies_between(
    imports: Mapping[str, Sequence[str]], file_paths: Iterable[str]
) -> tuple[dict[str, list[str]], int]:
    """(importer -> imported files, count of targets without a file node).

    The index already resolves import strings to indexed files (`IndexStore.file_imports`);
    here only files that have a graph node count, and self-imports are dropped.
    """
    known = set(file_paths)
    kept: dict[str, list[str]] = {}
    missing = 0
    for importer, targets in imports.items():
        found = [t for t in dict.fromkeys(targets) if t in known and t != importer]
        missing += sum(1 for t in set(targets) if t not in known)
        if importer in known:
            kept[importer] = found
    return kept, missing


# --------------------------------------------------------------------------- vectors


def node_vectors(
    chunk_nodes: Sequence[str | None], vectors: npt.ArrayLike
) -> tuple[list[str], npt.NDArray[np.float32]]:
    """One vector per node: the sum of its chunks' unit vectors (the direction of their mean).

    `chunk_nodes[i]` is the node id of chunk i, or None for chunks with no node. Grouping
    is one `np.add.at` over integer labels, not a Python loop over vectors.
    """
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(chunk_nodes):
        raise ValueError(f"expected {len(chunk_nodes)} vectors, got shape {matrix.shape}")
    keep = [i for i, node in enumerate(chunk_nodes) if node is not None]
    names: dict[str, int] = {}
    labels = np.fromiter(
        (names.setdefault(str(chunk_nodes[i]), len(names)) for i in keep),
        dtype=np.int64,
        count=len(keep),
    )
    rows = matrix[keep]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    sums = np.zeros((len(names), matrix.shape[1]), dtype=np.float32)
    np.add.at(sums, labels, rows)
    return list(names), sums


def chunk_node_ids(
    chunks: Sequence[tuple[str, str, str]], graph: KnowledgeGraph
) -> list[str | None]:
    """Node id for each chunk given as (path, kind, qualified_name): its definition's node,
    else its file's node, else None."""
    result: list[str | None] = []
    for path, kind, qualified_name in chunks:
        candidates = []
        if qualified_name and kind not in FILE_LEVEL_KINDS:
            candidates.append(code_entity_id(path, qualified_name))
        candidates.append(code_file_id(path))
        result.append(next((c for c in candidates if c in graph), None))
    return result


# --------------------------------------------------------------------------- backfill


def backfill_graph_only(graph: KnowledgeGraph) -> BackfillReport:
    """Edges the graph can derive from itself: files to their definitions, dreams to code."""
    same_file = graph.link_same_file()
    about = graph.link_dreams_to_code()
    return BackfillReport(
        edges_added={EdgeKind.SAME_FILE.label: same_file, EdgeKind.ABOUT.label: about}
    )


def backfill_from_index(
    graph: KnowledgeGraph,
    index: CodeIndexSource,
    *,
    chunk_keys: Mapping[str, tuple[str, str, str]] | None = None,
    k: int = DEFAULT_SIMILAR_K,
    threshold: float = DEFAULT_SIMILAR_THRESHOLD,
    now: float | None = None,
    similar: bool = True,
) -> BackfillReport:
    """Sync CODE nodes with `index`, then create every edge kind the data supports.

    `chunk_keys` maps a chunk id (as `chunk_vectors` returns it) to (path, kind,
    qualified_name); without it no `similar` edges can be attributed and a note says so.
    `similar=False` leaves out the all-pairs `similar` pass (the slow part) for later.
    """
    sync = graph.sync_code_entities(entity_inputs(index.code_entities()), now=now)
    base = backfill_graph_only(graph)
    added = dict(base.edges_added)
    # The sync already linked new definitions to their files: count those here too.
    added[EdgeKind.SAME_FILE.label] += sync.edges_added
    removed: dict[str, int] = {}
    notes: list[str] = []

    file_paths = [n.path for n in graph.nodes(graph.node_ids(NodeKind.CODE)) if n.detail == "file"]
    resolved, unresolved = dependencies_between(index.file_imports(), file_paths)
    deps_added, deps_removed = graph.set_dependencies(resolved)
    added[EdgeKind.DEPENDS_ON.label] = deps_added
    removed[EdgeKind.DEPENDS_ON.label] = deps_removed

    vectors_used = 0
    if not similar:
        return BackfillReport(
            sync=sync,
            edges_added=added,
            edges_removed=removed,
            unresolved_imports=unresolved,
            notes=("similar edges left for later",),
        )
    chunk_ids, vectors = index.chunk_vectors()
    if len(chunk_ids) and chunk_keys is None:
        notes.append("the index gave vectors without chunk locations; no similar edges made")
    elif len(chunk_ids):
        keys = [chunk_keys.get(c) for c in chunk_ids] if chunk_keys else []
        located = chunk_node_ids([key or ("", "", "") for key in keys], graph)
        owners = [
            node if key is not None else None for node, key in zip(located, keys, strict=True)
        ]
        ids, matrix = node_vectors(owners, vectors)
        vectors_used = len(ids)
        added[EdgeKind.SIMILAR.label] = graph.backfill_similar(
            ids, matrix, k=k, threshold=threshold
        )
    return BackfillReport(
        sync=sync,
        edges_added=added,
        edges_removed=removed,
        unresolved_imports=unresolved,
        vectors_used=vectors_used,
        notes=tuple(notes),
    )


def chunk_locations(index: object) -> dict[str, tuple[str, str, str]] | None:
    """Chunk id -> (path, kind, qualified_name) from whatever the index store offers.

    Uses `chunk_locations()` if the store has it, else iterates `chunks()`; None when the
    store offers neither (then `backfill_from_index` makes no `similar` edges and says so).
    """
    direct = getattr(index, "chunk_locations", None)
    if callable(direct):
        return dict(direct())
    listing = getattr(index, "chunks", None)
    if callable(listing):
        return {
            str(chunk.id): (str(chunk.path), str(chunk.kind), str(chunk.qualified_name))
            for chunk in listing()
        }
    return None


# --------------------------------------------------------------------------- live edits


ChunkKey = tuple[str, str, str]


class ChangedCodeSource(Protocol):
    """What a live edit's graph sync needs from the index: per-path reads and vector search."""

    def chunks_for_path(self, path: str) -> Sequence[EntityLike]: ...

    def file_imports(self) -> Mapping[str, Sequence[str]]: ...

    def path_vectors(self, paths: Sequence[str]) -> tuple[list[ChunkKey], npt.NDArray[Any]]: ...

    def nearest_locations(
        self, vector: npt.NDArray[np.float32], k: int
    ) -> list[tuple[ChunkKey, float]]: ...


def sync_changed_paths(
    graph: KnowledgeGraph,
    index: ChangedCodeSource,
    paths: Iterable[str],
    *,
    k: int = DEFAULT_SIMILAR_K,
    threshold: float = DEFAULT_SIMILAR_THRESHOLD,
    now: float | None = None,
) -> BackfillReport:
    """Re-sync only the CODE nodes and edges of `paths` after a live edit.

    Work is proportional to the edited files, not the codebase: their chunks are read by
    path, their definitions' `similar` neighbours come from the index's vector search
    (k nearest chunks each) instead of the all-pairs pass of `backfill_from_index`, and
    only `depends_on` edges are recomputed whole (one pass over the import table).
    A definition that survives an edit keeps its earlier `similar` edges; the next full
    backfill (`graph backfill`, or a cold index) prunes any that went stale.
    """
    changed = sorted(set(paths))
    entities: list[CodeEntityInput] = []
    for path in changed:
        chunks = index.chunks_for_path(path)
        if not chunks:
            continue  # deleted or now skipped: its nodes go
        entities.append(
            CodeEntityInput(
                path=path,
                kind="file",
                qualified_name=path,
                start_line=1,
                end_line=max(int(c.end_line) for c in chunks),
            )
        )
        entities.extend(entity_inputs(chunks))
    sync = graph.sync_code_entities(entities, now=now, only_paths=changed)
    added: dict[str, int] = {EdgeKind.SAME_FILE.label: sync.edges_added}
    added[EdgeKind.ABOUT.label] = graph.link_dreams_to_code()

    imports = index.file_imports()
    mentioned = set(imports).union(*imports.values()) if imports else set()
    files = [p for p in mentioned if code_file_id(p) in graph]
    resolved, unresolved = dependencies_between(imports, files)
    deps_added, deps_removed = graph.set_dependencies(resolved)
    added[EdgeKind.DEPENDS_ON.label] = deps_added

    keys, vectors = index.path_vectors(changed)
    ids, matrix = node_vectors(chunk_node_ids(keys, graph), vectors)
    sources: list[str] = []
    targets: list[str] = []
    weights: list[float] = []
    for node_id, vector in zip(ids, matrix, strict=True):
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            continue
        hits = index.nearest_locations((vector / norm).astype(np.float32), k * 3 + 1)
        owners = chunk_node_ids([key for key, _ in hits], graph)
        best: dict[str, float] = {}
        for owner, (_key, similarity) in zip(owners, hits, strict=True):
            if owner is None or owner == node_id or similarity < threshold:
                continue
            best[owner] = max(best.get(owner, 0.0), similarity)
        for owner, similarity in sorted(best.items(), key=lambda kv: -kv[1])[:k]:
            low, high = sorted((node_id, owner))
            sources.append(low)
            targets.append(high)
            weights.append(similarity)
    added[EdgeKind.SIMILAR.label] = graph.add_edges(
        sources, targets, EdgeKind.SIMILAR, np.asarray(weights, dtype=np.float64)
    )
    return BackfillReport(
        sync=sync,
        edges_added=added,
        edges_removed={EdgeKind.DEPENDS_ON.label: deps_removed},
        unresolved_imports=unresolved,
        vectors_used=len(ids),
    )
