"""The engine: owns the index, the models and the dream store for one codebase, runs cycles.

Everything heavy is built here, lazily, and nowhere else. The engine reports what it does
only through events, so the console printer, the TUI and the daemon log are interchangeable.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from codedreamer.dream.focus import enabled_focus_areas, pick_focus
from codedreamer.dream.prompts import (
    PRIORITY_CODE,
    PRIORITY_TASK,
    THINK_SYSTEM,
    SeedCode,
    code_block,
    think_task,
)
from codedreamer.dream.selection import Candidate, choose
from codedreamer.dream.stages import run_stage
from codedreamer.dream.validation import EarlierDream, validate_insight
from codedreamer.events import (
    ChunkSelected,
    CycleStarted,
    DreamRejected,
    DreamSaved,
    EngineError,
    EventSink,
    Notice,
)
from codedreamer.errors import GraphError, UsageError
from codedreamer.storage.dream import Dream, new_dream_id

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from codedreamer.config.settings import Settings
    from codedreamer.index.chunk import Chunk
    from codedreamer.index.indexer import IndexProgress, IndexReport
    from codedreamer.index.store import IndexStore
    from codedreamer.index.watcher import LiveIndexer
    from codedreamer.memory.graph import KnowledgeGraph
    from codedreamer.models.registry import ModelSet
    from codedreamer.storage.store import DreamStore

SAMPLE_SIZE = 24
_TITLE = re.compile(
    r"^\s*(?:#+\s*)?\**TITLE\**\s*:\s*\**(.+?)\**\s*$", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class CycleOutcome:
    dream: Dream | None
    rejection: str | None = None
    detail: str = ""


def _prose_lines(text: str) -> Iterator[str]:
    """Non-empty lines outside code fences, skipping preambles like "Here is the code:"."""
    in_fence = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or not line or line.endswith(":"):
            continue
        yield line


def extract_title(text: str, fallback: str) -> str:
    """The model's TITLE line, else its first sentence, capped for one-line listings."""
    match = _TITLE.search(text)
    if match:
        title = match.group(1)
    else:
        first = next(_prose_lines(text), fallback)
        first = re.sub(r"^(\d+[.)]|[-*•])\s+", "", first)
        title = re.split(r"(?<=[.!?])\s", first.strip(), maxsplit=1)[0]
    title = title.strip().strip("#*").strip()
    return (title[:97] + "...") if len(title) > 100 else (title or fallback)


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
        self._live: LiveIndexer | None = None
        # Set by the watcher thread, read by the cycle thread: a plain flag is enough.
        self._index_changed = False
        # Paths re-indexed by the watcher thread since the last cycle; guarded by the lock.
        self._changed_paths: set[str] = set()
        self._changed_lock = threading.Lock()
        self._last_decay = time.time()
        self._cycle = 0

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
        graph = self._load_graph()
        if graph is not None and (report is not None or len(graph) == 0):
            self._sync_graph(graph)
        return report

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
        graph = self._load_graph()
        if graph is not None and paths:
            from codedreamer.memory.code_sync import sync_changed_paths

            sync_changed_paths(graph, self.index, paths)
            self._save_graph(graph)

    def decay_graph_if_due(self, now: float | None = None) -> bool:
        """Decay graph momentum every DECAY_INTERVAL_SEC; True if it ran."""
        now = time.time() if now is None else now
        if now - self._last_decay < self.settings.decay_interval_sec:
            return False
        graph = self._load_graph()
        if graph is None:
            return False
        self._last_decay = now
        graph.decay(now)
        self._save_graph(graph)
        return True

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

    def _save_graph(self, graph: KnowledgeGraph) -> None:
        from codedreamer.memory.graph_store import save_graph

        try:
            save_graph(graph, self.settings.graph_dir)
        except GraphError as exc:
            self._sink(EngineError(message=f"knowledge graph not saved: {exc}"))
            return
        from codedreamer.memory.summary import graph_changed

        self._sink(graph_changed(graph))

    def _sync_graph(self, graph: KnowledgeGraph) -> None:
        """Mirror the index's code entities and imports into CODE nodes and edges."""
        from codedreamer.memory.code_sync import backfill_from_index, chunk_locations

        index = self.index
        backfill_from_index(graph, index, chunk_keys=chunk_locations(index))
        self._save_graph(graph)

    def dream_once(
        self, *, cancel: threading.Event | None = None, max_tokens: int | None = None
    ) -> CycleOutcome:
        """One cycle: select code, think about it, validate, store. Never raises on a bad dream."""
        self._cycle += 1
        self._sink(CycleStarted(cycle=self._cycle))
        self._absorb_index_changes()
        started = time.perf_counter()
        settings = self.settings
        listing = self.store.list()
        earlier = sorted(listing.dreams, key=lambda d: d.created, reverse=True)

        chunk, reason = self._select_chunk(earlier)
        self._sink(
            ChunkSelected(
                path=chunk.path,
                start_line=chunk.start_line,
                end_line=chunk.end_line,
                symbol=chunk.qualified_name or chunk.symbol,
                reason=reason,
            )
        )
        focus = pick_focus(self._rng, enabled_focus_areas(), [d.focus for d in earlier])
        seed = SeedCode(
            path=chunk.path,
            language=chunk.language,
            start_line=chunk.start_line,
            end_line=chunk.end_line,
            symbol=chunk.qualified_name or chunk.symbol,
            content=chunk.content,
        )
        model = self.models.reasoning
        wanted = max_tokens or settings.reasoning_max_tokens
        from codedreamer.models.budget import PromptSection, budget_prompt

        prompt = budget_prompt(
            model,
            THINK_SYSTEM,
            [
                PromptSection("task", think_task(focus), PRIORITY_TASK, required=True),
                PromptSection("code", code_block(seed), PRIORITY_CODE, required=True),
            ],
            max_tokens=wanted,
        )
        think = run_stage(
            model,
            prompt.messages,
            stage="think",
            max_tokens=prompt.max_tokens,
            temperature=settings.dream_temperature,
            repeat_penalty=settings.repeat_penalty,
            sink=self._sink,
            cancel=cancel,
        )
        if think.finish_reason == "cancelled":
            return self._reject("cancelled", "generation stopped before it finished")

        verdict = validate_insight(
            think.text,
            seed_code=chunk.content,
            symbols=[chunk.symbol, chunk.qualified_name],
            earlier=[EarlierDream(d.id, d.insight) for d in earlier],
            novelty_threshold=settings.novelty_threshold,
            name_exists=self._name_exists,
        )
        if not verdict.accepted:
            return self._reject(verdict.reason, verdict.detail)

        now = datetime.now(UTC)
        dream = Dream(
            id=new_dream_id(now),
            created=now,
            category=focus.name,
            focus=focus.name,
            source_path=chunk.path,
            line_start=chunk.start_line,
            line_end=chunk.end_line,
            language=chunk.language,
            title=extract_title(think.text, f"{focus.name} in {chunk.path}"),
            novelty=verdict.novelty,
            symbols=[s for s in {chunk.qualified_name or chunk.symbol} if s],
            models={"reasoning": think.model_name},
            timings={
                "think_seconds": round(think.seconds, 3),
                "think_tokens_per_second": round(think.tokens_per_second, 2),
                "total_seconds": round(time.perf_counter() - started, 3),
            },
            validation={**verdict.checks, "finish_reason": think.finish_reason},
            insight=think.text,
            seed_code=chunk.content,
        )
        path = self.store.save_new(dream)
        self._sink(
            DreamSaved(dream_id=dream.id, path=str(path), title=dream.title, novelty=dream.novelty)
        )
        self._connect(dream, chunk)
        return CycleOutcome(dream=dream)

    def _connect(self, dream: Dream, chunk: Chunk) -> None:
        """Add the dream to the graph, linked to the code it is about (activating that code)."""
        graph = self._load_graph()
        if graph is None:
            return
        from codedreamer.memory.graph_types import code_entity_id, code_file_id

        about = [code_file_id(chunk.path)]
        if chunk.qualified_name:
            about.append(code_entity_id(chunk.path, chunk.qualified_name))
        graph.add_dream(
            dream.id,
            about=about,
            parent_dream_id=dream.parent,
            label=dream.title,
            path=dream.source_path,
            start_line=dream.line_start,
            end_line=dream.line_end,
        )
        self._save_graph(graph)

    def _name_exists(self, name: str) -> bool:
        """Whether an identifier occurs anywhere in the indexed codebase (for grounding)."""
        if self._known_names is None:
            self._known_names = frozenset(self.index.name_counts())
        return name in self._known_names

    def _select_chunk(self, earlier: list[Dream]) -> tuple[Chunk, str]:
        index = self.index
        if index.count() == 0:
            raise UsageError(
                f"nothing to dream about: the index of {self.codebase} holds no code "
                f"(`codedreamer index {self.codebase}` lists what was skipped and why)"
            )
        sample = index.random_chunks(SAMPLE_SIZE, self._rng)
        by_key = {chunk.id: chunk for chunk in sample}
        candidates = [Candidate(c.id, c.path, c.start_line, c.end_line, c.content) for c in sample]
        dreamed = {(d.source_path, d.line_start, d.line_end) for d in earlier}
        choice = choose(candidates, dreamed, self._rng)
        if choice is None:
            # Only tiny chunks in the sample: any of them beats dreaming about nothing.
            fallback = max(sample, key=lambda c: len(c.content))
            return fallback, "only small chunks sampled"
        return by_key[choice.key], choice.reason

    def _reject(self, reason: str, detail: str) -> CycleOutcome:
        self._sink(DreamRejected(reason=reason, detail=detail))
        return CycleOutcome(dream=None, rejection=reason, detail=detail)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._models is not None:
            self._models.close()
            self._models = None
