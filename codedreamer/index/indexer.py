"""Index a codebase incrementally: walk, gate on mtime+size, hash, chunk, embed, write.

A file is read only when its size or mtime changed, re-chunked only when its content hash
changed, and committed in batches: chunks first, then its manifest row, so a run killed
at any moment resumes without redoing the files it finished. Large runs parse and embed
in worker processes (tree-sitter holds the GIL); the parent process only writes.

Public entry points: `index_codebase`, `open_index`, `ensure_index`, and `Indexer` (used by
the live watcher to re-index single paths).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from codedreamer.errors import CodeIndexError, UsageError
from codedreamer.index.chunk import Chunk, ParsedFile, content_hash
from codedreamer.index.chunker import LineTooLong, chunk_code, chunk_text
from codedreamer.index.embedder import Embedder, LexicalEmbedder, build_embedder
from codedreamer.index.languages import spec_named
from codedreamer.index.parser import ParseTimeout
from codedreamer.index.secrets import redact_secrets, scanner
from codedreamer.index.store import FileRecord, FileWrite, IndexStore, chunk_table, wipe_index_dir
from codedreamer.index.tokens import IDENTIFIER, identifier_terms
from codedreamer.index.walker import MAX_FILE_BYTES, FileEntry, IgnoreRules, Skipped, walk

if TYPE_CHECKING:
    import pyarrow as pa

    from codedreamer.config.settings import Settings

# Lance's native log lines (index builds, compaction) go to this file under DATA_DIR.
LANCE_LOG = "lance.log"
# A line this long is minified or generated code, not something to dream about.
MINIFIED_LINE_CHARS = 20_000
# mtimes this close to "now" may change again within the same tick: re-hash next time.
RACY_MTIME_NS = 2_000_000_000
# Fewer changed files than this are parsed in-process: starting workers costs ~1 s.
POOL_MIN_FILES = 96
JOB_BATCH = 24
BATCH_BYTES = 256_000
WRITE_BATCH_FILES = 256
WRITE_BATCH_CHUNKS = 8_192
WORKER_GC_THRESHOLD = (20_000, 20, 1_000)


@dataclass(frozen=True)
class IndexProgress:
    """Emitted after each file is processed; `files_committed` counts those safely on disk."""

    files_done: int
    files_total: int
    files_committed: int
    chunks_written: int
    path: str
    elapsed: float
    phase: Literal["scan", "index", "finish"] = "index"


@dataclass(frozen=True)
class IndexReport:
    """What one indexing run did."""

    codebase: str
    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_written: int = 0
    chunks_total: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    truncated_chunks: int = 0
    parse_fallbacks: int = 0
    seconds: float = 0.0
    cleared: bool = False
    workers: int = 1
    maintain_seconds: float = 0.0
    """Part of `seconds` spent building search indexes (full-text, ANN) and compacting."""
    secrets_redacted: int = 0
    """Secret values (tokens, keys, passwords) replaced in file text before indexing."""
    files_with_secrets: int = 0
    changed_paths: tuple[str, ...] = ()
    """Files re-read or removed by this run (hash-unchanged ones included), for graph sync."""
    phase_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time by phase: open (the store, LanceDB's import included), scan (manifest and
    walk), index (chunk, embed and write; `write` is the writer's share of it), maintain."""
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU time of this process (LanceDB's threads included) and of the worker processes."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Job:
    rel: str
    path: str
    size: int
    mtime_ns: int
    language: str
    parsed: bool
    expected_hash: str | None
    cap: int


@dataclass
class _Outcome:
    """One processed file. Workers send `rows` (ready to append), not chunk objects."""

    job: _Job
    status: Literal["indexed", "unchanged", "skipped"]
    reason: str = ""
    digest: str = ""
    fallback: bool = False
    size: int = 0
    line_count: int = 0
    chunk_count: int = 0
    truncated: int = 0
    imports: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    name_counts: list[int] = field(default_factory=list)
    rows: pa.Table | None = None
    secrets: int = 0
    """Secret values redacted from the file's text before it was chunked."""
    parsed: ParsedFile | None = None
    """Kept until embedded: by the worker (lexical) or by the parent (a GGUF model)."""
    ident_texts: list[str] = field(default_factory=list)
    extra_terms: list[list[str]] = field(default_factory=list)
    """Per chunk, the path and symbol terms the lexical embedder adds to its identifiers."""


def _read(job: _Job) -> bytes | str:
    """The file's bytes, or the reason it cannot be used."""
    try:
        with open(job.path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        return "unreadable"
    except OSError:
        return "unreadable"
    if len(data) > MAX_FILE_BYTES:
        return "too_large"
    return data


def _decode(data: bytes) -> str | None:
    if b"\0" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text[1:] if text.startswith("\ufeff") else text


def process_file(job: _Job, embedder: LexicalEmbedder | None) -> _Outcome:
    """Read, hash, chunk and (lexical) embed one file; bad input is a skip, never an error."""
    return process_files([job], embedder)[0]


def process_files(jobs: Sequence[_Job], embedder: LexicalEmbedder | None) -> list[_Outcome]:
    """`process_file` for many files, embedded together.

    With a lexical embedder, the first indexed outcome's `rows` holds every indexed file's
    chunks, in job order (`chunk_count` rows each; `split_rows` hands each file its own).
    One embedding and one Arrow table per batch instead of per file saves a fixed cost
    that, over thousands of small files, was a large part of indexing time.
    """
    outcomes = [_chunk_file(job) for job in jobs]
    if embedder is None:
        return outcomes
    indexed = [o for o in outcomes if o.status == "indexed" and o.parsed is not None]
    if not indexed:
        return outcomes
    chunks: list[Chunk] = []
    names: list[Mapping[str, int]] = []
    texts: list[str] = []
    extra: list[list[str]] = []
    for outcome in indexed:
        assert outcome.parsed is not None
        chunks.extend(outcome.parsed.chunks)
        names.extend(outcome.parsed.chunk_names)
        texts.extend(outcome.ident_texts)
        extra.extend(outcome.extra_terms)
        # Sent back to the parent process: only the rows are needed there.
        outcome.parsed, outcome.ident_texts, outcome.extra_terms = None, [], []
    vectors = embedder.embed_counts(names, extra)
    indexed[0].rows = chunk_table(chunks, texts, vectors, embedder.model_id)
    return outcomes


def split_rows(outcomes: Sequence[_Outcome]) -> None:
    """Give each indexed outcome its own slice of its batch's rows (see `process_files`)."""
    batch: pa.Table | None = None
    offset = 0
    for outcome in outcomes:
        if outcome.status != "indexed":
            continue
        if outcome.rows is not None:
            batch, offset = outcome.rows, 0
        if batch is not None:
            outcome.rows = batch.slice(offset, outcome.chunk_count)
            offset += outcome.chunk_count


def _chunk_file(job: _Job) -> _Outcome:
    """Read, hash and chunk one file, with the texts its chunks are searched by."""
    data = _read(job)
    if isinstance(data, str):
        return _Outcome(job, "skipped", reason=data)
    digest = content_hash(data)
    if digest == job.expected_hash:
        return _Outcome(job, "unchanged", digest=digest, size=len(data))
    if b"\0" in data:
        return _Outcome(job, "skipped", reason="binary", digest=digest, size=len(data))
    text = _decode(data)
    if text is None:
        return _Outcome(job, "skipped", reason="not_utf8", digest=digest, size=len(data))
    # Secret values are replaced before chunking: nothing derived from the text (chunks,
    # identifiers, search text, vectors) can hold them.
    redaction = redact_secrets(job.rel, text)
    if redaction.secrets:
        text = redaction.text
        data = text.encode("utf-8")
    fallback = False
    spec = spec_named(job.language) if job.parsed else None
    parsed: ParsedFile
    try:
        if spec is not None:
            try:
                source = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
                parsed = chunk_code(job.rel, spec, text, source, job.cap, MINIFIED_LINE_CHARS)
            except (ParseTimeout, RecursionError):
                # Pathological input for the grammar: line windows still index it.
                parsed = chunk_text(job.rel, job.language, text, job.cap, MINIFIED_LINE_CHARS)
                fallback = True
        else:
            parsed = chunk_text(job.rel, job.language, text, job.cap, MINIFIED_LINE_CHARS)
    except LineTooLong:
        return _Outcome(job, "skipped", reason="minified", digest=digest, size=len(data))
    path_terms = list(parsed.path_terms)
    path_text = " ".join(path_terms)
    # Plain dict look-ups (misses filled by __missing__) in C, per identifier occurrence.
    words, symbols = _IDENTIFIER_TEXT, _SYMBOL_TEXT
    if len(words) > _CACHE_LIMIT or len(symbols) > _CACHE_LIMIT:
        words.clear()
        symbols.clear()
    qualified = [c.qualified_name for c in parsed.chunks]
    ident_texts = [
        f"{path_text} {symbols[name][1]} {' '.join(map(words.__getitem__, chunk_names))}"
        for name, chunk_names in zip(qualified, parsed.chunk_names, strict=True)
    ]
    extra_terms = [path_terms + symbols[name][0] for name in qualified]
    names = sorted(parsed.names)
    return _Outcome(
        job,
        "indexed",
        digest=digest,
        fallback=fallback,
        size=len(data),
        line_count=parsed.line_count,
        chunk_count=len(parsed.chunks),
        truncated=parsed.truncated_chunks,
        imports=list(parsed.imports),
        names=names,
        name_counts=[parsed.names[n] for n in names],
        parsed=parsed,
        ident_texts=ident_texts,
        extra_terms=extra_terms,
        secrets=redaction.secrets,
    )


class _TextCache(dict[str, str]):
    """Identifier -> its full-text terms (as `identifier_text`), filled on first use."""

    def __missing__(self, name: str) -> str:
        # identifier_text's own LRU would only hold a second copy of this cache.
        text = self[name] = " ".join(identifier_terms(name))
        return text


class _SymbolCache(dict[str, tuple[list[str], str]]):
    """Qualified name -> (its terms, the same joined by spaces), filled on first use."""

    def __missing__(self, name: str) -> tuple[list[str], str]:
        terms: list[str] = []
        for word in IDENTIFIER.findall(name):
            terms.extend(identifier_terms(word))
        entry = self[name] = (terms, " ".join(terms))
        return entry


# Per process; emptied past this size, so a long-lived watcher's memory stays bounded.
_CACHE_LIMIT = 262_144
_IDENTIFIER_TEXT = _TextCache()
_SYMBOL_TEXT = _SymbolCache()


def _load_parsing() -> None:
    """Load what every file needs: the grammar and detect-secrets' plugins."""
    from codedreamer.index.languages import LANGUAGES
    from codedreamer.index.parser import parse

    parse(LANGUAGES[0], b"pass\n")
    scanner()


def _init_worker() -> None:
    """Prepare a worker process: grammar and Arrow loaded, garbage collection tuned.

    Chunking allocates millions of short-lived objects that form no cycles; with the default
    threshold the collector ran about a thousand times over the standard library and took
    ~8 % of a worker's time. Freezing the imported modules and collecting less often cuts
    that to ~1 %. Only worker processes are tuned: they run nothing but `process_files`.
    """
    import pyarrow  # noqa: F401  (imported by chunk_table; load it before the first batch)

    _load_parsing()  # already loaded when the worker was forked
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)


def _started() -> None:
    """A no-op task: submitting one per worker makes the pool start them all now."""


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork when nothing in this process can be broken by it, else spawn.

    A forked worker starts in milliseconds with the grammar and detect-secrets already
    loaded; a spawned one starts Python and imports numpy, tree-sitter and detect-secrets
    again (about half a second of CPU each). Forking while LanceDB runs its native threads
    is unsafe (lancedb #768), and so is forking a process with other Python threads (a Rich
    refresher holding a lock): fork is used only on Linux, before LanceDB or Arrow is
    imported (Arrow starts an allocator thread), with one Python thread, which is how
    `codedreamer index` starts. numpy's BLAS threads take care of fork themselves.
    """
    loaded = {"lancedb", "lance", "pyarrow"}.intersection(sys.modules)
    if sys.platform == "linux" and not loaded and threading.active_count() == 1:
        _load_parsing()
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _start_pool(workers: int) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=_init_worker
    )
    for _ in range(workers):
        pool.submit(_started)
    return pool


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def tests_included(settings: Settings) -> bool:
    """Whether test files are indexed: the INCLUDE_TESTS setting, off when it is not defined."""
    return bool(getattr(settings, "include_tests", False))


def _now_ns() -> int:
    return time.time_ns()


class Indexer:
    """Keeps one store in step with one codebase (full incremental runs or single paths)."""

    def __init__(
        self,
        codebase: Path,
        settings: Settings,
        store: IndexStore | None,
        *,
        workers: int | None = None,
        batch_files: int = WRITE_BATCH_FILES,
        include_tests: bool | None = None,
    ) -> None:
        if not codebase.exists():
            raise UsageError(f"{codebase}: no such directory")
        if not codebase.is_dir():
            raise UsageError(f"{codebase}: not a directory")
        self.codebase = codebase.resolve()
        self.settings = settings
        self._store = store
        self._early: _EarlyRun | None = None
        self.cold_seconds = 0.0
        """Time `start_cold` took (the walk before the store was opened)."""
        self.workers = workers if workers is not None else _default_workers()
        self.batch_files = batch_files
        self._pool: ProcessPoolExecutor | None = None
        self.rules = IgnoreRules(
            self.codebase,
            settings.exclude_patterns,
            extra_skip=[settings.data_dir, settings.index_dir, settings.dreams_dir],
            include_tests=include_tests if include_tests is not None else tests_included(settings),
        )

    @property
    def store(self) -> IndexStore:
        """The index this indexer writes (None only until `index_codebase` has opened it)."""
        if self._store is None:
            raise CodeIndexError("the indexer has no store yet")
        return self._store

    @store.setter
    def store(self, store: IndexStore) -> None:
        self._store = store

    # ---------------------------------------------------------------- planning

    def _job(self, entry: FileEntry, expected: str | None) -> _Job:
        return _Job(
            entry.rel,
            str(entry.path),
            entry.size,
            entry.mtime_ns,
            entry.language,
            entry.parsed,
            expected,
            self.settings.chunk_size,
        )

    def plan(
        self, manifest: dict[str, FileRecord], *, prestart: bool = False
    ) -> tuple[list[_Job], list[str], Counter[str], int, int]:
        """(jobs to run, paths to remove, skips by reason, files seen, files unchanged).

        With `prestart`, worker processes start as soon as enough work is found, so their
        start-up overlaps the rest of the walk.
        """
        jobs: list[_Job] = []
        skipped: Counter[str] = Counter()
        seen: set[str] = set()
        unchanged = 0
        for item in walk(self.codebase, self.rules):
            if isinstance(item, Skipped):
                skipped[item.reason] += 1
                continue
            seen.add(item.rel)
            record = manifest.get(item.rel)
            if record is not None and record.size == item.size and record.mtime_ns == item.mtime_ns:
                if record.status == "skipped":
                    skipped[record.reason] += 1
                else:
                    unchanged += 1
                continue
            jobs.append(self._job(item, record.content_hash if record is not None else None))
            if prestart and len(jobs) == POOL_MIN_FILES and self.workers > 1 and self._pool is None:
                self._pool = _start_pool(self.workers)
        removed = sorted(set(manifest) - seen)
        return jobs, removed, skipped, len(seen), unchanged

    def is_stale(self) -> bool:
        """Whether any file was added, changed (size/mtime) or removed since the last run."""
        jobs, removed, _, _, _ = self.plan(self.store.manifest())
        return bool(jobs or removed)

    def start_cold(self, embedder: LexicalEmbedder) -> None:
        """Plan an index that is known to be empty and hand every file to the workers now.

        `index_codebase` calls this before it opens the store, so the workers chunk and
        embed while LanceDB is imported and opened (about a second or more of one core)
        instead of waiting for it. `run` uses this work if the store is indeed empty.
        """
        if self._pool is None or self.workers <= 1:
            return
        started = time.perf_counter()
        jobs, removed, skipped, seen, unchanged = self.plan({})
        if len(jobs) < POOL_MIN_FILES:
            self.cold_seconds = time.perf_counter() - started
            return
        futures = self._submit(jobs, embedder)
        self.cold_seconds = time.perf_counter() - started
        self._early = _EarlyRun(
            jobs, removed, skipped, seen, unchanged, embedder, futures, self.cold_seconds
        )

    def _take_early(self, manifest: dict[str, FileRecord]) -> _EarlyRun | None:
        """The work `start_cold` started, if it fits this store (empty, same embedder)."""
        early, self._early = self._early, None
        if early is None:
            return None
        if manifest or self.store.embedder.model_id != early.embedder.model_id:
            for future in early.futures:
                future.cancel()
            return None
        return early

    # ---------------------------------------------------------------- running

    def run(
        self,
        progress: Callable[[IndexProgress], None] | None = None,
        *,
        clear: bool = False,
        build_ann: bool = True,
    ) -> IndexReport:
        """Bring the whole index up to date with the codebase.

        `build_ann=False` leaves the ANN vector index (tens of seconds past 50k chunks) to a
        later `store.maintain()`; search works without it, by exact scan.
        """
        started = time.perf_counter()
        if clear:
            self.store.clear()
        manifest = self.store.manifest()
        try:
            indexed_paths = {path for path, rec in manifest.items() if rec.status == "indexed"}
            # Chunks without a manifest row come from a run killed between its two commits.
            orphans = self.store.chunk_paths() - indexed_paths
            if orphans:
                self.store.remove_paths(orphans)
            early = self._take_early(manifest)
            if early is not None:
                jobs, removed, skipped = early.jobs, early.removed, early.skipped
                seen, unchanged = early.seen, early.unchanged
            else:
                jobs, removed, skipped, seen, unchanged = self.plan(manifest, prestart=True)
            scanned = time.perf_counter()
            if progress is not None:
                progress(IndexProgress(0, len(jobs), 0, 0, "", scanned - started, "scan"))
            tally = self._execute(
                jobs,
                manifest,
                indexed_paths,
                skipped,
                progress,
                started,
                early.futures if early is not None else None,
            )
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
        if removed:
            self.store.remove_paths(removed)
        maintain_started = time.perf_counter()
        self.store.maintain(build_ann=build_ann)
        maintain_seconds = time.perf_counter() - maintain_started
        phases = {
            "scan": scanned - started + (early.seconds if early is not None else 0.0),
            "index": maintain_started - scanned,
            "write": tally.write_seconds,
            "maintain": maintain_seconds,
        }
        report = IndexReport(
            codebase=str(self.codebase),
            files_seen=seen,
            files_indexed=tally.indexed,
            files_unchanged=unchanged + tally.unchanged,
            files_removed=len(removed),
            chunks_written=tally.chunks,
            chunks_total=self.store.count(),
            skipped=dict(sorted(skipped.items())),
            truncated_chunks=tally.truncated,
            parse_fallbacks=tally.fallbacks,
            seconds=time.perf_counter() - started,
            cleared=clear,
            workers=tally.workers,
            maintain_seconds=maintain_seconds,
            secrets_redacted=tally.secrets,
            files_with_secrets=tally.secret_files,
            changed_paths=tuple(sorted({job.rel for job in jobs} | set(removed))),
            phase_seconds={name: round(value, 3) for name, value in phases.items()},
        )
        if progress is not None:
            progress(
                IndexProgress(
                    len(jobs),
                    len(jobs),
                    tally.committed,
                    tally.chunks,
                    "",
                    report.seconds,
                    "finish",
                )
            )
        return report

    def update_paths(self, paths: Iterable[Path], *, maintain: bool = True) -> IndexReport:
        """Re-index just these files (a watcher batch): hash-checked, removed if gone or ignored.

        `maintain=False` skips the store's index building and compaction (the live watcher
        runs them when it is idle, so an edit never waits behind a compaction).
        """
        started = time.perf_counter()
        manifest = self.store.manifest()
        indexed_paths = {path for path, rec in manifest.items() if rec.status == "indexed"}
        jobs: list[_Job] = []
        removed: list[str] = []
        skipped: Counter[str] = Counter()
        for path in sorted(set(paths)):
            rel, item = self._classify(path)
            if rel is None:
                continue
            if item is None or isinstance(item, Skipped):
                if rel in manifest:
                    removed.append(rel)
                if isinstance(item, Skipped):
                    skipped[item.reason] += 1
                continue
            record = manifest.get(rel)
            jobs.append(self._job(item, record.content_hash if record is not None else None))
        tally = self._execute(jobs, manifest, indexed_paths, skipped, None, started)
        if removed:
            self.store.remove_paths(removed)
        if maintain:
            self.store.maintain()
        return IndexReport(
            codebase=str(self.codebase),
            files_seen=len(jobs),
            files_indexed=tally.indexed,
            files_unchanged=tally.unchanged,
            files_removed=len(removed),
            chunks_written=tally.chunks,
            chunks_total=self.store.count(),
            skipped=dict(skipped),
            truncated_chunks=tally.truncated,
            parse_fallbacks=tally.fallbacks,
            seconds=time.perf_counter() - started,
            changed_paths=tuple(sorted({job.rel for job in jobs} | set(removed))),
        )

    def _classify(self, path: Path) -> tuple[str | None, FileEntry | Skipped | None]:
        """A watched path as the walker would see it: (relative path, entry/skip/None if gone)."""
        from codedreamer.index.walker import classify

        try:
            rel = path.absolute().relative_to(self.codebase).as_posix()
        except ValueError:
            return None, None
        if rel in {"", "."}:
            return None, None
        return rel, classify(self.codebase, rel, self.rules)

    def _execute(
        self,
        jobs: list[_Job],
        manifest: dict[str, FileRecord],
        indexed_paths: set[str],
        skipped: Counter[str],
        progress: Callable[[IndexProgress], None] | None,
        started: float,
        futures: list[Future[list[_Outcome]]] | None = None,
    ) -> _Tally:
        tally = _Tally()
        lexical = self.store.embedder if isinstance(self.store.embedder, LexicalEmbedder) else None
        pending: list[_Outcome] = []
        touched: list[FileRecord] = []
        pending_chunks = 0
        recorded = set(manifest)

        def flush() -> None:
            nonlocal pending_chunks
            flush_started = time.perf_counter()
            if pending:
                writes = [self._write_for(o) for o in pending]
                tally.chunks += self.store.write_files(writes, indexed_paths, recorded)
                tally.committed += len(pending)
                pending.clear()
                pending_chunks = 0
            if touched:
                self.store.update_records(touched)
                touched.clear()
            tally.write_seconds += time.perf_counter() - flush_started

        outcomes = self._outcomes(jobs, lexical, tally, futures)
        for done, outcome in enumerate(outcomes, start=1):
            if outcome.status == "unchanged":
                tally.unchanged += 1
                record = manifest.get(outcome.job.rel)
                if record is not None and not self._racy(outcome.job.mtime_ns):
                    touched.append(
                        FileRecord(
                            path=record.path,
                            size=outcome.job.size,
                            mtime_ns=outcome.job.mtime_ns,
                            content_hash=record.content_hash,
                            language=record.language,
                            status=record.status,
                        )
                    )
                if record is not None and record.status == "skipped":
                    skipped[record.reason] += 1
                    tally.unchanged -= 1
            else:
                if outcome.status == "skipped":
                    skipped[outcome.reason] += 1
                else:
                    tally.indexed += 1
                    tally.secrets += outcome.secrets
                    tally.secret_files += outcome.secrets > 0
                    tally.truncated += outcome.truncated
                    tally.fallbacks += outcome.fallback
                    pending_chunks += outcome.chunk_count
                pending.append(outcome)
            if len(pending) >= self.batch_files or pending_chunks >= WRITE_BATCH_CHUNKS:
                flush()
            if progress is not None:
                progress(
                    IndexProgress(
                        done,
                        len(jobs),
                        tally.committed,
                        tally.chunks,
                        outcome.job.rel,
                        time.perf_counter() - started,
                    )
                )
        flush()
        return tally

    def _outcomes(
        self,
        jobs: list[_Job],
        lexical: LexicalEmbedder | None,
        tally: _Tally,
        futures: list[Future[list[_Outcome]]] | None = None,
    ) -> Iterator[_Outcome]:
        if futures is None and (len(jobs) < POOL_MIN_FILES or self.workers <= 1):
            for start in range(0, len(jobs), JOB_BATCH):
                outcomes = process_files(jobs[start : start + JOB_BATCH], lexical)
                split_rows(outcomes)
                for outcome in outcomes:
                    yield self._embed(outcome)
            return
        tally.workers = self.workers
        if futures is None:
            futures = self._submit(jobs, lexical)
        for future in futures:
            outcomes = future.result()
            split_rows(outcomes)
            for outcome in outcomes:
                yield self._embed(outcome)

    def _submit(
        self, jobs: list[_Job], lexical: LexicalEmbedder | None
    ) -> list[Future[list[_Outcome]]]:
        if self._pool is None:
            self._pool = _start_pool(self.workers)
        # Biggest files first, in batches of similar size, so no worker is left with a long tail.
        ordered = sorted(jobs, key=lambda job: -job.size)
        batches: list[list[_Job]] = []
        budget = 0
        for job in ordered:
            if not batches or budget + job.size > BATCH_BYTES or len(batches[-1]) >= JOB_BATCH:
                batches.append([])
                budget = 0
            batches[-1].append(job)
            budget += job.size
        return [self._pool.submit(process_files, batch, lexical) for batch in batches]

    def _embed(self, outcome: _Outcome) -> _Outcome:
        """Rows for outcomes that the workers could not embed (a GGUF model lives here)."""
        if outcome.status != "indexed" or outcome.rows is not None or outcome.parsed is None:
            return outcome
        embedder = self.store.embedder
        chunks = outcome.parsed.chunks
        texts = [f"{c.path}\n{c.qualified_name}\n{c.content}" for c in chunks]
        vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
        outcome.rows = chunk_table(chunks, outcome.ident_texts, vectors, embedder.model_id)
        outcome.parsed, outcome.ident_texts, outcome.extra_terms = None, [], []
        return outcome

    def _racy(self, mtime_ns: int) -> bool:
        return _now_ns() - mtime_ns < RACY_MTIME_NS

    def _write_for(self, outcome: _Outcome) -> FileWrite:
        job = outcome.job
        # A file written within the last moments may change again without its mtime moving.
        mtime = -1 if self._racy(job.mtime_ns) else job.mtime_ns
        indexed = outcome.status == "indexed"
        return FileWrite(
            FileRecord(
                path=job.rel,
                size=job.size,
                mtime_ns=mtime,
                content_hash=outcome.digest,
                language=job.language,
                status="indexed" if indexed else "skipped",
                reason="" if indexed else outcome.reason,
                line_count=outcome.line_count,
                chunk_count=outcome.chunk_count,
                imports=outcome.imports,
                names=outcome.names,
                name_counts=outcome.name_counts,
            ),
            rows=outcome.rows,
        )


@dataclass
class _EarlyRun:
    """Work `Indexer.start_cold` handed to the workers before the store was open."""

    jobs: list[_Job]
    removed: list[str]
    skipped: Counter[str]
    seen: int
    unchanged: int
    embedder: LexicalEmbedder
    futures: list[Future[list[_Outcome]]]
    seconds: float


@dataclass
class _Tally:
    secrets: int = 0
    secret_files: int = 0
    indexed: int = 0
    unchanged: int = 0
    chunks: int = 0
    committed: int = 0
    truncated: int = 0
    fallbacks: int = 0
    workers: int = 1
    write_seconds: float = 0.0


def open_index(
    settings: Settings, *, read_only: bool = False, embedder: Embedder | None = None
) -> IndexStore:
    """The index in `settings.index_dir`, with the configured embedder.

    Read-only stores (viewers, other processes) re-check for new commits every second.
    Lance's native log lines during index builds go to `<DATA_DIR>/lance.log`, or to the
    terminal with LOG_LEVEL=debug.
    """
    return IndexStore.open(
        settings.index_dir,
        embedder if embedder is not None else build_embedder(settings),
        read_consistency_interval=1.0 if read_only else None,
        read_only=read_only,
        native_log=None if settings.log_level == "DEBUG" else settings.data_dir / LANCE_LOG,
    )


def index_codebase(
    codebase: Path,
    settings: Settings,
    *,
    progress: Callable[[IndexProgress], None] | None = None,
    clear: bool = False,
    store: IndexStore | None = None,
    workers: int | None = None,
    build_ann: bool = True,
    include_tests: bool | None = None,
) -> IndexReport:
    """Index `codebase` into `settings.index_dir` (incrementally unless `clear`).

    `include_tests` overrides the INCLUDE_TESTS setting for this run. `clear` recovers an
    index in any state: its tables are removed before it is opened, so a damaged index
    that cannot be opened is rebuilt too.
    """
    own = store is None
    if own and clear:
        index_dir = settings.index_dir.absolute()
        inside = index_dir.is_relative_to(settings.data_dir.absolute())
        wipe_index_dir(settings.index_dir, remove_file=inside)
    count = workers if workers is not None else _default_workers()
    cpu_started = _cpu_seconds()
    pool: ProcessPoolExecutor | None = None
    if own and count > 1 and (clear or not settings.index_dir.exists()):
        # A cold index parses every file: start the workers now, so their start-up overlaps
        # opening the store (importing LanceDB takes about a second).
        pool = _start_pool(count)
    opening = time.perf_counter()
    try:
        indexer = Indexer(codebase, settings, store, workers=count, include_tests=include_tests)
        indexer._pool = pool
        if pool is not None and settings.embed_model_path is None:
            # The index is empty: the workers can start on every file before it is open.
            indexer.start_cold(LexicalEmbedder())
        active = open_index(settings) if store is None else store
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        raise
    opened = time.perf_counter() - opening
    try:
        indexer.store = active
        report = indexer.run(progress, clear=clear, build_ann=build_ann)
        if pool is not None:
            pool.shutdown()  # joined, so the workers' CPU time is counted
        cpu = _cpu_seconds()
        return replace(
            report,
            # What the user waited for: on a cold index most of the work is done before
            # `run` starts (while the store opens), so its own timer would say 0.3 s.
            seconds=time.perf_counter() - opening,
            phase_seconds={
                # A cold run walks the tree before it opens the store: that is scan time.
                "open": round(opened - indexer.cold_seconds, 3),
                **report.phase_seconds,
            },
            cpu_seconds={
                name: round(cpu[name] - cpu_started[name], 3) for name in ("parent", "workers")
            },
        )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)  # a no-op when the run already shut it down
        if own:
            active.close()


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) of this process and of its finished child processes."""
    try:
        import resource
    except ImportError:  # not on Unix
        return {"parent": 0.0, "workers": 0.0}
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "parent": own.ru_utime + own.ru_stime,
        "workers": children.ru_utime + children.ru_stime,
    }


def ensure_index(
    codebase: Path,
    settings: Settings,
    progress: Callable[[IndexProgress], None] | None = None,
    *,
    build_ann: bool = True,
) -> IndexReport | None:
    """Auto-index on start: wipe if CLEAR_INDEX_ON_START, index if empty or stale, else None.

    `build_ann=False` leaves the ANN index to the live watcher's idle maintenance, so the
    first dream does not wait for an index that exact search does without.
    """
    store = open_index(settings)
    try:
        indexer = Indexer(codebase, settings, store)
        if settings.clear_index_on_start or store.count() == 0 or indexer.is_stale():
            return indexer.run(progress, clear=settings.clear_index_on_start, build_ann=build_ann)
        return None
    finally:
        store.close()
