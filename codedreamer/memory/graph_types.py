"""Values that cross the knowledge graph's boundary: node and edge kinds, ids, views, reports.

The graph itself keeps its state in columns (see `graph.py`); callers only ever see these
small immutable records, keyed by stable string ids that survive removals and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class NodeKind(IntEnum):
    """What a node stands for. The integer value is its code in the `kind` column."""

    CODE = 0
    DREAM = 1
    CONCEPT = 2
    FACT = 3

    @property
    def label(self) -> str:
        return self.name


class EdgeKind(IntEnum):
    """Typed relations; the integer value is the code in the edges' `kind` column."""

    ABOUT = 0
    REFINES = 1
    SAME_FILE = 2
    SIMILAR = 3
    DEPENDS_ON = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def symmetric(self) -> bool:
        """A symmetric relation is stored once per unordered pair, in either direction."""
        return self is EdgeKind.SIMILAR


class Tier(StrEnum):
    HOT = "HOT"
    WARM = "WARM"
    COLD = "COLD"


NODE_KIND_BY_LABEL: dict[str, NodeKind] = {kind.label: kind for kind in NodeKind}
EDGE_KIND_BY_LABEL: dict[str, EdgeKind] = {kind.label: kind for kind in EdgeKind}

# Default weights for structural edges; `similar` edges carry their cosine similarity.
DEFAULT_EDGE_WEIGHT: dict[EdgeKind, float] = {
    EdgeKind.ABOUT: 1.0,
    EdgeKind.REFINES: 1.0,
    EdgeKind.SAME_FILE: 0.5,
    EdgeKind.SIMILAR: 0.8,
    EdgeKind.DEPENDS_ON: 0.7,
}

# Where a new node starts. Code synced from the index starts WARM so the graph jump can
# reach code nobody has dreamed about yet; everything created by a dream starts HOT.
INITIAL_MOMENTUM: dict[NodeKind, float] = {
    NodeKind.CODE: 0.5,
    NodeKind.DREAM: 1.0,
    NodeKind.CONCEPT: 1.0,
    NodeKind.FACT: 1.0,
}

# Entity kinds that stand for a whole file rather than a definition inside it.
FILE_LEVEL_KINDS = frozenset({"file", "module"})


def code_file_id(path: str) -> str:
    """Stable id of the CODE node for a file (path relative to the codebase root)."""
    return f"code:{path}"


def code_entity_id(path: str, qualified_name: str) -> str:
    """Stable id of the CODE node for a class/function/method inside a file."""
    return f"code:{path}::{qualified_name}"


def dream_node_id(dream_id: str) -> str:
    return f"dream:{dream_id}"


def concept_node_id(name: str) -> str:
    """One node per concept name, whatever its case or spacing, so concepts never duplicate."""
    return "concept:" + " ".join(name.lower().split())


def fact_node_id(text: str) -> str:
    """Facts are keyed by their normalised text, so restating a fact reuses its node."""
    import hashlib

    digest = hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]
    return f"fact:{digest}"


@dataclass(frozen=True)
class CodeEntityInput:
    """One definition as the code index reports it (the graph's own copy of the shape)."""

    path: str
    kind: str
    qualified_name: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class NodeInput:
    """A node to create or update; `momentum` None means the kind's initial momentum."""

    id: str
    kind: NodeKind
    label: str = ""
    detail: str = ""
    path: str = ""
    start_line: int = 0
    end_line: int = 0
    momentum: float | None = None


@dataclass(frozen=True)
class GraphNode:
    """A read-only view of one node at a moment in time."""

    id: str
    kind: NodeKind
    label: str
    detail: str
    path: str
    start_line: int
    end_line: int
    momentum: float
    tier: Tier
    entanglement: float
    created: float
    last_access: float


@dataclass(frozen=True)
class GraphEdge:
    src: str
    dst: str
    kind: EdgeKind
    weight: float


@dataclass(frozen=True)
class GraphStats:
    nodes: int
    edges: int
    nodes_by_kind: dict[str, int]
    nodes_by_tier: dict[str, int]
    edges_by_kind: dict[str, int]
    mean_momentum: float
    mean_entanglement: float


@dataclass(frozen=True)
class SyncReport:
    """What `sync_code_entities` changed."""

    added: int = 0
    removed: int = 0
    updated: int = 0
    edges_added: int = 0


@dataclass(frozen=True)
class BackfillReport:
    """Edges created by `graph backfill`, by kind, and what could not be linked.

    `unresolved_imports` counts imported files (as the index resolved them) that have no
    CODE node in the graph.
    """

    sync: SyncReport | None = None
    edges_added: dict[str, int] = field(default_factory=dict)
    edges_removed: dict[str, int] = field(default_factory=dict)
    unresolved_imports: int = 0
    vectors_used: int = 0
    notes: tuple[str, ...] = ()
