"""Saving and loading the knowledge graph as two Arrow IPC (Feather v2) files.

`nodes.arrow` holds one row per node keyed by its stable id; `edges.arrow` one row per
edge whose endpoints are dictionary-encoded against those same ids, so the file names
nodes by id yet loads as integer rows with no per-edge string lookup.

Both files carry the schema version and a snapshot token in their metadata. A save writes
both to synced temporary files first and only then renames them into place, edges first.
The edges file being replaced is kept as `.edges.arrow.prev` (a hard link, no copy) until
both renames are done: if the nodes rename fails (a full disk, a read-only remount) the old
edges go back, and a process killed between the two renames leaves a pair that
`load_graph` completes from it. A save that cannot write leaves the saved graph exactly
as it was.

A load validates everything (schema, types, nulls, momentum range, duplicate ids, edges
to unknown ids, duplicate edges, a nodes/edges pair from different saves) and raises
`GraphError` naming the file; the files are never touched on failure. A save refuses to
overwrite files that changed on disk since the graph was loaded (another process saved)
unless told to.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from codedreamer.errors import GraphConflictError, GraphError
from codedreamer.memory import momentum as mm
from codedreamer.memory.graph import (
    EDGE_KIND_COUNT,
    DuplicateIdError,
    GraphColumns,
    KnowledgeGraph,
    first_duplicate,
)
from codedreamer.memory.graph_types import EdgeKind, NodeKind
from codedreamer.storage.atomic import fsync_directory, write_synced_temp

NODES_FILE = "nodes.arrow"
EDGES_FILE = "edges.arrow"
PREVIOUS_EDGES_FILE = ".edges.arrow.prev"
LOCK_FILE = ".graph.lock"
SCHEMA_VERSION = "1"
READ_ATTEMPTS = 3
META_SCHEMA = b"codedreamer.graph.schema"
META_SNAPSHOT = b"codedreamer.graph.snapshot"

NODE_KINDS = pa.array([k.label for k in NodeKind], pa.string())
EDGE_KINDS = pa.array([k.label for k in EdgeKind], pa.string())

NODE_FIELDS = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("kind", pa.dictionary(pa.int8(), pa.string()), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("detail", pa.string(), nullable=False),
    pa.field("path", pa.string(), nullable=False),
    pa.field("start_line", pa.int32(), nullable=False),
    pa.field("end_line", pa.int32(), nullable=False),
    pa.field("momentum", pa.float64(), nullable=False),
    pa.field("last_decay", pa.float64(), nullable=False),
    pa.field("created", pa.float64(), nullable=False),
    pa.field("last_access", pa.float64(), nullable=False),
]
EDGE_FIELDS = [
    pa.field("src", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("dst", pa.dictionary(pa.int32(), pa.string()), nullable=False),
    pa.field("kind", pa.dictionary(pa.int8(), pa.string()), nullable=False),
    pa.field("weight", pa.float64(), nullable=False),
]


def graph_files(directory: Path) -> tuple[Path, Path]:
    return directory / NODES_FILE, directory / EDGES_FILE


# --------------------------------------------------------------------------- saving


def _schema(fields: list[pa.Field], token: str) -> pa.Schema:
    return pa.schema(fields, metadata={META_SCHEMA: SCHEMA_VERSION, META_SNAPSHOT: token})


def nodes_table(columns: GraphColumns, token: str) -> pa.Table:
    kind = pa.DictionaryArray.from_arrays(pa.array(columns.kind, pa.int8()), NODE_KINDS)
    arrays = [
        pa.array(columns.ids, pa.string()),
        kind,
        pa.array(columns.label, pa.string()),
        pa.array(columns.detail, pa.string()),
        pa.array(columns.path, pa.string()),
        pa.array(columns.start_line, pa.int32()),
        pa.array(columns.end_line, pa.int32()),
        pa.array(columns.momentum, pa.float64()),
        pa.array(columns.last_decay, pa.float64()),
        pa.array(columns.created, pa.float64()),
        pa.array(columns.last_access, pa.float64()),
    ]
    return pa.Table.from_arrays(arrays, schema=_schema(NODE_FIELDS, token))


def edges_table(columns: GraphColumns, token: str, ids: pa.Array) -> pa.Table:
    arrays = [
        pa.DictionaryArray.from_arrays(pa.array(columns.edge_src, pa.int32()), ids),
        pa.DictionaryArray.from_arrays(pa.array(columns.edge_dst, pa.int32()), ids),
        pa.DictionaryArray.from_arrays(pa.array(columns.edge_kind, pa.int8()), EDGE_KINDS),
        pa.array(columns.edge_weight, pa.float64()),
    ]
    return pa.Table.from_arrays(arrays, schema=_schema(EDGE_FIELDS, token))


def _write_temp(path: Path, table: pa.Table) -> Path:
    def write(handle: BinaryIO) -> None:
        with pa.ipc.new_file(handle, table.schema) as writer:
            writer.write_table(table)

    return write_synced_temp(path, write)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise check-and-replace between processes sharing `directory` (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows has no flock; saves are then unguarded
        yield
        return
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _token_on_disk(path: Path) -> str | None:
    """The snapshot token of a saved nodes file; None if absent; GraphError if unreadable."""
    if not path.exists():
        return None
    try:
        with pa.OSFile(str(path), "rb") as source:
            metadata = pa.ipc.open_file(source).schema.metadata or {}
    except (pa.ArrowException, OSError) as exc:
        raise GraphError(
            f"{path}: not a readable graph file ({_short(exc)}); left untouched, not overwritten"
        ) from None
    return metadata.get(META_SNAPSHOT, b"").decode("utf-8", "replace") or None


def _keep_previous_edges(edges_path: Path) -> Path | None:
    """Hard-link the current edges file as PREVIOUS_EDGES_FILE; None where there is none.

    File systems without hard links get no backup (the rename order still leaves whole
    files, just not a matching pair after a kill between the renames).
    """
    if not edges_path.exists():
        return None
    previous = edges_path.with_name(PREVIOUS_EDGES_FILE)
    with contextlib.suppress(FileNotFoundError):
        previous.unlink()
    try:
        os.link(edges_path, previous)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            return None
        raise
    return previous


def save_graph(graph: KnowledgeGraph, directory: Path, *, overwrite_changes: bool = False) -> str:
    """Write `graph` to `directory` atomically and return the new snapshot token.

    Raises GraphError if the files on disk were saved by someone else since `graph` was
    loaded (unless `overwrite_changes`), or if they cannot be written; the old files stay.
    """
    nodes_path, edges_path = graph_files(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraphError(f"{directory}: cannot create the graph directory ({exc})") from None
    columns = graph.to_columns()
    token = secrets.token_hex(12)
    nodes = nodes_table(columns, token)
    edges = edges_table(columns, token, nodes.column("id").combine_chunks())
    temps: list[Path] = []
    try:
        with _locked(directory):
            on_disk = _token_on_disk(nodes_path)
            if not overwrite_changes and on_disk is not None and on_disk != graph.snapshot_token:
                raise GraphConflictError(
                    f"{nodes_path}: the graph changed on disk since it was loaded "
                    "(another CodeDreamer process saved it); reload before saving"
                )
            temps.append(_write_temp(edges_path, edges))
            temps.append(_write_temp(nodes_path, nodes))
            previous = _keep_previous_edges(edges_path)
            edges_replaced = False
            try:
                # Edges first: nodes.arrow is what a save is checked against, so it goes last.
                os.replace(temps[0], edges_path)
                edges_replaced = True
                os.replace(temps[1], nodes_path)
            except OSError:
                if previous is not None and edges_replaced:
                    # Put the old edges back: the pair on disk stays the last whole save.
                    with contextlib.suppress(OSError):
                        os.replace(previous, edges_path)
                raise
            finally:
                # Only a kill between the two renames needs it; gone once the save is over.
                if previous is not None:
                    with contextlib.suppress(OSError):
                        previous.unlink()
            temps.clear()
            fsync_directory(directory)
    except OSError as exc:
        where = exc.filename or directory
        raise GraphError(
            f"{where}: cannot write the graph ({exc.strerror or _short(exc)}); "
            "the saved graph is unchanged"
        ) from None
    finally:
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink()
    graph.snapshot_token = token
    return token


# --------------------------------------------------------------------------- loading


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_table(path: Path) -> pa.Table:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GraphError(f"{path}: cannot read the graph file ({_short(exc)})") from None
    try:
        table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise GraphError(
            f"{path}: corrupt graph file, not Arrow IPC ({_short(exc)}); left untouched"
        ) from None
    return table


def _fail(path: Path, problem: str) -> GraphError:
    return GraphError(f"{path}: corrupt graph file: {problem}; left untouched")


def _check_schema(path: Path, table: pa.Table, fields: list[pa.Field]) -> str:
    metadata = table.schema.metadata or {}
    version = metadata.get(META_SCHEMA)
    if version is None:
        raise _fail(path, "no CodeDreamer schema version in its metadata")
    if version.decode("utf-8", "replace") != SCHEMA_VERSION:
        raise _fail(
            path,
            f"schema version {version.decode('utf-8', 'replace')!r}, expected {SCHEMA_VERSION}",
        )
    for field in fields:
        index = table.schema.get_field_index(field.name)
        if index < 0:
            raise _fail(path, f"column {field.name!r} is missing")
        actual = table.schema.field(index).type
        if actual != field.type:
            raise _fail(path, f"column {field.name!r} has type {actual}, expected {field.type}")
        if table.column(field.name).null_count:
            raise _fail(path, f"column {field.name!r} has empty (null) values")
    token: bytes = metadata.get(META_SNAPSHOT, b"")
    return token.decode("utf-8", "replace")


def _dictionary_codes(
    path: Path, column: pa.ChunkedArray, labels: dict[str, int], name: str
) -> npt.NDArray[np.int8]:
    array = column.combine_chunks()
    dictionary = array.dictionary.to_pylist()
    unknown = [value for value in dictionary if value not in labels]
    if unknown:
        raise _fail(path, f"unknown {name} {unknown[0]!r}")
    lookup = np.asarray([labels[value] for value in dictionary], dtype=np.int8)
    indices = array.indices.to_numpy(zero_copy_only=False)
    return lookup[indices] if lookup.size else np.zeros(0, dtype=np.int8)


def _strings(column: pa.ChunkedArray) -> npt.NDArray[np.object_]:
    result: npt.NDArray[np.object_] = np.asarray(
        column.to_numpy(zero_copy_only=False), dtype=object
    )
    return result


def _columns_from_tables(
    nodes_path: Path, nodes: pa.Table, edges_path: Path, edges: pa.Table
) -> GraphColumns:
    ids_arrow = nodes.column("id").combine_chunks()
    n = len(ids_arrow)
    if n and pc.min(pc.utf8_length(ids_arrow)).as_py() == 0:
        raise _fail(nodes_path, "a node has an empty id")
    ids = _strings(nodes.column("id"))
    if len(set(ids.tolist())) != n:
        raise _fail(nodes_path, f"duplicate node id {first_duplicate(ids.tolist())!r}")
    kind = _dictionary_codes(
        nodes_path, nodes.column("kind"), {k.label: int(k) for k in NodeKind}, "node kind"
    )
    momentum = nodes.column("momentum").to_numpy()
    if not np.all((momentum >= 0.0) & (momentum <= 1.0)):
        bad = int(np.flatnonzero(~((momentum >= 0.0) & (momentum <= 1.0)))[0])
        value, node_id = float(momentum[bad]), ids_arrow[bad].as_py()
        raise _fail(nodes_path, f"momentum {value!r} of node {node_id!r} is outside [0, 1]")
    times = {
        name: nodes.column(name).to_numpy() for name in ("last_decay", "created", "last_access")
    }
    for name, values in times.items():
        if not np.all(np.isfinite(values)):
            raise _fail(nodes_path, f"column {name!r} has a value that is not a finite time")
    start = nodes.column("start_line").to_numpy()
    end = nodes.column("end_line").to_numpy()
    if np.any(start < 0) or np.any(end < 0):
        raise _fail(nodes_path, "a negative line number")

    src = _edge_rows(edges_path, edges.column("src"), ids_arrow)
    dst = _edge_rows(edges_path, edges.column("dst"), ids_arrow)
    edge_kind = _dictionary_codes(
        edges_path, edges.column("kind"), {k.label: int(k) for k in EdgeKind}, "edge kind"
    )
    weight = edges.column("weight").to_numpy()
    if not np.all((weight >= 0.0) & (weight <= 1.0)):
        raise _fail(edges_path, "an edge weight outside [0, 1]")
    if np.any(src == dst):
        raise _fail(edges_path, "an edge from a node to itself")
    symmetric = edge_kind == int(EdgeKind.SIMILAR)
    a = np.where(symmetric, np.minimum(src, dst), src)
    b = np.where(symmetric, np.maximum(src, dst), dst)
    keys = (a * max(n, 1) + b) * EDGE_KIND_COUNT + edge_kind
    ordered = np.sort(keys)
    if np.any(ordered[1:] == ordered[:-1]):
        raise _fail(edges_path, "the same edge appears twice")
    return GraphColumns(
        ids=ids,
        kind=kind,
        label=_strings(nodes.column("label")),
        detail=_strings(nodes.column("detail")),
        path=_strings(nodes.column("path")),
        start_line=start.astype(np.int32),
        end_line=end.astype(np.int32),
        momentum=momentum.astype(np.float64),
        last_decay=times["last_decay"].astype(np.float64),
        created=times["created"].astype(np.float64),
        last_access=times["last_access"].astype(np.float64),
        edge_src=src,
        edge_dst=dst,
        edge_kind=edge_kind,
        edge_weight=weight.astype(np.float64),
    )


def _edge_rows(path: Path, column: pa.ChunkedArray, ids: pa.Array) -> npt.NDArray[np.int64]:
    """Node rows for a dictionary-encoded endpoint column; unknown ids are corruption."""
    array = column.combine_chunks()
    indices = array.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    dictionary = array.dictionary
    if dictionary.equals(ids):  # what save_graph writes: indices are node rows already
        rows_direct: npt.NDArray[np.int64] = indices
        return rows_direct
    rows = pc.index_in(dictionary, value_set=ids).fill_null(-1).to_numpy().astype(np.int64)
    used = np.unique(indices)
    unknown = used[rows[used] < 0]
    if unknown.size:
        missing = dictionary[int(unknown[0])].as_py()
        raise _fail(path, f"an edge refers to unknown node id {missing!r}")
    result: npt.NDArray[np.int64] = rows[indices]
    return result


def _previous_edges_matching(edges_path: Path, nodes_token: str) -> pa.Table | None:
    """The kept previous edges if they belong to the save `nodes_token` names, else None.

    A save killed between its two renames leaves new edges beside old nodes; the edges it
    replaced are still in PREVIOUS_EDGES_FILE, and with the nodes they are the last whole
    save. Read only: the next save rewrites both files.
    """
    previous = edges_path.with_name(PREVIOUS_EDGES_FILE)
    if not previous.is_file():
        return None
    try:
        table = _read_table(previous)
        token = _check_schema(previous, table, EDGE_FIELDS)
    except GraphError:
        return None
    return table if token == nodes_token else None


def load_graph(
    directory: Path,
    *,
    half_life_sec: float = mm.DEFAULT_HALF_LIFE_SEC,
    activation_boost: float = mm.DEFAULT_ACTIVATION_BOOST,
) -> KnowledgeGraph:
    """Load the graph saved in `directory`; an empty graph if nothing was saved there yet.

    Raises GraphError naming the file if either file is missing, corrupt or inconsistent.
    """
    nodes_path, edges_path = graph_files(directory)
    has_nodes, has_edges = nodes_path.exists(), edges_path.exists()
    if not has_nodes and not has_edges:
        return KnowledgeGraph(half_life_sec=half_life_sec, activation_boost=activation_boost)
    if not has_nodes or not has_edges:
        missing = nodes_path if not has_nodes else edges_path
        raise GraphError(f"{missing}: missing, but its partner file exists; left untouched")
    for attempt in range(READ_ATTEMPTS):
        nodes = _read_table(nodes_path)
        edges = _read_table(edges_path)
        nodes_token = _check_schema(nodes_path, nodes, NODE_FIELDS)
        edges_token = _check_schema(edges_path, edges, EDGE_FIELDS)
        if nodes_token == edges_token:
            break
        # Another process may have saved between our two reads: read both again.
        if attempt + 1 < READ_ATTEMPTS:
            time.sleep(0.05)
    else:
        recovered = _previous_edges_matching(edges_path, nodes_token)
        if recovered is None:
            raise GraphError(
                f"{edges_path}: written by a different save than {nodes_path.name} "
                "(an interrupted save or a copied file); left untouched"
            )
        edges = recovered
    columns = _columns_from_tables(nodes_path, nodes, edges_path, edges)
    try:
        graph = KnowledgeGraph.from_columns(
            columns, half_life_sec=half_life_sec, activation_boost=activation_boost
        )
    except DuplicateIdError as exc:  # checked above already; kept as a second guard
        raise _fail(nodes_path, str(exc)) from None
    graph.snapshot_token = nodes_token
    return graph
