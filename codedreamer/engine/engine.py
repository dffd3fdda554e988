"""The engine: owns the index, the models and the dream store for one codebase, runs cycles.

Everything heavy is built here, lazily, and nowhere else. The engine reports what it does
only through events, so the console printer, the TUI and the daemon log are interchangeable.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from codedreamer.dream.context import (
    CycleContext,
    CycleState,
    Services,
    Step,
    SymbolLookup,
    run_steps,
)
from codedreamer.dream.parse import extract_title
from codedreamer.errors import (
    CodeDreamerError,
    GraphConflictError,
    GraphError,
    PromptBudgetError,
)
from codedreamer.events import (
    CycleStarted,
    DreamRejected,
    EngineError,
    EventSink,
    Notice,
    RankChanged,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from codedreamer.config.settings import Settings
    from codedreamer.dream.validation.vector_cache import VectorCache
    from codedreamer.index.indexer import IndexProgress, IndexReport
    from codedreamer.index.store import IndexStore
    from codedreamer.index.watcher import LiveIndexer
    from codedreamer.memory.graph import KnowledgeGraph
    from codedreamer.memory.trm import TemporalMemory
    from codedreamer.models.registry import ModelSet
    from codedreamer.storage.attempts import AttemptLog
    from codedreamer.storage.dream import Dream
    from codedreamer.storage.store import DreamStore

__all__ = ["CycleOutcome", "Engine", "cycle_steps", "extract_title"]

TRM_FILE = "trm.json"
ATTEMPTS_FILE = "attempts.jsonl"


@dataclass(frozen=True)
class CycleOutcome:
    dream: Dream | None
    rejection: str | None = None
    detail: str = ""


def _with_score(ranked: Dream, *, priority: bool = False) -> Callable[[Dream], Dream]:
    """A store update that takes the new score (and priority) but keeps everything else,
    including a status the user changed since the dream was read."""

    def change(current: Dream) -> Dream:
        updated = replace(current, score=ranked.score, score_parts=ranked.score_parts)
        if priority:
            updated = replace(
                updated, priority=ranked.priority, priority_reason=ranked.priority_reason
            )
        return updated

    return change


def cycle_steps() -> list[tuple[str, Step]]:
    """The dream cycle, in order (SPEC §5). A stage is one module; adding one is one line."""
    from codedreamer.dream.aim import focus_step
    from codedreamer.dream.avoidance import avoidance_step
    from codedreamer.dream.check import verify_step
    from codedreamer.dream.code import code_step
    from codedreamer.dream.critic import critic_step
    from codedreamer.dream.drill import drill_step
    from codedreamer.dream.gather import gather_step
    from codedreamer.dream.judge import judge_step
    from codedreamer.dream.jump import jump_step
    from codedreamer.dream.recall import recall_step
    from codedreamer.dream.record import reflect_step, store_step
    from codedreamer.dream.select import select_step
    from codedreamer.dream.think import think_step

    return [
        ("drill", drill_step),
        ("jump", jump_step),
        ("focus", focus_step),
        ("select", select_step),
        ("avoid", avoidance_step),
        ("gather", gather_step),
        ("recall", recall_step),
        ("think", think_step),
        ("validate", judge_step),
        ("code", code_step),
        ("critic", critic_step),
        ("reflect", reflect_step),
        ("store", store_step),
        ("verify", verify_step),
    ]


class Engine:
    """Dream cycles over one codebase."""

    def __init__(
        self,
        settings: Settings,
        codebase: Path,
        sink: EventSink,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.codebase = codebase
        self._sink = sink
        self._rng = rng or random.Random()
        self._models: ModelSet | None = None
        self._index: IndexStore | None = None
        self._store: DreamStore | None = None
        self._graph: KnowledgeGraph | None = None
        self._graph_broken = False
        self._known_names: frozenset[str] | None = None
        self._known_paths: frozenset[str] | None = None
        self._live: LiveIndexer | None = None
        # Set by the watcher thread, read by the cycle thread: a plain flag is enough.
        self._index_changed = False
        # Paths re-indexed by the watcher thread since the last cycle; guarded by the lock.
        self._changed_paths: set[str] = set()
        self._changed_lock = threading.Lock()
        self._last_decay = time.time()
        self._similar_pending = False
        self._cycle = 0
        self._state = CycleState()
        self._symbols_broken = False
        self._memory: TemporalMemory | None = None
        self._attempts: AttemptLog | None = None
        self._vectors: VectorCache | None = None
        self._interrupted_done = False
        self.steps: Sequence[tuple[str, Step]] = cycle_steps()

    @property
    def models(self) -> ModelSet:
        if self._models is None:
            from codedreamer.models.registry import ModelSet

            self._models = ModelSet.from_settings(self.settings)
        return self._models

    @property
    def store(self) -> DreamStore:
        if self._store is None:
            from codedreamer.storage.store import DreamStore

            self._store = DreamStore(self.settings.dreams_dir)
        return self._store

    @property
    def index(self) -> IndexStore:
        if self._index is None:
            from codedreamer.index.indexer import open_index

            self._index = open_index(self.settings)
        return self._index

    def ensure_index(
        self, progress: Callable[[IndexProgress], None] | None = None
    ) -> IndexReport | None:
        """Index the codebase if the index is empty or stale; None if it was current."""
        from codedreamer.index.indexer import ensure_index

        # The ANN index is left to the live watcher's idle maintenance: the first dream
        # should not wait for an index that exact search does without.
        report = ensure_index(self.codebase, self.settings, progress=progress, build_ann=False)
        if report is not None:
            self._sink(
                Notice(
                    message=f"index refreshed: {report.files_indexed} files, "
                    f"{report.chunks_written} chunks in {report.seconds:.1f}s"
                )
            )
            # A refreshed index must be reopened to see the new table version.
            if self._index is not None:
                self._index.close()
                self._index = None
            self._known_names = None
            self._known_paths = None
        graph = self._load_graph()
        if graph is not None and (report is not None or len(graph) == 0):
            # The all-pairs `similar` pass takes seconds on a big index and no first cycle
            # needs it: CODE nodes and imports now, similarity after the first cycle.
            self._change_graph(lambda graph: self._backfill(graph, similar=False))
            self._similar_pending = True
        return report

    def finish_interrupted_work(self, verify_limit: int = 20) -> int:
        """Once per engine, after its first cycle: what a kill or stop cut short last time.

        A dream is written before the graph learns of it and before its patch is verified;
        the soak killed the daemon between those steps. Dreams without a DREAM node get one
        (linked as they would have been), and pending dreams with code but no verification
        record are verified, newest first, at most `verify_limit` per start. Returns how
        many dreams were mended.
        """
        if self._interrupted_done:
            return 0
        self._interrupted_done = True
        from codedreamer.safe_text import safe_line
        from codedreamer.storage.dream import Status

        dreams = self.store.list().dreams
        mended = self._restore_dream_nodes(dreams)
        root = self.codebase
        if not (root / ".git").exists():
            return mended
        from codedreamer.verify.verifier import verify_dream

        unverified = [
            d
            for d in dreams
            if (d.diff or d.code) and not d.verification and d.status == Status.PENDING
        ]
        for dream in unverified[:verify_limit]:
            try:
                verify_dream(self.store, dream.id, codebase=root)
            except CodeDreamerError as exc:
                self._sink(EngineError(message=safe_line(f"verification skipped: {exc}")))
                continue
            mended += 1
        if unverified:
            self._sink(
                Notice(
                    message=f"verified {min(len(unverified), verify_limit)} dreams "
                    f"a stop had left unverified"
                )
            )
        return mended

    def _restore_dream_nodes(self, dreams: Sequence[Dream]) -> int:
        from codedreamer.dream.record import code_node_ids
        from codedreamer.memory.graph_types import dream_node_id

        graph = self._load_graph()
        if graph is None:
            return 0
        missing = [d for d in dreams if dream_node_id(d.id) not in graph]
        if not missing:
            return 0

        def add(graph: KnowledgeGraph) -> None:
            for dream in reversed(missing):  # oldest first, so parents exist for `refines`
                graph.add_dream(
                    dream.id,
                    about=code_node_ids(
                        dream.source_path, dream.symbols[0] if dream.symbols else ""
                    ),
                    parent_dream_id=dream.parent,
                    label=dream.title,
                    path=dream.source_path,
                    start_line=dream.line_start,
                    end_line=dream.line_end,
                    now=dream.created.timestamp(),
                )

        if self._change_graph(add):
            self._sink(Notice(message=f"graph: {len(missing)} dreams a stop had left out added"))
            return len(missing)
        return 0

    def maintain_graph(self) -> bool:
        """Work the graph left for a quiet moment (the `similar` edges); True if it ran."""
        if not self._similar_pending:
            return False
        self._similar_pending = False
        return self._change_graph(self._backfill)

    def start_live_index(self) -> None:
        """Keep the index current while the engine runs: watchfiles re-indexes edits."""
        from codedreamer.index.watcher import LiveIndexer

        if self._live is None:
            self._live = LiveIndexer(
                self.codebase, self.settings, self.index, on_update=self._note_index_update
            )
            self._live.start()
            self._sink(Notice(message=f"watching {self.codebase} for changes"))

    def _note_index_update(self, report: IndexReport) -> None:
        with self._changed_lock:
            self._changed_paths.update(report.changed_paths)
        self._index_changed = True
        self._sink(
            Notice(
                message=f"index updated: {report.files_indexed} changed, "
                f"{report.files_removed} removed"
            )
        )

    def _absorb_index_changes(self) -> None:
        """After live updates, refresh what was derived from the index (names, CODE nodes).

        Only the edited files' nodes and edges are re-synced: a full backfill is O(n²) in
        the number of definitions and would make every edit cost a whole-graph pass.
        """
        if not self._index_changed:
            return
        self._index_changed = False
        with self._changed_lock:
            paths, self._changed_paths = self._changed_paths, set()
        self._known_names = None
        self._known_paths = None
        if paths:
            from codedreamer.memory.code_sync import sync_changed_paths

            self._change_graph(lambda graph: sync_changed_paths(graph, self.index, paths))

    def decay_graph_if_due(self, now: float | None = None) -> bool:
        """Decay graph momentum every DECAY_INTERVAL_SEC; True if it ran."""
        now = time.time() if now is None else now
        if now - self._last_decay < self.settings.decay_interval_sec:
            return False
        self._last_decay = now
        return self._change_graph(lambda graph: graph.decay(now))

    def _load_graph(self) -> KnowledgeGraph | None:
        """The knowledge graph, or None if its files are corrupt (reported once, kept)."""
        if self._graph is None and not self._graph_broken:
            from codedreamer.memory.graph_store import load_graph

            try:
                self._graph = load_graph(self.settings.graph_dir)
            except GraphError as exc:
                # Dreams still work without the graph; the corrupt files stay for the user.
                self._graph_broken = True
                self._sink(EngineError(message=f"knowledge graph not used: {exc}"))
        return self._graph

    def _change_graph(self, change: Callable[[KnowledgeGraph], object]) -> bool:
        """Apply `change` to the graph and save it; False if there is no usable graph.

        If another process saved the graph meanwhile (`codedreamer graph decay` while the
        engine runs), its version is reloaded and `change` applied to it again, so neither
        side's work is lost and the engine never gets stuck unable to save.
        """
        from codedreamer.memory.graph_store import save_graph
        from codedreamer.memory.summary import graph_changed

        for attempt in range(2):
            graph = self._load_graph()
            if graph is None:
                return False
            change(graph)
            try:
                save_graph(graph, self.settings.graph_dir)
            except GraphConflictError as exc:
                self._graph = None  # reload what the other process saved
                if attempt == 0:
                    continue
                self._sink(EngineError(message=f"knowledge graph not saved: {exc}"))
                return False
            except GraphError as exc:
                self._sink(EngineError(message=f"knowledge graph not saved: {exc}"))
                return False
            self._sink(graph_changed(graph))
            return True
        return False

    def _save_graph(self, graph: KnowledgeGraph) -> None:
        """Save a graph a step changed; on a conflict the next load reads the disk version.

        Prefer `_change_graph`, which re-applies the change instead of losing it.
        """
        from codedreamer.memory.graph_store import save_graph
        from codedreamer.memory.summary import graph_changed

        try:
            save_graph(graph, self.settings.graph_dir)
        except GraphError as exc:
            if isinstance(exc, GraphConflictError):
                self._graph = None  # never stuck: the next change starts from the disk
            self._sink(EngineError(message=f"knowledge graph not saved: {exc}"))
            return
        self._sink(graph_changed(graph))

    def _backfill(self, graph: KnowledgeGraph, *, similar: bool = True) -> None:
        """Mirror the index's code entities and imports into CODE nodes and edges."""
        from codedreamer.memory.code_sync import backfill_from_index, chunk_locations

        index = self.index
        keys = chunk_locations(index) if similar else None
        backfill_from_index(graph, index, chunk_keys=keys, similar=similar)

    def _services(self) -> Services:
        return Services(
            settings=self.settings,
            sink=self._sink,
            rng=self._rng,
            reasoning=lambda: self.models.reasoning,
            coder=lambda: self.models.coder,
            index=lambda: self.index,
            store=lambda: self.store,
            graph=self._load_graph,
            memory=self._load_memory,
            name_exists=self._name_exists,
            path_exists=self._path_exists,
            symbols=self._symbols,
            change_graph=self._change_graph,
            codebase_root=str(self.codebase),
            read_source=self._read_source,
            attempts=self._earlier_attempts,
            vector_cache=self._load_vector_cache,
        )

    def _load_vector_cache(self) -> VectorCache:
        """Validation's vectors of earlier texts, saved at close: a restart embeds only
        what changed. A bad file is only a cache: said once, and the vectors redone."""
        if self._vectors is None:
            from codedreamer.dream.validation.novelty import default_embedder
            from codedreamer.dream.validation.vector_cache import FILE_NAME, VectorCache

            self._vectors = VectorCache.load(self.settings.data_dir / FILE_NAME, default_embedder())
            if self._vectors.problem:
                self._sink(Notice(message=f"validation vectors redone: {self._vectors.problem}"))
        return self._vectors

    def _save_vector_cache(self) -> None:
        if self._vectors is None or not len(self._vectors):
            return
        from codedreamer.dream.validation.vector_cache import FILE_NAME

        try:
            self._vectors.save(self.settings.data_dir / FILE_NAME)
        except OSError as exc:
            self._sink(Notice(message=f"validation vectors not saved: {exc}"))

    def _load_memory(self) -> TemporalMemory | None:
        if self._memory is None:
            from codedreamer.memory.trm import TemporalMemory

            self._memory = TemporalMemory(self.settings.data_dir / TRM_FILE)
            if self._memory.problem:
                self._sink(EngineError(message=self._memory.problem))
        return self._memory

    def _attempt_log(self) -> AttemptLog:
        if self._attempts is None:
            from codedreamer.storage.attempts import AttemptLog

            self._attempts = AttemptLog(self.settings.data_dir / ATTEMPTS_FILE)
        return self._attempts

    def _earlier_attempts(self) -> list[object]:
        from codedreamer.dream.validation import EarlierDream

        return [
            EarlierDream(
                f"attempt-{n}",
                a.text,
                title=a.title,
                symbol=a.symbol,
                category=a.category,
                status="attempt",
            )
            for n, a in enumerate(self._attempt_log().read())
        ]

    def _symbols(self) -> SymbolLookup | None:
        """The index's structure queries (index/symbols.py); None if they cannot be built.

        Context and dead-code focus are improvements, not requirements: a failure here is
        reported once and the cycle goes on without them.
        """
        if self._symbols_broken:
            return None
        from codedreamer.index.symbols import symbols_for

        try:
            found: SymbolLookup = symbols_for(self.index)
        except Exception as exc:  # any failure here only costs context, never the cycle
            self._symbols_broken = True
            self._sink(EngineError(message=f"code structure queries not used: {exc}"))
            return None
        return found

    def _read_source(self, path: str) -> str | None:
        root = self.codebase.resolve()
        try:
            target = (root / path).resolve()
            if not target.is_relative_to(root):
                return None
            text = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        from codedreamer.index.secrets import redact_secrets

        # The file goes into prompts: secrets are redacted as they are in the index.
        return redact_secrets(path, text).text

    def dream_once(
        self, *, cancel: threading.Event | None = None, max_tokens: int | None = None
    ) -> CycleOutcome:
        """One cycle: the steps of `self.steps` over one context. Never raises on a bad dream."""
        self._cycle += 1
        self._sink(CycleStarted(cycle=self._cycle))
        self._absorb_index_changes()
        listing = self.store.list()
        earlier = sorted(listing.dreams, key=lambda d: d.created, reverse=True)
        self._rerank_if_due(earlier)
        context = CycleContext(
            services=self._services(),
            state=self._state,
            cycle=self._cycle,
            cancel=cancel,
            max_tokens=max_tokens,
            earlier=earlier,
        )
        try:
            run_steps(context, self.steps)
        except PromptBudgetError as exc:
            # Code too large for the context window is a bad seed, not an engine failure.
            context.reject("prompt_too_long", str(exc))
        self._state.cycles += 1
        chunk = context.chunk
        if chunk is not None:
            self._state.last_path = chunk.path
        if context.dream is not None:
            self._state.consecutive_failures = 0
            return CycleOutcome(dream=context.dream)
        reason = context.rejection or "no_dream"
        if reason != "cancelled":
            self._state.consecutive_failures += 1
            if context.parent is not None:
                failures = self._state.drill_failures
                failures[context.parent.id] = failures.get(context.parent.id, 0) + 1
            if chunk is not None:
                key = (chunk.path, chunk.start_line, chunk.end_line)
                self._state.attempted[key] = self._state.attempted.get(key, 0) + 1
            if context.think is not None and context.think.text.strip():
                self._record_attempt(context, reason)
        return self._reject(reason, context.rejection_detail)

    def _record_attempt(self, context: CycleContext, reason: str) -> None:
        from codedreamer.storage.attempts import Attempt

        chunk = context.chunk
        assert chunk is not None and context.think is not None
        try:
            self._attempt_log().append(
                Attempt(
                    text=context.think.text,
                    reason=reason,
                    title=context.title,
                    symbol=chunk.qualified_name or chunk.symbol,
                    category=context.focus.name if context.focus else "",
                    path=chunk.path,
                    created=time.time(),
                )
            )
        except OSError as exc:
            self._sink(EngineError(message=f"rejected attempt not recorded: {exc}"))

    def _rerank_if_due(self, earlier: list[Dream]) -> None:
        """Re-score pending dreams every few cycles and whenever the user's marks change."""
        from codedreamer.dream.feedback import marks_signature
        from codedreamer.dream.reflect import RERANK_EVERY_CYCLES

        signature = marks_signature(earlier)
        previous = self._state.marks_signature
        marks_changed = bool(previous) and signature != previous
        self._state.marks_signature = signature
        periodic = self._state.cycles > 0 and self._state.cycles % RERANK_EVERY_CYCLES == 0
        if marks_changed or periodic:
            self.rerank(earlier)

    def rerank(self, dreams: list[Dream] | None = None) -> int:
        """Recompute the score of every pending dream; return how many changed."""
        from codedreamer.dream.feedback import tally
        from codedreamer.dream.record import centrality_of
        from codedreamer.dream.reflect import rescore
        from codedreamer.storage.dream import Status

        if dreams is None:
            dreams = self.store.list().dreams
        feedback = tally(dreams)
        context = CycleContext(services=self._services(), state=self._state, cycle=0)
        changed = 0
        for dream in dreams:
            if dream.status != Status.PENDING:
                continue
            symbol = dream.symbols[0] if dream.symbols else ""

            def centrality(d: Dream, symbol: str = symbol) -> float:
                return centrality_of(context, d.source_path, symbol)

            updated = rescore(dream, feedback, centrality)
            if abs(updated.score - dream.score) < 0.01:
                continue
            self.store.update(dream.id, _with_score(updated))
            changed += 1
            self._sink(
                RankChanged(
                    dream_id=dream.id,
                    score=updated.score,
                    previous_score=dream.score,
                    priority=dream.priority.value,
                )
            )
        return changed

    def reflect(self, dream_ids: Sequence[str] = (), *, limit: int = 0) -> list[Dream]:
        """Run reflection (priority + reason) and re-score; all pending dreams by default."""
        from codedreamer.dream.feedback import tally
        from codedreamer.dream.reflect import apply_reflection, reflect_dream, rescore
        from codedreamer.storage.dream import Status

        dreams = self.store.list().dreams
        chosen = (
            [d for d in dreams if d.id in set(dream_ids)]
            if dream_ids
            else [d for d in dreams if d.status == Status.PENDING]
        )
        if limit > 0:
            chosen = chosen[:limit]
        feedback = tally(dreams)
        done: list[Dream] = []
        for dream in chosen:
            reflection = reflect_dream(self.models.reasoning, dream, sink=self._sink)
            ranked = rescore(apply_reflection(dream, reflection), feedback)
            updated = self.store.update(dream.id, _with_score(ranked, priority=True))
            if updated.score != dream.score or updated.priority != dream.priority:
                self._sink(
                    RankChanged(
                        dream_id=dream.id,
                        score=updated.score,
                        previous_score=dream.score,
                        priority=updated.priority.value,
                    )
                )
            done.append(updated)
        return done

    def _name_exists(self, name: str) -> bool:
        """Whether an identifier occurs anywhere in the indexed codebase (for grounding)."""
        if self._known_names is None:
            self._known_names = frozenset(self.index.name_counts())
        return name in self._known_names

    def _path_exists(self, path: str) -> bool:
        """Whether a cited path is an indexed file or the last parts of one (`mod.py`)."""
        if self._known_paths is None:
            suffixes: set[str] = set()
            for indexed in self.index.chunk_paths():
                parts = indexed.split("/")
                suffixes.update("/".join(parts[i:]) for i in range(len(parts)))
            self._known_paths = frozenset(suffixes)
        return path.strip().lstrip("./") in self._known_paths

    def _reject(self, reason: str, detail: str) -> CycleOutcome:
        self._sink(DreamRejected(reason=reason, detail=detail))
        return CycleOutcome(dream=None, rejection=reason, detail=detail)

    def close(self) -> None:
        self._save_vector_cache()
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._models is not None:
            self._models.close()
            self._models = None
