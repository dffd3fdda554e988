"""The code index on disk: LanceDB tables of chunks (with vectors) and of files.

`chunks` holds one row per chunk: its location, text, split-identifier text (full-text
indexed, so "http response" finds `parseHTTPResponse`) and its vector. `files` is the
incremental-indexing manifest: size, mtime and content hash of every file seen, why it was
skipped, its imports and identifier counts (for references and dead-code checks).

Writes: one commit per batch of files — a `merge_insert` keyed on chunk id whose
delete-by-source is restricted to the batch's paths, so each file's old chunks are
replaced atomically — then the manifest rows. Each commit is a table version, so
`maintain()` compacts and drops old versions on a schedule, builds the full-text index,
and an ANN index once the table is large. The embedder's id and dimension live in the
table metadata; opening with a different embedder rebuilds the index.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from codedreamer.errors import CodeDreamerError, CodeIndexError
from codedreamer.index.chunk import KINDS_WITH_NAMES, Chunk, CodeEntity, SearchHit, SymbolLocation
from codedreamer.index.embedder import Embedder
from codedreamer.index.imports import resolve_all
from codedreamer.index.tokens import query_terms
from codedreamer.safe_text import safe_line

if TYPE_CHECKING:
    import pyarrow as pa

    from codedreamer.index.symbols import SymbolChunk

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
CHUNKS = "chunks"
FILES = "files"
META_EMBEDDER = b"codedreamer.embedder"
META_DIM = b"codedreamer.dim"
META_SCHEMA = b"codedreamer.schema"
# Flat search is fine up to tens of thousands of rows (lancedb #1465); an ANN index past this.
ANN_MIN_ROWS = 50_000
SCALAR_INDEX_MIN_ROWS = 5_000
# Compact after this many commits since the last compaction.
OPTIMIZE_EVERY_COMMITS = 24
_CHUNK_COLUMNS = [
    "id",
    "path",
    "language",
    "kind",
    "symbol",
    "qualified_name",
    "start_line",
    "end_line",
    "content",
    "content_hash",
]
RRF_K = 60
SearchMode = Literal["hybrid", "vector", "text"]


@dataclass(frozen=True)
class FileRecord:
    """One manifest row: what the index knows about a file."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    language: str
    status: Literal["indexed", "skipped"]
    reason: str = ""
    line_count: int = 0
    chunk_count: int = 0
    imports: Sequence[str] = ()
    names: Sequence[str] = ()
    name_counts: Sequence[int] = ()


@dataclass(frozen=True)
class FileWrite:
    """A file's new manifest row and, when indexed, its chunks with their vectors."""

    record: FileRecord
    rows: pa.Table | None = None
    """The file's chunk rows (see `chunk_table`), built where the chunks were made."""


@dataclass
class _Maintenance:
    commits_since_optimize: int = 0
    last_optimize: float = field(default_factory=time.monotonic)


def _sql(value: str) -> str:
    """A SQL string literal; paths come from the file system and may hold quotes."""
    return "'" + value.replace("'", "''") + "'"


def _in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(_sql(v) for v in values)})"


RECOVER_HINT = "run `codedreamer index --clear` to rebuild it"
# Failures of the disk or the permissions, not of the index: clearing would not help.
_ENVIRONMENT_ERRORS = ("No space left", "Permission denied", "Read-only file system")


def _reason(exc: BaseException) -> str:
    """The useful part of a Lance error: no Rust source paths, one line."""
    text = " ".join(str(exc).split())
    text = re.sub(r"^lance error:\s*", "", text)
    text = re.sub(r"^LanceError\(\w+\):\s*", "", text)
    # Lance appends the Rust source location: ", /root/.cargo/.../utils.rs:172:20".
    text = re.sub(r",?\s*/\S+\.rs:\d+:\d+.*$", "", text)
    return text[:200] or type(exc).__name__


def storage_error(index_dir: Path, exc: BaseException) -> CodeIndexError:
    """One clear line for a failure inside LanceDB: what happened and how to recover."""
    reason = _reason(exc)
    where = safe_line(str(index_dir))
    if any(marker in reason for marker in _ENVIRONMENT_ERRORS):
        return CodeIndexError(f"{where}: cannot use the code index ({safe_line(reason)})")
    return CodeIndexError(
        f"{where}: the code index is damaged ({safe_line(reason)}); {RECOVER_HINT}"
    )


_STORAGE_MODULES = ("lance", "lancedb", "pyarrow")


def _from_storage(exc: BaseException) -> bool:
    """Whether an exception is a storage failure inside LanceDB, Lance or Arrow.

    Their own exception types count, and OS, runtime and value errors raised from their
    code (the Rust core surfaces as those); a TypeError from a wrong call is still a bug.
    """
    if isinstance(exc, CodeDreamerError):
        return False
    if (type(exc).__module__ or "").startswith(_STORAGE_MODULES):
        return True
    if not isinstance(exc, (OSError, RuntimeError, ValueError)):
        return False
    if "lance" in str(exc).lower():
        return True
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(_STORAGE_MODULES):
            return True
        tb = tb.tb_next
    return False


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn LanceDB failures inside a store method into one-line `CodeIndexError`s."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            store = args[0]
            if not _from_storage(exc) or not isinstance(store, IndexStore):
                raise
            raise storage_error(store.index_dir, exc) from exc

    return wrapper


# Every Lance data, index and manifest file ends with this magic number (its footer).
LANCE_MAGIC = b"LANC"
# A file written this long ago without its footer is cut short, not still being written.
UNFINISHED_GRACE_SEC = 60.0


def uncommitted_tables(index_dir: Path) -> list[str]:
    """Our tables whose folder exists without a single committed version.

    A table whose creation failed (a full disk at the first index build) leaves such a
    folder; LanceDB lists it and then cannot open it ("Table 'chunks' was not found"). It
    holds nothing to keep, so it counts as absent.
    """
    torn = []
    for table in (CHUNKS, FILES):
        root = index_dir / f"{table}.lance"
        versions, data = root / "_versions", root / "data"
        if not root.is_dir() or (versions.exists() and not versions.is_dir()):
            continue  # absent, or damaged in a way that `check_table_files` reports
        committed = versions.is_dir() and any(versions.glob("*.manifest"))
        holds_data = data.is_dir() and any(data.iterdir())
        if not committed and not holds_data:
            torn.append(table)
    return torn


def check_table_files(index_dir: Path) -> None:
    """Raise CodeIndexError if a data or index file of a table lacks its footer.

    A file cut short (a full disk, a crash during a copy, a bad backup) otherwise goes
    unnoticed until a search happens to read it. Reading the last four bytes of each file
    costs milliseconds; files younger than a minute may still be being written and are
    left alone.
    """
    now = time.time()
    for table in (CHUNKS, FILES):
        root = index_dir / f"{table}.lance"
        if not root.is_dir():
            continue
        for path in [*(root / "data").glob("*.lance"), *(root / "_indices").glob("*/*.lance")]:
            try:
                info = path.stat()
                if now - info.st_mtime < UNFINISHED_GRACE_SEC:
                    continue
                with open(path, "rb") as handle:
                    handle.seek(max(0, info.st_size - len(LANCE_MAGIC)))
                    tail = handle.read()
            except OSError as exc:
                raise storage_error(index_dir, exc) from exc
            if tail != LANCE_MAGIC:
                name = path.relative_to(index_dir).as_posix()
                raise storage_error(index_dir, ValueError(f"{name} is cut short"))


def wipe_index_dir(index_dir: Path, *, remove_file: bool = False) -> None:
    """Remove the index's tables whatever state they are in (`index --clear`).

    Garbled manifests, truncated data files, a file where a table directory should be: all
    go. Only the tables (`*.lance`) are removed, so a DB_PATH that points into a directory
    holding other files loses nothing else. A file where the index directory should be is
    removed only with `remove_file` (the caller knows it is inside DATA_DIR).
    """
    if remove_file and index_dir.is_file() and not index_dir.is_symlink():
        try:
            index_dir.unlink()
        except OSError as exc:
            raise CodeIndexError(
                f"{safe_line(str(index_dir))}: cannot clear the code index ({safe_line(str(exc))})"
            ) from exc
        return
    if index_dir.is_symlink() or (index_dir.exists() and not index_dir.is_dir()):
        raise CodeIndexError(
            f"{safe_line(str(index_dir))}: the index path is not a directory; "
            "remove it or set DREAMER_DB_PATH to another place"
        )
    if not index_dir.exists():
        return
    try:
        for entry in index_dir.iterdir():
            if not entry.name.endswith(".lance"):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as exc:
        raise CodeIndexError(
            f"{safe_line(str(index_dir))}: cannot clear the code index ({safe_line(str(exc))})"
        ) from exc


def chunks_schema(dim: int, model_id: str) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("path", pa.string(), nullable=False),
            pa.field("language", pa.string()),
            pa.field("kind", pa.string()),
            pa.field("symbol", pa.string()),
            pa.field("qualified_name", pa.string()),
            pa.field("start_line", pa.int32()),
            pa.field("end_line", pa.int32()),
            pa.field("content", pa.string()),
            pa.field("content_hash", pa.string()),
            pa.field("ident_text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ],
        metadata={META_EMBEDDER: model_id, META_DIM: str(dim), META_SCHEMA: SCHEMA_VERSION},
    )


def chunk_table(
    chunks: Sequence[Chunk],
    ident_texts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    model_id: str,
) -> pa.Table:
    """Rows for the chunks table; index workers build these so the writer only appends."""
    import pyarrow as pa

    dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    if vectors.shape[0] != len(chunks) or len(ident_texts) != len(chunks):
        raise CodeIndexError("chunks, texts and vectors differ in length")
    schema = chunks_schema(dim, model_id)
    columns: list[pa.Array] = [
        pa.array(list(map(attrgetter(f.name), chunks)), type=f.type)
        for f in schema
        if f.name not in {"vector", "ident_text"}
    ]
    columns.append(pa.array(ident_texts, type=pa.string()))
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), type=pa.float32())
    columns.append(pa.FixedSizeListArray.from_arrays(flat, dim))
    return pa.Table.from_arrays(columns, schema=schema)


def files_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("path", pa.string(), nullable=False),
            pa.field("size", pa.int64()),
            pa.field("mtime_ns", pa.int64()),
            pa.field("content_hash", pa.string()),
            pa.field("language", pa.string()),
            pa.field("status", pa.string()),
            pa.field("reason", pa.string()),
            pa.field("line_count", pa.int32()),
            pa.field("chunk_count", pa.int32()),
            pa.field("imports", pa.list_(pa.string())),
            pa.field("names", pa.list_(pa.string())),
            pa.field("name_counts", pa.list_(pa.int32())),
        ],
        metadata={META_SCHEMA: SCHEMA_VERSION},
    )


def _chunks_from(table: pa.Table) -> list[Chunk]:
    columns = {name: table.column(name).to_pylist() for name in _CHUNK_COLUMNS}
    return [
        Chunk(
            id=columns["id"][i],
            path=columns["path"][i],
            language=columns["language"][i],
            kind=columns["kind"][i],
            symbol=columns["symbol"][i],
            qualified_name=columns["qualified_name"][i],
            start_line=columns["start_line"][i],
            end_line=columns["end_line"][i],
            content=columns["content"][i],
            content_hash=columns["content_hash"][i],
        )
        for i in range(table.num_rows)
    ]


class IndexStore:
    """Read and write the code index in one directory. Writes are serialised by a lock."""

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        db: Any,
        chunks: Any,
        files: Any,
        *,
        read_only: bool,
        cleanup_older_than: timedelta,
        native_log: Path | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.native_log = native_log
        """Where Lance's native log lines go during index builds (None: the terminal)."""
        self.embedder = embedder
        self.read_only = read_only
        self.cleanup_older_than = cleanup_older_than
        self._db = db
        self._chunks = chunks
        self._files = files
        self._lock = threading.RLock()
        self._maintenance = _Maintenance()

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        index_dir: Path,
        embedder: Embedder,
        *,
        read_consistency_interval: float | None = None,
        read_only: bool = False,
        cleanup_older_than: timedelta = timedelta(minutes=10),
        native_log: Path | None = None,
    ) -> IndexStore:
        """Open (or, unless read-only, create) the index in `index_dir`.

        `read_consistency_interval` (seconds) makes this reader see commits from other
        processes (0 = check on every read); None never checks, which suits the one writer.
        An index built with another embedder is rebuilt empty, or refused when read-only.
        """
        import lancedb

        interval = (
            None
            if read_consistency_interval is None
            else timedelta(seconds=read_consistency_interval)
        )
        if index_dir.exists() and not index_dir.is_dir():
            raise CodeIndexError(
                f"{safe_line(str(index_dir))}: the index path is not a directory; "
                "remove it or set DREAMER_DB_PATH to another place"
            )
        try:
            if not read_only:
                index_dir.mkdir(parents=True, exist_ok=True)
            torn = uncommitted_tables(index_dir) if index_dir.exists() else []
            if not read_only:
                for table in torn:
                    shutil.rmtree(index_dir / f"{table}.lance")
            db = lancedb.connect(index_dir, read_consistency_interval=interval)
            names = set(db.list_tables().tables) if index_dir.exists() else set()
            names.difference_update(torn)
        except OSError as exc:
            raise CodeIndexError(
                f"{safe_line(str(index_dir))}: cannot open the code index ({safe_line(str(exc))})"
            ) from exc
        try:
            for name in (CHUNKS, FILES):
                path = index_dir / f"{name}.lance"
                if path.exists() and not path.is_dir():
                    raise CodeIndexError(
                        f"{safe_line(str(path))}: a file where a table should be; {RECOVER_HINT}"
                    )
            check_table_files(index_dir)
            chunks = db.open_table(CHUNKS) if CHUNKS in names else None
            files = db.open_table(FILES) if FILES in names else None
            store = cls(
                index_dir,
                embedder,
                db,
                chunks,
                files,
                read_only=read_only,
                cleanup_older_than=cleanup_older_than,
                native_log=native_log,
            )
            store._check_embedder()
        except Exception as exc:  # lance raises its own error types for corrupt tables
            if not _from_storage(exc):
                raise
            raise storage_error(index_dir, exc) from exc
        return store

    def _check_embedder(self) -> None:
        if self._chunks is None:
            if not self.read_only:
                self._create_tables()
            return
        meta = self._chunks.schema.metadata or {}
        built_with = (meta.get(META_EMBEDDER, b"").decode(), meta.get(META_DIM, b"").decode())
        wanted = (self.embedder.model_id, str(self.embedder.dim))
        if built_with == wanted and meta.get(META_SCHEMA, b"").decode() == SCHEMA_VERSION:
            return
        if self.read_only:
            raise CodeIndexError(
                f"{self.index_dir}: the index was built with embedder {built_with[0] or '?'} "
                f"but {wanted[0]} is configured; run `codedreamer index` to rebuild it"
            )
        log.info("embedder changed (%s -> %s): rebuilding the index", built_with[0], wanted[0])
        self._drop_tables()
        self._create_tables()

    def _create_tables(self) -> None:
        with self._lock:
            self._chunks = self._db.create_table(
                CHUNKS,
                schema=chunks_schema(self.embedder.dim, self.embedder.model_id),
                exist_ok=True,
            )
            self._files = self._db.create_table(FILES, schema=files_schema(), exist_ok=True)

    def _drop_tables(self) -> None:
        with self._lock:
            for name in (CHUNKS, FILES):
                with contextlib.suppress(FileNotFoundError, ValueError):
                    self._db.drop_table(name)
            self._chunks = self._files = None

    def clear(self) -> None:
        """Remove every chunk and file record (CLEAR_INDEX_ON_START, `index --clear`)."""
        import lancedb

        self._require_writable()
        with self._lock:
            with contextlib.suppress(Exception):  # a damaged table may refuse to drop
                self._drop_tables()
            self._chunks = self._files = None
            # Whatever is left (a crash's leftovers, damaged files) goes too.
            wipe_index_dir(self.index_dir)
            self._db = lancedb.connect(self.index_dir)
            self._create_tables()
            self._maintenance = _Maintenance()

    def close(self) -> None:
        with self._lock:
            self._chunks = self._files = None
            self._db = None

    def _require_writable(self) -> None:
        if self.read_only:
            raise CodeIndexError(f"{self.index_dir}: the index is open read-only")

    # ------------------------------------------------------------------ writing

    def manifest(self) -> dict[str, FileRecord]:
        """Every file the index has seen, by path (sizes, mtimes, hashes, skip reasons)."""
        if self._files is None:
            return {}
        table = (
            self._files.search()
            .select(["path", "size", "mtime_ns", "content_hash", "language", "status", "reason"])
            .limit(None)
            .to_arrow()
        )
        cols = {name: table.column(name).to_pylist() for name in table.column_names}
        return {
            path: FileRecord(
                path=path,
                size=cols["size"][i],
                mtime_ns=cols["mtime_ns"][i],
                content_hash=cols["content_hash"][i],
                language=cols["language"][i],
                status=cols["status"][i],
                reason=cols["reason"][i],
            )
            for i, path in enumerate(cols["path"])
        }

    def chunk_paths(self) -> set[str]:
        if self._chunks is None:
            return set()
        table = self._chunks.search().select(["path"]).limit(None).to_arrow()
        return set(table.column("path").to_pylist())

    def write_files(
        self, batch: Sequence[FileWrite], known: set[str], recorded: set[str] | None = None
    ) -> int:
        """Replace the chunks of every file in `batch`, then record the files; chunks written.

        `known` are paths that may already have chunks (they get replaced); others are
        appended. `recorded` are paths that may already have a manifest row (None: any may);
        when no file of the batch has one, its rows are appended, not merged (a cold run).
        Chunks are committed before the manifest, so a kill between the two leaves a file
        that looks unindexed and is simply redone.
        """
        import pyarrow as pa

        self._require_writable()
        if not batch:
            return 0
        rows = self._chunk_rows(batch)
        replaced = [w.record.path for w in batch if w.record.path in known]
        with self._lock:
            if replaced:
                where = _in_list("path", replaced)
                if rows.num_rows:
                    (
                        self._chunks.merge_insert("id")
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .when_not_matched_by_source_delete(where)
                        .execute(rows)
                    )
                else:
                    self._chunks.delete(where)
                self._commit()
            elif rows.num_rows:
                self._chunks.add(rows)
                self._commit()
            files = pa.Table.from_pylist(
                [_record_row(w.record) for w in batch], schema=files_schema()
            )
            if recorded is not None and recorded.isdisjoint(w.record.path for w in batch):
                # A merge joins against the whole manifest; nothing here can match it.
                self._files.add(files)
            else:
                self._files.merge_insert(
                    "path"
                ).when_matched_update_all().when_not_matched_insert_all().execute(files)
            self._commit()
        return int(rows.num_rows)

    def update_records(self, records: Sequence[FileRecord]) -> None:
        """Refresh manifest rows of files whose content did not change (new mtime only)."""
        import pyarrow as pa

        self._require_writable()
        if not records:
            return
        table = pa.Table.from_pylist(
            [{"path": r.path, "size": r.size, "mtime_ns": r.mtime_ns} for r in records],
            schema=pa.schema(
                [
                    pa.field("path", pa.string(), nullable=False),
                    pa.field("size", pa.int64()),
                    pa.field("mtime_ns", pa.int64()),
                ]
            ),
        )
        with self._lock:
            self._files.merge_insert("path").when_matched_update_all().execute(table)
            self._commit()

    def remove_paths(self, paths: Iterable[str]) -> int:
        """Forget files (deleted, or excluded now): their chunks and manifest rows."""
        self._require_writable()
        todo = sorted(set(paths))
        with self._lock:
            for start in range(0, len(todo), 500):
                where = _in_list("path", todo[start : start + 500])
                self._chunks.delete(where)
                self._files.delete(where)
                self._commit(2)
        return len(todo)

    def _chunk_rows(self, batch: Sequence[FileWrite]) -> pa.Table:
        import pyarrow as pa

        schema = chunks_schema(self.embedder.dim, self.embedder.model_id)
        tables = [w.rows for w in batch if w.rows is not None and w.rows.num_rows]
        if not tables:
            return schema.empty_table()
        for table in tables:
            if table.schema.field("vector").type != schema.field("vector").type:
                raise CodeIndexError(f"{self.index_dir}: chunk vectors do not match the index")
        # One contiguous batch: lance writes a table of many small chunks (one per file or
        # worker batch) about three times slower than the same rows in one piece.
        rows = pa.concat_tables(tables).combine_chunks()
        return rows.replace_schema_metadata(schema.metadata)

    def _commit(self, n: int = 1) -> None:
        self._maintenance.commits_since_optimize += n

    # ------------------------------------------------------------------ maintenance

    def maintain(
        self,
        *,
        force: bool = False,
        cleanup_older_than: timedelta | None = None,
        build_ann: bool = True,
        compact: bool = True,
    ) -> bool:
        """Build missing indexes; compact and drop old versions when due. True if it compacted.

        The ANN index (built once the table has ANN_MIN_ROWS chunks) takes tens of seconds
        on large tables; `build_ann=False` leaves it to a later call. Compaction rewrites
        small fragments (seconds on a large table); `compact=False` defers it too, which the
        live watcher does until it is idle.
        """
        if self.read_only or self._chunks is None:
            return False
        from lancedb.index import FTS, BTree

        with self._lock:
            count = self._chunks.count_rows()
            indexed = {tuple(ix.columns) for ix in self._chunks.list_indices()}
            if count and ("ident_text",) not in indexed:
                # ident_text is already split, lower-case, space-separated terms (and queries
                # go through the same split): a whitespace tokenizer is all it needs. Stemming
                # would cost ~40 % of the build and mangle identifier parts.
                self._chunks.create_index(
                    "ident_text",
                    config=FTS(
                        base_tokenizer="whitespace",
                        stem=False,
                        remove_stop_words=False,
                        ascii_folding=False,
                        lower_case=False,
                    ),
                )
            if count >= SCALAR_INDEX_MIN_ROWS and ("path",) not in indexed:
                self._chunks.create_index("path", config=BTree())
            if build_ann and count >= ANN_MIN_ROWS and ("vector",) not in indexed:
                self.build_vector_index()
            due = compact and self._maintenance.commits_since_optimize >= OPTIMIZE_EVERY_COMMITS
            if not (force or due):
                return False
            older = self.cleanup_older_than if cleanup_older_than is None else cleanup_older_than
            with self._native_output():
                for table in (self._chunks, self._files):
                    table.optimize(cleanup_older_than=older)
            self._maintenance = _Maintenance()
            return True

    def build_vector_index(self, num_partitions: int | None = None) -> None:
        """Build (or rebuild) the ANN index: IVF partitions of HNSW graphs over 8-bit vectors.

        Chosen by measurement (bench/bench_index.py): on 120k vectors, IVF_HNSW_SQ reached
        recall@10 0.94 at about half numpy's brute-force latency and built faster than IVF_PQ.
        Lance's native log lines (KMeans "clusters are empty", partition notices) go to
        `native_log`, not the terminal.
        """
        from lancedb.index import IvfHnswSq

        self._require_writable()
        count = self.count()
        partitions = num_partitions if num_partitions is not None else max(1, count // 30_000)
        with self._lock, self._native_output():
            self._chunks.create_index(
                "vector",
                config=IvfHnswSq(
                    distance_type="cosine",
                    num_partitions=partitions,
                    max_iterations=20,
                    sample_rate=64,
                    m=16,
                    ef_construction=100,
                ),
            )
            self._commit()

    def _native_output(self) -> contextlib.AbstractContextManager[object]:
        """While Lance builds indexes or compacts, its Rust logger's stderr goes to the log.

        Lance writes WARN lines (empty KMeans clusters, centroid statistics) straight to
        file descriptor 2; a user never asked for them. With no `native_log` (LOG_LEVEL
        debug) they stay on the terminal.
        """
        if self.native_log is None:
            return contextlib.nullcontext()
        from codedreamer.models.quiet import stderr_to_file

        return stderr_to_file(self.native_log)

    def version_count(self) -> int:
        """Table versions kept on disk (chunks + files); compaction keeps this bounded."""
        if self._chunks is None:
            return 0
        return len(self._chunks.list_versions()) + len(self._files.list_versions())

    def has_vector_index(self) -> bool:
        return self._chunks is not None and any(
            tuple(ix.columns) == ("vector",) for ix in self._chunks.list_indices()
        )

    # ------------------------------------------------------------------ reading

    def count(self) -> int:
        """Number of chunks in the index."""
        return 0 if self._chunks is None else int(self._chunks.count_rows())

    def file_count(self) -> int:
        if self._files is None:
            return 0
        return int(self._files.count_rows("status = 'indexed'"))

    def random_chunks(self, n: int, rng: random.Random) -> list[Chunk]:
        """Up to `n` distinct chunks chosen uniformly, read by row offset (no full scan)."""
        total = self.count()
        if total == 0 or n <= 0:
            return []
        offsets = sorted(rng.sample(range(total), min(n, total)))
        table = self._chunks.take_offsets(offsets).select(_CHUNK_COLUMNS).to_arrow()
        chunks = _chunks_from(table)
        rng.shuffle(chunks)
        return chunks

    def chunks_for_path(self, path: str) -> list[Chunk]:
        """All chunks of one file, in line order."""
        if self._chunks is None:
            return []
        table = (
            self._chunks.search()
            .where(f"path = {_sql(path)}", prefilter=True)
            .select(_CHUNK_COLUMNS)
            .limit(None)
            .to_arrow()
        )
        return sorted(_chunks_from(table), key=lambda c: c.start_line)

    def search(self, query: str, k: int = 10, mode: SearchMode = "hybrid") -> list[SearchHit]:
        """The `k` best chunks for a query: by vector, by split-identifier text, or both.

        Hybrid fuses the two rankings with reciprocal-rank fusion (the same rule as
        LanceDB's default reranker), so a chunk found by both ranks first.
        """
        if self._chunks is None or k <= 0 or not query.strip():
            return []
        if mode == "text":
            return self._text_search(query, k)
        if mode == "vector":
            return self._vector_search(query, k)
        depth = max(k * 3, 20)
        fused: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        for hits in (self._vector_search(query, depth), self._text_search(query, depth)):
            for rank, hit in enumerate(hits):
                fused[hit.chunk.id] = fused.get(hit.chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
                chunks[hit.chunk.id] = hit.chunk
        best = sorted(fused, key=lambda chunk_id: -fused[chunk_id])[:k]
        return [SearchHit(chunks[chunk_id], fused[chunk_id]) for chunk_id in best]

    def _has_fts(self) -> bool:
        return any(tuple(ix.columns) == ("ident_text",) for ix in self._chunks.list_indices())

    def _text_search(self, query: str, k: int) -> list[SearchHit]:
        terms = query_terms(query)
        if not terms or not self._has_fts():
            return []
        table = (
            self._chunks.search(terms, query_type="fts", fts_columns="ident_text")
            .select([*_CHUNK_COLUMNS, "_score"])
            .limit(k)
            .to_arrow()
        )
        return self._hits(table, "_score")

    def _vector_search(self, query: str, k: int) -> list[SearchHit]:
        vector = self.embedder.embed_query(query)
        if not np.any(vector):
            return []
        builder = self._chunks.search(vector, vector_column_name="vector").distance_type("cosine")
        if self.has_vector_index():
            builder = builder.nprobes(4)
        table = builder.select([*_CHUNK_COLUMNS, "_distance"]).limit(k).to_arrow()
        return [SearchHit(hit.chunk, 1.0 - hit.score) for hit in self._hits(table, "_distance")]

    @staticmethod
    def _hits(table: pa.Table, score_column: str) -> list[SearchHit]:
        scores = (
            table.column(score_column).to_pylist() if score_column in table.column_names else []
        )
        chunks = _chunks_from(table)
        return [
            SearchHit(chunk, float(score)) for chunk, score in zip(chunks, scores, strict=False)
        ]

    def vector_search_ids(self, vector: npt.NDArray[np.float32], k: int) -> list[str]:
        """Ids of the `k` nearest chunks (cosine); the benchmark's hot path, no row decoding."""
        builder = self._chunks.search(vector, vector_column_name="vector").distance_type("cosine")
        if self.has_vector_index():
            builder = builder.nprobes(4)
        table = builder.select(["id", "_distance"]).limit(k).to_arrow()
        return [str(v) for v in table.column("id").to_pylist()]

    def chunk_vectors(self) -> tuple[list[str], npt.NDArray[np.float32]]:
        """Every chunk id and its unit vector, row-aligned."""
        if self._chunks is None or self.count() == 0:
            return [], np.zeros((0, self.embedder.dim), dtype=np.float32)
        table = self._chunks.search().select(["id", "vector"]).limit(None).to_arrow()
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        matrix = np.asarray(flat, dtype=np.float32).reshape(table.num_rows, self.embedder.dim)
        return [str(v) for v in table.column("id").to_pylist()], matrix

    def path_vectors(
        self, paths: Sequence[str]
    ) -> tuple[list[tuple[str, str, str]], npt.NDArray[np.float32]]:
        """(path, kind, qualified name) and unit vector of every chunk of `paths` (a live edit)."""
        dim = self.embedder.dim
        if self._chunks is None or not paths:
            return [], np.zeros((0, dim), dtype=np.float32)
        listed = ", ".join(_sql(p) for p in paths)
        table = (
            self._chunks.search()
            .where(f"path IN ({listed})", prefilter=True)
            .select(["path", "kind", "qualified_name", "vector"])
            .limit(None)
            .to_arrow()
        )
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        matrix = np.asarray(flat, dtype=np.float32).reshape(table.num_rows, dim)
        keys = list(
            zip(
                table.column("path").to_pylist(),
                table.column("kind").to_pylist(),
                table.column("qualified_name").to_pylist(),
                strict=True,
            )
        )
        return keys, matrix

    def nearest_locations(
        self, vector: npt.NDArray[np.float32], k: int
    ) -> list[tuple[tuple[str, str, str], float]]:
        """The `k` chunks nearest to `vector`: ((path, kind, qualified name), cosine similarity)."""
        if self._chunks is None or k <= 0 or not np.any(vector):
            return []
        builder = self._chunks.search(vector, vector_column_name="vector").distance_type("cosine")
        if self.has_vector_index():
            builder = builder.nprobes(4)
        table = builder.select(["path", "kind", "qualified_name", "_distance"]).limit(k).to_arrow()
        columns = [table.column(c).to_pylist() for c in ("path", "kind", "qualified_name")]
        distances = table.column("_distance").to_pylist()
        return [
            ((p, kd, q), 1.0 - float(d)) for p, kd, q, d in zip(*columns, distances, strict=True)
        ]

    def chunk_locations(self) -> dict[str, tuple[str, str, str]]:
        """Chunk id -> (path, kind, qualified name), without the text."""
        if self._chunks is None:
            return {}
        table = (
            self._chunks.search()
            .select(["id", "path", "kind", "qualified_name"])
            .limit(None)
            .to_arrow()
        )
        ids, paths, kinds, names = (
            table.column(c).to_pylist() for c in ("id", "path", "kind", "qualified_name")
        )
        return {i: (p, k, q) for i, p, k, q in zip(ids, paths, kinds, names, strict=True)}

    def code_entities(self) -> list[CodeEntity]:
        """Files, classes, functions and methods (split parts merged), without text."""
        if self._chunks is None:
            return []
        files = (
            self._files.search()
            .where("status = 'indexed'", prefilter=True)
            .select(["path", "line_count"])
            .limit(None)
            .to_arrow()
        )
        entities = [
            CodeEntity(path, "file", path, 1, max(1, lines))
            for path, lines in zip(
                files.column("path").to_pylist(),
                files.column("line_count").to_pylist(),
                strict=True,
            )
        ]
        kinds = ", ".join(_sql(k) for k in sorted(KINDS_WITH_NAMES))
        table = (
            self._chunks.search()
            .where(f"kind IN ({kinds}) AND qualified_name != ''", prefilter=True)
            .select(["path", "kind", "qualified_name", "start_line", "end_line"])
            .limit(None)
            .to_arrow()
        )
        spans: dict[tuple[str, str, str], list[int]] = {}
        ends: dict[tuple[str, str], int] = {}
        cols = [
            table.column(c).to_pylist()
            for c in ("path", "kind", "qualified_name", "start_line", "end_line")
        ]
        for path, kind, name, start, end in zip(*cols, strict=True):
            span = spans.setdefault((path, kind, name), [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
            # A class chunk is only its header: its entity spans its members too.
            scope = name.rsplit(".", 1)[0] if "." in name else ""
            while scope:
                ends[(path, scope)] = max(ends.get((path, scope), 0), end)
                scope = scope.rsplit(".", 1)[0] if "." in scope else ""
        for (path, _kind, name), span in spans.items():
            span[1] = max(span[1], ends.get((path, name), 0))
        entities.extend(
            CodeEntity(path, kind, name, start, end)
            for (path, kind, name), (start, end) in sorted(spans.items())
        )
        return entities

    def file_imports(self) -> dict[str, list[str]]:
        """For each indexed file, the indexed files its imports resolve to."""
        if self._files is None:
            return {}
        table = (
            self._files.search()
            .where("status = 'indexed'", prefilter=True)
            .select(["path", "language", "imports"])
            .limit(None)
            .to_arrow()
        )
        paths = table.column("path").to_pylist()
        imports = {
            path: (language, targets or [])
            for path, language, targets in zip(
                paths,
                table.column("language").to_pylist(),
                table.column("imports").to_pylist(),
                strict=True,
            )
        }
        return resolve_all(imports, paths)

    def version_key(self) -> tuple[int, int, int, int]:
        """Changes whenever either table gets a commit or is recreated (caches key on it)."""
        if self._chunks is None or self._files is None:
            return (0, 0, 0, 0)
        return (id(self._chunks), int(self._chunks.version), id(self._files), self._files.version)

    def symbol_chunks(self, known: Callable[[str], bool] | None = None) -> list[SymbolChunk]:
        """Every chunk's location and text, without vectors (for `symbols.SymbolIndex`).

        Chunks for which `known(id)` is true come without their text (content None): the
        caller already has what it needs of them, and reading text is most of the cost.
        """
        from codedreamer.index.symbols import SymbolChunk

        if self._chunks is None:
            return []
        columns = [
            "id",
            "path",
            "language",
            "kind",
            "symbol",
            "qualified_name",
            "start_line",
            "end_line",
        ]
        if known is None:
            table = self._chunks.search().select([*columns, "content"]).limit(None).to_arrow()
            values = [table.column(name).to_pylist() for name in [*columns, "content"]]
            return [SymbolChunk(*row) for row in zip(*values, strict=True)]
        table = self._chunks.search().select(columns).limit(None).to_arrow()
        values = [table.column(name).to_pylist() for name in columns]
        unknown = [cid for cid in values[0] if not known(cid)]
        # Known chunks get no text (None); the others get theirs.
        texts: dict[str, str | None] = {}
        if len(unknown) > table.num_rows // 4:
            full = self._chunks.search().select(["id", "content"]).limit(None).to_arrow()
            texts = _id_texts(full)
        else:
            for start in range(0, len(unknown), 500):
                part = (
                    self._chunks.search()
                    .where(_in_list("id", unknown[start : start + 500]), prefilter=True)
                    .select(["id", "content"])
                    .limit(None)
                    .to_arrow()
                )
                texts.update(_id_texts(part))
        return [
            SymbolChunk(cid, path, lang, kind, sym, qual, start, end, texts.get(cid))
            for cid, path, lang, kind, sym, qual, start, end in zip(*values, strict=True)
        ]

    def line_counts(self) -> dict[str, int]:
        """Lines of every indexed file."""
        if self._files is None:
            return {}
        table = (
            self._files.search()
            .where("status = 'indexed'", prefilter=True)
            .select(["path", "line_count"])
            .limit(None)
            .to_arrow()
        )
        return dict(
            zip(
                table.column("path").to_pylist(),
                table.column("line_count").to_pylist(),
                strict=True,
            )
        )

    def chunks_by_ids(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids (missing ids are left out), in no particular order."""
        if self._chunks is None or not ids:
            return []
        found: list[Chunk] = []
        unique = sorted(set(ids))
        for start in range(0, len(unique), 500):
            table = (
                self._chunks.search()
                .where(_in_list("id", unique[start : start + 500]), prefilter=True)
                .select(_CHUNK_COLUMNS)
                .limit(None)
                .to_arrow()
            )
            found.extend(_chunks_from(table))
        return found

    def definitions(self, symbol: str) -> list[Chunk]:
        """Chunks that define `symbol` (a bare name or a qualified name like `Class.method`)."""
        if self._chunks is None or not symbol:
            return []
        kinds = ", ".join(_sql(k) for k in sorted(KINDS_WITH_NAMES))
        where = (
            f"(symbol = {_sql(symbol)} OR qualified_name = {_sql(symbol)}) AND kind IN ({kinds})"
        )
        table = (
            self._chunks.search()
            .where(where, prefilter=True)
            .select(_CHUNK_COLUMNS)
            .limit(None)
            .to_arrow()
        )
        return sorted(_chunks_from(table), key=lambda c: (c.path, c.start_line))

    def references(self, symbol: str) -> list[SymbolLocation]:
        """Lines that use `symbol` (an identifier), excluding the lines that define it."""
        if self._files is None or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", symbol):
            return []
        table = (
            self._files.search()
            .where(f"array_has(names, {_sql(symbol)})", prefilter=True)
            .select(["path"])
            .limit(None)
            .to_arrow()
        )
        pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(symbol)}(?![A-Za-z0-9_])")
        found: list[SymbolLocation] = []
        for path in sorted(table.column("path").to_pylist()):
            for chunk in self.chunks_for_path(path):
                defining = chunk.symbol == symbol
                for offset, line in enumerate(chunk.content.split("\n")):
                    if not pattern.search(line):
                        continue
                    if defining:
                        # The first mention in the chunk that defines the name is the definition.
                        defining = False
                        continue
                    found.append(
                        SymbolLocation(path, chunk.start_line + offset, symbol, "reference")
                    )
        return found

    def name_counts(self) -> dict[str, int]:
        """Occurrences of every identifier across indexed files (definitions included)."""
        if self._files is None:
            return {}
        table = self._files.search().select(["names", "name_counts"]).limit(None).to_arrow()
        totals: dict[str, int] = {}
        for names, counts in zip(
            table.column("names").to_pylist(), table.column("name_counts").to_pylist(), strict=True
        ):
            for name, count in zip(names or [], counts or [], strict=True):
                totals[name] = totals.get(name, 0) + count
        return totals

    def unreferenced_definitions(self) -> list[CodeEntity]:
        """Functions, methods and classes whose name occurs nowhere but in their definitions.

        Grounding for "remove unused code": a name mentioned only as many times as it is
        defined is not called, imported or referenced anywhere in the index (dynamic uses
        like getattr strings do count, since every identifier-like word is counted).
        """
        totals = self.name_counts()
        entities = [e for e in self.code_entities() if e.kind != "file"]
        defined: dict[str, int] = {}
        for entity in entities:
            name = entity.qualified_name.rsplit(".", 1)[-1]
            defined[name] = defined.get(name, 0) + 1
        return [
            e
            for e in entities
            if totals.get(e.qualified_name.rsplit(".", 1)[-1], 0)
            <= defined[e.qualified_name.rsplit(".", 1)[-1]]
            and not e.qualified_name.rsplit(".", 1)[-1].startswith("__")
        ]


# Every public store method reports a damaged or unreadable index as one line.
for _name, _member in list(vars(IndexStore).items()):
    if not _name.startswith("_") and _name not in {"open", "close"} and callable(_member):
        setattr(IndexStore, _name, _guarded(_member))


def _id_texts(table: pa.Table) -> dict[str, str | None]:
    ids, texts = table.column("id").to_pylist(), table.column("content").to_pylist()
    return dict(zip(ids, texts, strict=True))


def _record_row(record: FileRecord) -> dict[str, Any]:
    return {
        "path": record.path,
        "size": record.size,
        "mtime_ns": record.mtime_ns,
        "content_hash": record.content_hash,
        "language": record.language,
        "status": record.status,
        "reason": record.reason,
        "line_count": record.line_count,
        "chunk_count": record.chunk_count,
        "imports": list(record.imports),
        "names": list(record.names),
        "name_counts": list(record.name_counts),
    }
