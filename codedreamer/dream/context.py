"""The cycle context: what one dream cycle knows, passed from step to step.

A cycle is a list of steps (`Step`), each a small function in its own module that reads
the context and fills in its part: drill and jump pick the target, selection the chunk,
gather the proactive context, think / code / critic the model's answers, judge the
verdict, record the dream. A step that decides the cycle is over calls `reject`; the
engine stops at the first rejection and reports it. Everything a step needs from the
outside world (models, index, store, graph, memory, events) comes through `Services`, so
every step can be run in a test with doubles for the parts it does not exercise.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings
    from codedreamer.dream.focus import FocusArea
    from codedreamer.dream.stages import StageResult
    from codedreamer.events import EventSink
    from codedreamer.index.chunk import Chunk
    from codedreamer.memory.graph import KnowledgeGraph
    from codedreamer.memory.trm import TemporalMemory
    from codedreamer.models.runtime import ChatModel
    from codedreamer.storage.dream import Dream
    from codedreamer.storage.store import DreamStore


class CodeIndex(Protocol):
    """What the cycle reads from the code index (IndexStore has all of it)."""

    def count(self) -> int: ...

    def random_chunks(self, n: int, rng: random.Random) -> list[Chunk]: ...

    def chunks_for_path(self, path: str) -> list[Chunk]: ...

    def search(self, query: str, k: int = 10, mode: Any = "hybrid") -> list[Any]: ...

    def definitions(self, symbol: str) -> list[Chunk]: ...

    def chunks_by_ids(self, ids: Sequence[str]) -> list[Chunk]: ...


class SymbolLookup(Protocol):
    """The structure queries gather and the dead-code focus use (index/symbols.py)."""

    def definitions(self, name: str) -> Sequence[Any]: ...

    def callers(self, symbol: Any) -> Sequence[Any]: ...

    def callees(self, symbol: Any) -> Sequence[Any]: ...

    def imported_definitions(self, path: str, chunk_id: str | None = None) -> Sequence[Any]: ...

    def unreferenced(self) -> Sequence[Any]: ...

    def reference_count(self, name: str) -> int: ...


@dataclass
class Services:
    """The outside world of a cycle, built once by the engine."""

    settings: Settings
    sink: EventSink
    rng: random.Random
    reasoning: Callable[[], ChatModel]
    coder: Callable[[], ChatModel]
    index: Callable[[], CodeIndex]
    store: Callable[[], DreamStore]
    graph: Callable[[], KnowledgeGraph | None]
    memory: Callable[[], TemporalMemory | None]
    name_exists: Callable[[str], bool]
    path_exists: Callable[[str], bool] = lambda path: False
    """Whether a cited path is an indexed file (or the last parts of one)."""
    symbols: Callable[[], SymbolLookup | None] = lambda: None
    change_graph: Callable[[Callable[[KnowledgeGraph], object]], bool] = lambda change: False
    """Apply a change to the graph and save it (retried on a concurrent save); True if saved."""
    codebase_root: str = "."
    read_source: Callable[[str], str | None] = lambda path: None
    """The current text of a file of the codebase (relative path), None if unreadable."""
    attempts: Callable[[], list[Any]] = list
    """Earlier rejected attempts, as validation's EarlierDream (storage/attempts.py)."""
    vector_cache: Callable[[], Any] = lambda: None
    """Validation's vectors of earlier texts, kept across cycles and restarts (or None)."""


@dataclass
class CycleState:
    """What outlives one cycle inside a running engine (not persisted)."""

    consecutive_failures: int = 0
    attempted: dict[tuple[str, int, int], int] = field(default_factory=dict)
    """Locations tried this run, rejected ones included, so coverage counts attempts."""
    last_path: str = ""
    """The file the previous cycle was about (a graph jump must leave it)."""
    cycles: int = 0
    last_rerank: float = 0.0
    marks_signature: tuple[int, ...] = ()
    drill_failures: dict[str, int] = field(default_factory=dict)
    """Failed cycles per drill parent id (dream/drill.py gives up after a few)."""


@dataclass(frozen=True)
class Target:
    """Code chosen before selection runs (a drill continuation or a graph jump)."""

    path: str
    start_line: int
    end_line: int
    reason: str


@dataclass
class CodeDraft:
    """Stage 2's output and what was checked about it."""

    code: str = ""
    diff: str = ""
    language: str = ""
    checks: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    """Why the draft cannot be used as it is ("" when every check passed)."""


@dataclass
class CriticVerdict:
    severity: str
    """none, minor, moderate or major."""
    critique: str
    refined: bool = False
    draft_code: str = ""


@dataclass
class CycleContext:
    """One cycle's working data; each step fills in its part."""

    services: Services
    state: CycleState
    cycle: int
    cancel: threading.Event | None = None
    max_tokens: int | None = None
    started: float = field(default_factory=time.perf_counter)
    earlier: list[Dream] = field(default_factory=list)
    # Targeting
    target: Target | None = None
    drill_level: int = 0
    parent: Dream | None = None
    jumped: bool = False
    chunk: Chunk | None = None
    selection_reason: str = ""
    focus: FocusArea | None = None
    # Prompt material
    avoid: list[str] = field(default_factory=list)
    context_sections: list[tuple[str, str, int]] = field(default_factory=list)
    """(source label, text, priority) of proactive context, highest priority first."""
    memories: list[str] = field(default_factory=list)
    memory_ids: list[str] = field(default_factory=list)
    # Results
    think: StageResult | None = None
    insight: str = ""
    plan: str = ""
    title: str = ""
    novelty: float = 0.0
    checks: dict[str, str] = field(default_factory=dict)
    draft: CodeDraft | None = None
    critic: CriticVerdict | None = None
    stage_results: list[StageResult] = field(default_factory=list)
    pending: Dream | None = None
    """The dream as built and ranked, before it is stored."""
    dream: Dream | None = None
    rejection: str | None = None
    rejection_detail: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def done(self) -> bool:
        return self.rejection is not None or self.dream is not None

    def reject(self, reason: str, detail: str = "") -> None:
        self.rejection = reason
        self.rejection_detail = detail

    def stage_tokens(self, configured: int) -> int:
        """max_tokens for a stage: the caller's cap (tests, benchmarks) or the setting."""
        return self.max_tokens if self.max_tokens is not None else configured


Step = Callable[[CycleContext], None]


def run_steps(context: CycleContext, steps: Sequence[tuple[str, Step]]) -> CycleContext:
    """Run the steps in order until one rejects; time each step.

    Steps after the store step see `context.dream` and work on the stored dream.
    """
    for name, step in steps:
        began = time.perf_counter()
        step(context)
        context.timings[f"{name}_seconds"] = round(time.perf_counter() - began, 4)
        if context.rejection is not None:
            break
    return context
