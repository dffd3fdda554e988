"""The knowledge graph: a rustworkx digraph plus columnar node and edge attributes.

rustworkx holds the structure (who links to whom); every attribute lives in numpy columns
indexed by the rustworkx node or edge index, so decay, tiers, entanglement and persistence
are single vectorised expressions instead of per-node Python loops. rustworkx reuses the
indices of removed nodes and edges, so nothing outside this module ever sees an index:
callers use stable string ids (see `graph_types`), mapped to indices by `_slot_of`.

Edges are typed. Two nodes may be linked by several kinds at once (a function can be in
the same file as another *and* similar to it), but never twice by the same kind: every add
is an upsert that updates the weight of an existing edge. `similar` is symmetric and is
stored once per unordered pair.

All public methods take the graph's lock, so the engine thread and a UI thread may share
one instance.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import rustworkx as rx

from codedreamer.memory import momentum as mm
from codedreamer.memory.entanglement import entanglement as entanglement_of
from codedreamer.memory.graph_types import (
    DEFAULT_EDGE_WEIGHT,
    FILE_LEVEL_KINDS,
    INITIAL_MOMENTUM,
    CodeEntityInput,
    EdgeKind,
    GraphEdge,
    GraphNode,
    GraphStats,
    NodeInput,
    NodeKind,
    SyncReport,
    code_entity_id,
    code_file_id,
    dream_node_id,
)
from codedreamer.memory.similarity import top_k_pairs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]

EDGE_KIND_COUNT = len(EdgeKind)
# Below this many edges per call, look duplicates up through rustworkx (O(degree));
# above it, one vectorised pass over all edges is cheaper than many Python calls.
SMALL_BATCH = 32


@dataclass(frozen=True)
class GraphColumns:
    """The whole graph as compact rows: what persistence writes and reads.

    Edge endpoints are row numbers into the node columns.
    """

    ids: ObjArray
    kind: npt.NDArray[np.int8]
    label: ObjArray
    detail: ObjArray
    path: ObjArray
    start_line: npt.NDArray[np.int32]
    end_line: npt.NDArray[np.int32]
    momentum: FloatArray
    last_decay: FloatArray
    created: FloatArray
    last_access: FloatArray
    edge_src: IntArray
    edge_dst: IntArray
    edge_kind: npt.NDArray[np.int8]
    edge_weight: FloatArray


class DuplicateIdError(ValueError):
    """Two nodes given to `from_columns` share an id."""

    def __init__(self, node_id: str) -> None:
        super().__init__(f"duplicate node id {node_id!r}")
        self.node_id = node_id


@dataclass(frozen=True)
class DreamLinks:
    """What `add_dream` linked: the dream's node id and the requested ids it could not find."""

    node_id: str
    edges_added: int
    missing: tuple[str, ...]


ScalarT = TypeVar("ScalarT", bound=np.generic)


def _grown(array: npt.NDArray[ScalarT], size: int, fill: object) -> npt.NDArray[ScalarT]:
    bigger: npt.NDArray[ScalarT] = np.full(size, fill, dtype=array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


class KnowledgeGraph:
    """Nodes (CODE, DREAM, CONCEPT, FACT) with momentum, linked by typed weighted edges."""

    def __init__(
        self,
        *,
        half_life_sec: float = mm.DEFAULT_HALF_LIFE_SEC,
        activation_boost: float = mm.DEFAULT_ACTIVATION_BOOST,
    ) -> None:
        mm.decay_rate(half_life_sec)  # validates
        if not 0.0 <= activation_boost <= 1.0:
            raise ValueError(f"activation boost must be in [0, 1] (got {activation_boost!r})")
        self.half_life_sec = half_life_sec
        self.activation_boost = activation_boost
        self.snapshot_token: str | None = None
        """Token of the saved files this graph was loaded from (None: never saved)."""
        self._lock = threading.RLock()
        self._graph = rx.PyDiGraph(multigraph=True)
        self._slot_of: dict[str, int] = {}
        self._alloc_nodes(0)
        self._alloc_edges(0)
        self._edges_version = 0
        self._entanglement_cache: tuple[int, FloatArray] | None = None

    # ----------------------------------------------------------------- storage columns

    def _alloc_nodes(self, capacity: int) -> None:
        self._ids: ObjArray = np.full(capacity, None, dtype=object)
        self._label: ObjArray = np.full(capacity, "", dtype=object)
        self._detail: ObjArray = np.full(capacity, "", dtype=object)
        self._path: ObjArray = np.full(capacity, "", dtype=object)
        self._kind: npt.NDArray[np.int8] = np.zeros(capacity, dtype=np.int8)
        self._start: npt.NDArray[np.int32] = np.zeros(capacity, dtype=np.int32)
        self._end: npt.NDArray[np.int32] = np.zeros(capacity, dtype=np.int32)
        self._momentum: FloatArray = np.zeros(capacity, dtype=np.float64)
        self._last_decay: FloatArray = np.zeros(capacity, dtype=np.float64)
        self._created: FloatArray = np.zeros(capacity, dtype=np.float64)
        self._last_access: FloatArray = np.zeros(capacity, dtype=np.float64)
        self._alive: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)

    def _alloc_edges(self, capacity: int) -> None:
        self._e_src: IntArray = np.zeros(capacity, dtype=np.int64)
        self._e_dst: IntArray = np.zeros(capacity, dtype=np.int64)
        self._e_kind: npt.NDArray[np.int8] = np.zeros(capacity, dtype=np.int8)
        self._e_weight: FloatArray = np.zeros(capacity, dtype=np.float64)
        self._e_alive: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)

    def _ensure_node_capacity(self, needed: int) -> None:
        capacity = self._alive.shape[0]
        if needed <= capacity:
            return
        size = max(needed, 2 * capacity, 64)
        self._ids = _grown(self._ids, size, None)
        self._label = _grown(self._label, size, "")
        self._detail = _grown(self._detail, size, "")
        self._path = _grown(self._path, size, "")
        self._kind = _grown(self._kind, size, 0)
        self._start = _grown(self._start, size, 0)
        self._end = _grown(self._end, size, 0)
        self._momentum = _grown(self._momentum, size, 0.0)
        self._last_decay = _grown(self._last_decay, size, 0.0)
        self._created = _grown(self._created, size, 0.0)
        self._last_access = _grown(self._last_access, size, 0.0)
        self._alive = _grown(self._alive, size, False)

    def _ensure_edge_capacity(self, needed: int) -> None:
        capacity = self._e_alive.shape[0]
        if needed <= capacity:
            return
        size = max(needed, 2 * capacity, 64)
        self._e_src = _grown(self._e_src, size, 0)
        self._e_dst = _grown(self._e_dst, size, 0)
        self._e_kind = _grown(self._e_kind, size, 0)
        self._e_weight = _grown(self._e_weight, size, 0.0)
        self._e_alive = _grown(self._e_alive, size, False)

    def _edges_changed(self) -> None:
        self._edges_version += 1
        self._entanglement_cache = None

    # ----------------------------------------------------------------- sizes and lookups

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._slot_of

    @property
    def edge_count(self) -> int:
        return int(self._graph.num_edges())

    def node_ids(self, kind: NodeKind | None = None) -> list[str]:
        with self._lock:
            slots = self._live_slots(kind)
            return [str(value) for value in self._ids[slots]]

    def _live_slots(self, kind: NodeKind | None = None) -> IntArray:
        mask = self._alive if kind is None else self._alive & (self._kind == int(kind))
        return np.flatnonzero(mask).astype(np.int64)

    def _live_edges(self) -> IntArray:
        return np.flatnonzero(self._e_alive).astype(np.int64)

    def _slots_for(self, ids: Iterable[str]) -> IntArray:
        slot_of = self._slot_of
        try:
            return np.fromiter((slot_of[node_id] for node_id in ids), dtype=np.int64)
        except KeyError as exc:
            raise KeyError(f"no graph node with id {exc.args[0]!r}") from None

    # ----------------------------------------------------------------- nodes

    def upsert_node(self, node: NodeInput, *, now: float | None = None) -> str:
        """Create `node`, or update its descriptive fields if its id exists; return its id."""
        self.upsert_nodes([node], now=now)
        return node.id

    def upsert_nodes(self, nodes: Sequence[NodeInput], *, now: float | None = None) -> int:
        """Create or update many nodes at once; return how many were created.

        An existing node keeps its momentum unless the input names one explicitly.
        """
        now = time.time() if now is None else now
        with self._lock:
            for node in nodes:  # validate everything first: a bad input changes nothing
                _check_node(node)
                slot = self._slot_of.get(node.id)
                if slot is not None and int(self._kind[slot]) != int(node.kind):
                    existing = NodeKind(int(self._kind[slot])).label
                    raise ValueError(
                        f"node {node.id!r} exists as {existing}, not {node.kind.label}"
                    )
            fresh: list[NodeInput] = []
            seen: set[str] = set()
            for node in nodes:
                slot = self._slot_of.get(node.id)
                if slot is None:
                    if node.id not in seen:
                        fresh.append(node)
                        seen.add(node.id)
                    continue
                self._write_node(slot, node, now, created=False)
            if fresh:
                slots = self._graph.add_nodes_from([node.id for node in fresh])
                self._ensure_node_capacity(max(slots) + 1)
                for slot, node in zip(slots, fresh, strict=True):
                    self._slot_of[node.id] = slot
                    self._write_node(slot, node, now, created=True)
            return len(fresh)

    def _write_node(self, slot: int, node: NodeInput, now: float, *, created: bool) -> None:
        self._ids[slot] = node.id
        self._kind[slot] = int(node.kind)
        self._label[slot] = node.label
        self._detail[slot] = node.detail
        self._path[slot] = node.path
        self._start[slot] = node.start_line
        self._end[slot] = node.end_line
        if created:
            self._alive[slot] = True
            self._created[slot] = now
            self._last_access[slot] = now
            self._last_decay[slot] = now
            self._momentum[slot] = (
                INITIAL_MOMENTUM[node.kind] if node.momentum is None else node.momentum
            )
        elif node.momentum is not None:
            self._momentum[slot] = node.momentum
            self._last_decay[slot] = now

    def remove_nodes(self, ids: Iterable[str]) -> int:
        """Remove nodes and every edge touching them; unknown ids are ignored."""
        with self._lock:
            slots = np.fromiter(
                (self._slot_of[i] for i in ids if i in self._slot_of), dtype=np.int64
            )
            return self._remove_slots(np.unique(slots))

    def _remove_slots(self, slots: IntArray) -> int:
        if slots.size == 0:
            return 0
        doomed = np.zeros(self._alive.shape[0], dtype=bool)
        doomed[slots] = True
        edges = self._live_edges()
        touching = edges[doomed[self._e_src[edges]] | doomed[self._e_dst[edges]]]
        # rustworkx drops the incident edges itself; mirror that in the edge columns.
        self._e_alive[touching] = False
        self._graph.remove_nodes_from(slots.tolist())
        for node_id in self._ids[slots]:
            del self._slot_of[str(node_id)]
        self._ids[slots] = None
        self._label[slots] = ""
        self._detail[slots] = ""
        self._path[slots] = ""
        self._alive[slots] = False
        if touching.size:
            self._edges_changed()
        return int(slots.size)

    def node(self, node_id: str, *, now: float | None = None) -> GraphNode | None:
        """The node's view with momentum as of `now`; None if there is no such node."""
        with self._lock:
            slot = self._slot_of.get(node_id)
            if slot is None:
                return None
            return self._views(np.array([slot], dtype=np.int64), now)[0]

    def nodes(self, ids: Iterable[str], *, now: float | None = None) -> list[GraphNode]:
        """Views of the known ids among `ids`, in the given order."""
        with self._lock:
            slots = [self._slot_of[i] for i in ids if i in self._slot_of]
            return self._views(np.asarray(slots, dtype=np.int64), now)

    def _views(self, slots: IntArray, now: float | None) -> list[GraphNode]:
        now = time.time() if now is None else now
        current = mm.decayed(
            self._momentum[slots], self._last_decay[slots], now, self.half_life_sec
        )
        ent = self._entanglement()[slots]
        return [
            GraphNode(
                id=str(self._ids[slot]),
                kind=NodeKind(int(self._kind[slot])),
                label=str(self._label[slot]),
                detail=str(self._detail[slot]),
                path=str(self._path[slot]),
                start_line=int(self._start[slot]),
                end_line=int(self._end[slot]),
                momentum=float(m),
                tier=mm.tier_of(float(m)),
                entanglement=float(e),
                created=float(self._created[slot]),
                last_access=float(self._last_access[slot]),
            )
            for slot, m, e in zip(slots.tolist(), current, ent, strict=True)
        ]

    # ----------------------------------------------------------------- edges

    def add_edge(
        self, src_id: str, dst_id: str, kind: EdgeKind, weight: float | None = None
    ) -> bool:
        """Link two nodes; True if a new edge was made, False if an existing one was updated."""
        return self.add_edges([src_id], [dst_id], kind, None if weight is None else [weight]) == 1

    def add_edges(
        self,
        src_ids: Sequence[str],
        dst_ids: Sequence[str],
        kind: EdgeKind,
        weights: Sequence[float] | npt.ArrayLike | None = None,
    ) -> int:
        """Upsert edges of one kind; return how many were new. Self-loops are skipped."""
        with self._lock:
            src = self._slots_for(src_ids)
            dst = self._slots_for(dst_ids)
            if src.shape != dst.shape:
                raise ValueError(f"{src.size} sources but {dst.size} destinations")
            if weights is None:
                weight = np.full(src.size, DEFAULT_EDGE_WEIGHT[kind], dtype=np.float64)
            else:
                weight = np.asarray(weights, dtype=np.float64)
                if weight.shape != src.shape or not np.all(np.isfinite(weight)):
                    raise ValueError("edge weights must be finite, one per edge")
                weight = np.clip(weight, 0.0, 1.0)
            return self._add_edge_slots(src, dst, kind, weight)

    def _pair_keys(self, src: IntArray, dst: IntArray, kind: npt.NDArray[np.int64]) -> IntArray:
        size = np.int64(max(1, self._alive.shape[0]))
        symmetric = kind == int(EdgeKind.SIMILAR)
        a = np.where(symmetric, np.minimum(src, dst), src)
        b = np.where(symmetric, np.maximum(src, dst), dst)
        keys: IntArray = (a * size + b) * EDGE_KIND_COUNT + kind
        return keys

    def _find_edge(self, src: int, dst: int, kind: EdgeKind) -> int:
        """Index of the edge src->dst of `kind` (either direction if symmetric), else -1."""
        pairs = [(src, dst), (dst, src)] if kind.symmetric else [(src, dst)]
        for a, b in pairs:
            for index in self._graph.edge_indices_from_endpoints(a, b):
                if int(self._e_kind[index]) == int(kind):
                    return int(index)
        return -1

    def _add_edge_slots(
        self, src: IntArray, dst: IntArray, kind: EdgeKind, weight: FloatArray
    ) -> int:
        keep = src != dst
        src, dst, weight = src[keep], dst[keep], weight[keep]
        if src.size == 0:
            return 0
        kinds = np.full(src.size, int(kind), dtype=np.int64)
        keys = self._pair_keys(src, dst, kinds)
        # Within the batch the last weight for a pair wins, as repeated single adds would.
        _, last = np.unique(keys[::-1], return_index=True)
        pick = np.sort(src.size - 1 - last)
        src, dst, weight, keys = src[pick], dst[pick], weight[pick], keys[pick]

        existing = np.full(src.size, -1, dtype=np.int64)
        if src.size <= SMALL_BATCH:
            for i, (a, b) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)):
                existing[i] = self._find_edge(a, b, kind)
        else:
            live = self._live_edges()
            if live.size:
                live_keys = self._pair_keys(
                    self._e_src[live], self._e_dst[live], self._e_kind[live].astype(np.int64)
                )
                order = np.argsort(live_keys)
                ordered = live_keys[order]
                pos = np.minimum(np.searchsorted(ordered, keys), ordered.size - 1)
                hit = ordered[pos] == keys
                existing[hit] = live[order[pos[hit]]]

        found = existing >= 0
        self._e_weight[existing[found]] = weight[found]
        new = ~found
        created = int(np.count_nonzero(new))
        if created:
            pairs = list(zip(src[new].tolist(), dst[new].tolist(), strict=True))
            index = np.asarray(self._graph.add_edges_from_no_data(pairs), dtype=np.int64)
            self._ensure_edge_capacity(int(index.max()) + 1)
            self._e_src[index] = src[new]
            self._e_dst[index] = dst[new]
            self._e_kind[index] = int(kind)
            self._e_weight[index] = weight[new]
            self._e_alive[index] = True
        if created or np.any(found):
            self._edges_changed()
        return created

    def remove_edges(self, kind: EdgeKind, src_ids: Iterable[str] | None = None) -> int:
        """Remove every edge of `kind` (only those leaving `src_ids`, if given); return count."""
        with self._lock:
            live = self._live_edges()
            mask = self._e_kind[live] == int(kind)
            if src_ids is not None:
                sources = np.zeros(self._alive.shape[0], dtype=bool)
                sources[self._slots_for(i for i in src_ids if i in self._slot_of)] = True
                mask &= sources[self._e_src[live]]
            return self._remove_edge_indices(live[mask])

    def _remove_edge_indices(self, indices: IntArray) -> int:
        for index in indices.tolist():
            self._graph.remove_edge_from_index(index)
        self._e_alive[indices] = False
        if indices.size:
            self._edges_changed()
        return int(indices.size)

    def edges(self, node_id: str) -> list[GraphEdge]:
        """Every edge touching `node_id`, in either direction (empty for an unknown id)."""
        with self._lock:
            slot = self._slot_of.get(node_id)
            if slot is None:
                return []
            indices = list(self._graph.out_edge_indices(slot)) + list(
                self._graph.in_edge_indices(slot)
            )
            return self._edge_views(np.asarray(indices, dtype=np.int64))

    def edges_among(self, ids: Iterable[str]) -> list[GraphEdge]:
        """Edges whose two ends are both in `ids` (what a graph pane draws)."""
        with self._lock:
            inside = np.zeros(self._alive.shape[0], dtype=bool)
            inside[[self._slot_of[i] for i in ids if i in self._slot_of]] = True
            live = self._live_edges()
            chosen = live[inside[self._e_src[live]] & inside[self._e_dst[live]]]
            return self._edge_views(chosen)

    def _edge_views(self, indices: IntArray) -> list[GraphEdge]:
        return [
            GraphEdge(
                src=str(self._ids[self._e_src[i]]),
                dst=str(self._ids[self._e_dst[i]]),
                kind=EdgeKind(int(self._e_kind[i])),
                weight=float(self._e_weight[i]),
            )
            for i in indices.tolist()
        ]

    # ----------------------------------------------------------------- momentum

    def momentum_now(self, now: float | None = None) -> tuple[IntArray, FloatArray]:
        """(slots, momentum as of `now`) for every live node, without changing anything."""
        now = time.time() if now is None else now
        with self._lock:
            slots = self._live_slots()
            return slots, mm.decayed(
                self._momentum[slots], self._last_decay[slots], now, self.half_life_sec
            )

    def decay(self, now: float | None = None) -> int:
        """Apply decay up to `now` to every node and return how many nodes there are.

        Each node decays by exp(-λ·(now − its last decay)) and remembers `now`, so any
        schedule of decays gives the same momentum as one decay over the whole span.
        """
        now = time.time() if now is None else now
        with self._lock:
            slots, current = self.momentum_now(now)
            self._momentum[slots] = current
            self._last_decay[slots] = np.maximum(self._last_decay[slots], now)
            return int(slots.size)

    def activate(self, ids: Iterable[str], *, now: float | None = None) -> int:
        """Mark nodes as used (in a prompt, or by a new dream); return how many were found."""
        now = time.time() if now is None else now
        with self._lock:
            found = [self._slot_of[i] for i in ids if i in self._slot_of]
            slots = np.unique(np.asarray(found, dtype=np.int64))
            if slots.size == 0:
                return 0
            # Bring each node up to `now` first so the boost applies to its current value.
            current = mm.decayed(
                self._momentum[slots], self._last_decay[slots], now, self.half_life_sec
            )
            self._momentum[slots] = mm.activated(current, self.activation_boost)
            self._last_decay[slots] = np.maximum(self._last_decay[slots], now)
            self._last_access[slots] = now
            return int(slots.size)

    def hot(
        self, n: int, *, now: float | None = None, kinds: Iterable[NodeKind] | None = None
    ) -> list[GraphNode]:
        """The `n` nodes with the highest momentum as of `now`, highest first."""
        with self._lock:
            slots, current = self.momentum_now(now)
            slots, current = self._filter_kinds(slots, current, kinds)
            return self._views(slots[_top(current, n)], now)

    def entangled(
        self, n: int, *, now: float | None = None, kinds: Iterable[NodeKind] | None = None
    ) -> list[GraphNode]:
        """The `n` most entangled nodes, most entangled first."""
        with self._lock:
            slots = self._live_slots()
            scores = self._entanglement()[slots]
            slots, scores = self._filter_kinds(slots, scores, kinds)
            return self._views(slots[_top(scores, n)], now)

    def random_warm_node(
        self,
        rng: random.Random,
        *,
        kinds: Iterable[NodeKind] | None = None,
        now: float | None = None,
    ) -> GraphNode | None:
        """A uniformly random node that is not COLD (for the graph jump); None if none is."""
        with self._lock:
            slots, current = self.momentum_now(now)
            slots, current = self._filter_kinds(slots, current, kinds)
            warm = slots[current >= mm.WARM_THRESHOLD]
            if warm.size == 0:
                return None
            chosen = int(warm[rng.randrange(warm.size)])
            return self._views(np.array([chosen], dtype=np.int64), now)[0]

    def _filter_kinds(
        self, slots: IntArray, values: FloatArray, kinds: Iterable[NodeKind] | None
    ) -> tuple[IntArray, FloatArray]:
        if kinds is None:
            return slots, values
        wanted = np.isin(self._kind[slots], [int(k) for k in kinds])
        return slots[wanted], values[wanted]

    def prune(
        self,
        threshold: float = mm.WARM_THRESHOLD,
        *,
        now: float | None = None,
        include_code: bool = False,
    ) -> int:
        """Decay to `now`, then remove nodes below `threshold` with their edges; return count.

        CODE nodes mirror the index and are removed when their code disappears, so they are
        kept unless `include_code` (a later sync would only recreate them).
        """
        with self._lock:
            self.decay(now)
            slots = self._live_slots()
            cold = slots[self._momentum[slots] < threshold]
            if not include_code:
                cold = cold[self._kind[cold] != int(NodeKind.CODE)]
            return self._remove_slots(cold)

    # ----------------------------------------------------------------- entanglement

    def _entanglement(self) -> FloatArray:
        cache = self._entanglement_cache
        # New nodes grow the columns without touching edges: the size is part of the key.
        if (
            cache is not None
            and cache[0] == self._edges_version
            and cache[1].shape[0] == self._alive.shape[0]
        ):
            return cache[1]
        live = self._live_edges()
        values = entanglement_of(
            self._e_src[live], self._e_dst[live], self._e_weight[live], self._alive.shape[0]
        )
        self._entanglement_cache = (self._edges_version, values)
        return values

    def entanglement(self) -> dict[str, float]:
        """Entanglement of every node by id (for callers that want all of them)."""
        with self._lock:
            slots = self._live_slots()
            values = self._entanglement()[slots]
            return dict(zip((str(i) for i in self._ids[slots]), values.tolist(), strict=True))

    def compute_entanglement(self) -> FloatArray:
        """Recompute entanglement for every slot (bypassing the cache); used by the benchmark."""
        with self._lock:
            self._entanglement_cache = None
            return self._entanglement()

    # ----------------------------------------------------------------- statistics

    def stats(self, *, now: float | None = None) -> GraphStats:
        with self._lock:
            slots, current = self.momentum_now(now)
            kinds = np.bincount(self._kind[slots], minlength=len(NodeKind))
            tiers = np.bincount(mm.tier_codes(current), minlength=3)
            live = self._live_edges()
            edge_kinds = np.bincount(self._e_kind[live], minlength=EDGE_KIND_COUNT)
            ent = self._entanglement()[slots]
            return GraphStats(
                nodes=int(slots.size),
                edges=int(live.size),
                nodes_by_kind={k.label: int(kinds[k]) for k in NodeKind},
                nodes_by_tier={t.value: int(tiers[i]) for i, t in enumerate(mm.TIER_CODES)},
                edges_by_kind={k.label: int(edge_kinds[k]) for k in EdgeKind},
                mean_momentum=float(current.mean()) if slots.size else 0.0,
                mean_entanglement=float(ent.mean()) if slots.size else 0.0,
            )

    # ----------------------------------------------------------------- dreams and code

    def add_dream(
        self,
        dream_id: str,
        *,
        about: Sequence[str] = (),
        parent_dream_id: str | None = None,
        label: str = "",
        detail: str = "",
        path: str = "",
        start_line: int = 0,
        end_line: int = 0,
        now: float | None = None,
    ) -> DreamLinks:
        """Add a DREAM node linked `about` the given node ids and `refines` its parent dream.

        Every node it links to is activated: being referenced by a new dream is a use.
        Ids that are not in the graph are skipped and reported in `missing`.
        """
        now = time.time() if now is None else now
        node_id = dream_node_id(dream_id)
        with self._lock:
            self.upsert_node(
                NodeInput(
                    id=node_id,
                    kind=NodeKind.DREAM,
                    label=label,
                    detail=detail,
                    path=path,
                    start_line=start_line,
                    end_line=end_line,
                ),
                now=now,
            )
            targets = [i for i in dict.fromkeys(about) if i in self._slot_of and i != node_id]
            missing = [i for i in dict.fromkeys(about) if i not in self._slot_of]
            added = self.add_edges([node_id] * len(targets), targets, EdgeKind.ABOUT)
            linked = list(targets)
            if parent_dream_id is not None:
                parent = dream_node_id(parent_dream_id)
                if parent in self._slot_of and parent != node_id:
                    added += self.add_edges([node_id], [parent], EdgeKind.REFINES)
                    linked.append(parent)
                else:
                    missing.append(parent)
            self.activate(linked, now=now)
            return DreamLinks(node_id=node_id, edges_added=added, missing=tuple(missing))

    def sync_code_entities(
        self,
        entities: Iterable[CodeEntityInput],
        *,
        now: float | None = None,
        only_paths: Collection[str] | None = None,
    ) -> SyncReport:
        """Make the CODE nodes match the index: add new code, drop vanished code, link files.

        Every file gets a node and each definition in it a node with a `same_file` edge to
        its file's node. CODE nodes whose code is no longer reported are removed with
        their edges. Existing nodes keep their momentum; their line ranges are refreshed.
        With `only_paths` (a live edit), `entities` are those of these files only and
        nothing outside them is touched.
        """
        wanted: dict[str, NodeInput] = {}
        file_of: dict[str, str] = {}
        for entity in entities:
            file_id = code_file_id(entity.path)
            if file_id not in wanted:
                wanted[file_id] = NodeInput(
                    id=file_id,
                    kind=NodeKind.CODE,
                    label=entity.path,
                    detail="file",
                    path=entity.path,
                )
            if entity.kind in FILE_LEVEL_KINDS or not entity.qualified_name:
                continue
            entity_id = code_entity_id(entity.path, entity.qualified_name)
            previous = wanted.get(entity_id)
            start, end = entity.start_line, entity.end_line
            if previous is not None:  # one definition split over chunks: span them all
                start, end = min(start, previous.start_line), max(end, previous.end_line)
            wanted[entity_id] = NodeInput(
                id=entity_id,
                kind=NodeKind.CODE,
                label=entity.qualified_name,
                detail=entity.kind,
                path=entity.path,
                start_line=start,
                end_line=end,
            )
            file_of[entity_id] = file_id
        with self._lock:
            if only_paths is None:
                existing = set(self.node_ids(NodeKind.CODE))
            else:
                slots = self._live_slots(NodeKind.CODE)
                in_scope = np.isin(self._path[slots].astype(str), list(only_paths))
                existing = {str(i) for i in self._ids[slots[in_scope]]}
            removed = self.remove_nodes(existing.difference(wanted))
            updated = sum(1 for node_id in wanted if node_id in existing)
            added = self.upsert_nodes(list(wanted.values()), now=now)
            edges = self.add_edges(list(file_of), list(file_of.values()), EdgeKind.SAME_FILE)
            return SyncReport(added=added, removed=removed, updated=updated, edges_added=edges)

    def link_same_file(self) -> int:
        """`same_file` edges from every CODE definition to its file's node (created if absent)."""
        with self._lock:
            slots = self._live_slots(NodeKind.CODE)
            defs = slots[self._detail[slots] != "file"]
            sources = [str(i) for i in self._ids[defs]]
            paths = [str(p) for p in self._path[defs]]
            files = [code_file_id(p) for p in paths]
            self.upsert_nodes(
                [
                    NodeInput(id=f, kind=NodeKind.CODE, label=p, detail="file", path=p)
                    for f, p in dict(zip(files, paths, strict=True)).items()
                    if f not in self._slot_of
                ]
            )
            return self.add_edges(sources, files, EdgeKind.SAME_FILE)

    def link_dreams_to_code(self) -> int:
        """`about` edges from DREAM nodes to the CODE they point at (path and line range).

        A dream is linked to every definition in its file whose lines overlap its own, or
        to the file's node when none does (or when it has no line range).
        """
        with self._lock:
            code = self._live_slots(NodeKind.CODE)
            by_path: dict[str, list[int]] = {}
            for slot, path in zip(code.tolist(), self._path[code].tolist(), strict=True):
                by_path.setdefault(str(path), []).append(slot)
            sources: list[str] = []
            targets: list[str] = []
            for slot in self._live_slots(NodeKind.DREAM).tolist():
                candidates = by_path.get(str(self._path[slot]), [])
                start, end = int(self._start[slot]), int(self._end[slot])
                hits = [
                    c
                    for c in candidates
                    if self._detail[c] != "file"
                    and start > 0
                    and int(self._start[c]) <= end
                    and start <= int(self._end[c])
                ]
                if not hits:
                    hits = [c for c in candidates if self._detail[c] == "file"]
                for c in hits:
                    sources.append(str(self._ids[slot]))
                    targets.append(str(self._ids[c]))
            return self.add_edges(sources, targets, EdgeKind.ABOUT)

    def set_dependencies(self, imports: Mapping[str, Iterable[str]]) -> tuple[int, int]:
        """Replace `depends_on` edges between file nodes with `imports` (path -> paths).

        Returns (edges added, stale edges removed). Paths without a file node are skipped.
        """
        with self._lock:
            wanted: set[tuple[str, str]] = set()
            for path, targets in imports.items():
                src = code_file_id(path)
                if src not in self._slot_of:
                    continue
                for target in targets:
                    dst = code_file_id(target)
                    if dst in self._slot_of and dst != src:
                        wanted.add((src, dst))
            live = self._live_edges()
            deps = live[self._e_kind[live] == int(EdgeKind.DEPENDS_ON)]
            stale = [
                index
                for index in deps.tolist()
                if (str(self._ids[self._e_src[index]]), str(self._ids[self._e_dst[index]]))
                not in wanted
            ]
            removed = self._remove_edge_indices(np.asarray(stale, dtype=np.int64))
            pairs = sorted(wanted)
            added = self.add_edges(
                [s for s, _ in pairs], [d for _, d in pairs], EdgeKind.DEPENDS_ON
            )
            return added, removed

    def backfill_similar(
        self, ids: Sequence[str], vectors: npt.ArrayLike, *, k: int = 5, threshold: float = 0.8
    ) -> int:
        """`similar` edges between nodes whose vectors are among each other's k nearest.

        `vectors[i]` belongs to `ids[i]`; ids not in the graph are ignored. The edge weight
        is the cosine similarity. Returns how many edges were new.
        """
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise ValueError(f"expected {len(ids)} vectors, got an array of shape {matrix.shape}")
        with self._lock:
            known = np.fromiter((i in self._slot_of for i in ids), dtype=bool, count=len(ids))
            kept_ids = [i for i, ok in zip(ids, known.tolist(), strict=True) if ok]
            lo, hi, sims = top_k_pairs(matrix[known], k, threshold)
            return self.add_edges(
                [kept_ids[i] for i in lo.tolist()],
                [kept_ids[j] for j in hi.tolist()],
                EdgeKind.SIMILAR,
                sims.astype(np.float64),
            )

    # ----------------------------------------------------------------- persistence support

    def to_columns(self) -> GraphColumns:
        """A compact copy of every node and edge, for saving."""
        with self._lock:
            slots = self._live_slots()
            row_of = np.full(self._alive.shape[0], -1, dtype=np.int64)
            row_of[slots] = np.arange(slots.size)
            live = self._live_edges()
            return GraphColumns(
                ids=self._ids[slots],
                kind=self._kind[slots],
                label=self._label[slots],
                detail=self._detail[slots],
                path=self._path[slots],
                start_line=self._start[slots],
                end_line=self._end[slots],
                momentum=self._momentum[slots],
                last_decay=self._last_decay[slots],
                created=self._created[slots],
                last_access=self._last_access[slots],
                edge_src=row_of[self._e_src[live]],
                edge_dst=row_of[self._e_dst[live]],
                edge_kind=self._e_kind[live],
                edge_weight=self._e_weight[live],
            )

    @classmethod
    def from_columns(
        cls,
        columns: GraphColumns,
        *,
        half_life_sec: float = mm.DEFAULT_HALF_LIFE_SEC,
        activation_boost: float = mm.DEFAULT_ACTIVATION_BOOST,
    ) -> KnowledgeGraph:
        """Rebuild a graph from columns that `graph_store` has already validated."""
        graph = cls(half_life_sec=half_life_sec, activation_boost=activation_boost)
        n = int(columns.ids.shape[0])
        ids = columns.ids.tolist()
        slots = np.asarray(graph._graph.add_nodes_from(ids), dtype=np.int64)
        graph._alloc_nodes(int(slots.max()) + 1 if n else 0)
        graph._slot_of = dict(zip(ids, slots.tolist(), strict=True))
        if len(graph._slot_of) != n:
            raise DuplicateIdError(first_duplicate(ids))
        graph._ids[slots] = columns.ids
        graph._kind[slots] = columns.kind
        graph._label[slots] = columns.label
        graph._detail[slots] = columns.detail
        graph._path[slots] = columns.path
        graph._start[slots] = columns.start_line
        graph._end[slots] = columns.end_line
        graph._momentum[slots] = columns.momentum
        graph._last_decay[slots] = columns.last_decay
        graph._created[slots] = columns.created
        graph._last_access[slots] = columns.last_access
        graph._alive[slots] = True
        src, dst = slots[columns.edge_src], slots[columns.edge_dst]
        pairs = list(zip(src.tolist(), dst.tolist(), strict=True))
        edges = np.asarray(graph._graph.add_edges_from_no_data(pairs), dtype=np.int64)
        graph._alloc_edges(int(edges.max()) + 1 if edges.size else 0)
        graph._e_src[edges] = src
        graph._e_dst[edges] = dst
        graph._e_kind[edges] = columns.edge_kind
        graph._e_weight[edges] = columns.edge_weight
        graph._e_alive[edges] = True
        return graph


def _top(values: FloatArray, n: int) -> IntArray:
    """Positions of the `n` largest values, largest first (ties keep the earlier position)."""
    if n <= 0 or values.size == 0:
        return np.empty(0, dtype=np.int64)
    if n < values.size:
        part = np.argpartition(-values, n - 1)[:n]
        # Stable order among the chosen: by value descending, then position ascending.
        order = np.lexsort((part, -values[part]))
        return part[order].astype(np.int64)
    return np.lexsort((np.arange(values.size), -values)).astype(np.int64)


def first_duplicate(ids: Iterable[str]) -> str:
    seen: set[str] = set()
    for node_id in ids:
        if node_id in seen:
            return node_id
        seen.add(node_id)
    raise ValueError("no duplicate id")


def _check_node(node: NodeInput) -> None:
    if not isinstance(node.id, str) or not node.id:
        raise ValueError("a graph node needs a non-empty string id")
    if node.momentum is not None and not 0.0 <= node.momentum <= 1.0:
        raise ValueError(f"momentum of {node.id!r} must be in [0, 1] (got {node.momentum!r})")
    if not isinstance(node.kind, NodeKind):
        raise ValueError(f"node {node.id!r} has an unknown kind {node.kind!r}")
