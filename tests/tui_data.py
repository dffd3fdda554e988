"""Real data for the TUI tests: dreams written through the DreamStore, a saved graph, events.

Nothing here is a stand-in: dreams are files the store wrote and reads back, the graph is
a KnowledgeGraph saved to Arrow files, events are the engine's own event types. Times are
fixed so that screenshots are the same on every run.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from codedreamer.config.settings import Settings, load_settings
from codedreamer.events import (
    ChunkSelected,
    Event,
    GraphChanged,
    IndexProgress,
    ModelLoaded,
    RunnerStateChanged,
    StageFinished,
    StageStarted,
    TokenStreamed,
)
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_store import save_graph
from codedreamer.memory.graph_types import EdgeKind, NodeInput, NodeKind, code_file_id
from codedreamer.storage.dream import Dream, Priority, Status
from codedreamer.storage.store import DreamStore

BASE = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
FIXED_NOW = (BASE + timedelta(hours=3)).timestamp()
HOSTILE = "[bold]x[/] [@click=app.quit]quit[/] \x1b[31mred\x1b[0m"
"""Text that would be markup or an escape sequence if it were ever interpreted."""

SEED_CODE = """def add_item(self, name, quantity):
    if quantity < 0:
        raise ValueError("quantity must be positive")
    self.items[name] = self.items.get(name, 0) + quantity
"""


def settings_for(tmp_path: Path, **extra: str) -> Settings:
    environ = {
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
        "DREAMER_DREAM_TEMPERATURE": "0",
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": "1",
        **extra,
    }
    return load_settings(env_file=None, environ=environ).settings


def make_dream(n: int, **changes: Any) -> Dream:
    values: dict[str, Any] = {
        "id": f"20261129-{1 + n // 60:02d}{n % 60:02d}00-{n:08x}",
        "created": BASE + timedelta(minutes=n * 7),
        "category": "performance",
        "focus": "performance",
        "source_path": "inventory.py",
        "line_start": 8,
        "line_end": 12,
        "language": "python",
        "title": f"Dream number {n}",
        "novelty": 0.5,
        "insight": f"Insight {n}: `total_quantity` loops over keys; "
        "use `sum(self.items.values())`.",
        "seed_code": SEED_CODE,
        "models": {"reasoning": "SmolLM2-135M-Instruct"},
        "timings": {"think_seconds": 1.5, "think_tokens_per_second": 20.0 + n},
    }
    known = {f.name for f in fields(Dream)}
    values.update({k: v for k, v in changes.items() if k in known})
    return Dream(**values)


def write_dreams(settings: Settings) -> list[Dream]:
    """Six dreams of varied status, category, novelty and priority, saved by the store."""
    dreams = [
        make_dream(
            0,
            title="Cache the total in Inventory",
            novelty=0.91,
            category="performance",
            priority=Priority.MEDIUM,
            score=6.4,
            score_parts={"novelty": 0.91, "priority": 2.0, "critic": 2.5, "centrality": 1.0},
            critic_severity="minor",
        ),
        make_dream(
            1,
            title="remove_item prints instead of raising",
            novelty=0.77,
            category="bugs",
            priority=Priority.HIGH,
            status=Status.APPLIED,
            score=8.2,
            score_parts={"novelty": 0.77, "priority": 3.0, "critic": 3.0, "verified": 1.5},
            critic_severity="major",
            code="if current - quantity < 0:\n    raise ValueError('not enough stock')\n",
            code_checks={"parses": "ok", "applies": "ok"},
            verification={"tests": "passed"},
        ),
        make_dream(2, title="Name the magic zero", novelty=0.42, category="readability"),
        make_dream(
            3,
            title="Validate names in add_item",
            novelty=0.66,
            category="robustness",
            status=Status.DEFERRED,
            priority=Priority.LOW,
            score=3.1,
            score_parts={"novelty": 0.66, "priority": 1.0, "critic": 1.0},
            critic_severity="nit",
        ),
        make_dream(4, title="Split Inventory persistence", novelty=0.58, category="design"),
        make_dream(
            5,
            title="Negative stock is silently allowed",
            novelty=0.83,
            category="bugs",
            priority=Priority.CRITICAL,
            status=Status.REJECTED,
            score=7.0,
            score_parts={"novelty": 0.83, "priority": 4.0, "critic": 1.0},
            critic_severity="major",
            code="def remove_item(self, name, quantity):\n    ...\n",
            code_checks={"parses": "ok", "applies": "failed: hunk 1"},
        ),
    ]
    store = DreamStore(settings.dreams_dir)
    for dream in dreams:
        store.save_new(dream)
    return dreams


def hostile_dream(settings: Settings) -> Dream:
    """A dream whose every text field carries markup and a raw ESC byte."""
    dream = make_dream(
        9,
        title=f"Title {HOSTILE}",
        category="bugs",
        source_path="evil[bold]/\x1b]0;pwned\x07name.py",
        insight=f"Insight with {HOSTILE}",
        code=f"print('{HOSTILE}')\n",
        seed_code=f"x = '{HOSTILE}'\n",
        symbols=[f"sym{HOSTILE}"],
    )
    DreamStore(settings.dreams_dir).save_new(dream)
    return dream


def build_graph(settings: Settings, dreams: list[Dream]) -> KnowledgeGraph:
    """A real graph: code nodes, dreams about them, edges of three kinds; saved to disk."""
    graph = KnowledgeGraph()
    now = FIXED_NOW - 600
    files = ["inventory.py", "store.py", "report.py", "cli.py"]
    graph.upsert_nodes(
        [NodeInput(id=code_file_id(f), kind=NodeKind.CODE, label=f, path=f) for f in files],
        now=now,
    )
    graph.add_edges(
        [code_file_id("cli.py"), code_file_id("report.py")],
        [code_file_id("inventory.py"), code_file_id("store.py")],
        EdgeKind.DEPENDS_ON,
    )
    for dream in dreams:
        graph.add_dream(
            dream.id,
            about=[code_file_id(dream.source_path)],
            label=dream.title,
            path=dream.source_path,
            now=now,
        )
    save_graph(graph, settings.graph_dir)
    return graph


def graph_event(graph: KnowledgeGraph) -> GraphChanged:
    from codedreamer.memory.summary import graph_changed

    return graph_changed(graph, hot=8, now=FIXED_NOW)


def live_events(*, code: str = SEED_CODE, text: str = "") -> list[Event]:
    """One cycle as the runner reports it, up to tokens streaming in the Think stage."""
    t = FIXED_NOW - 30
    tokens = (
        text
        or "The loop in `total_quantity` walks the keys and indexes the dict again; "
        "`sum(self.items.values())` does one pass.\n"
    ).split(" ")
    events: list[Event] = [
        ModelLoaded(role="reasoning", model_name="SmolLM2-135M-Instruct", seconds=0.4, timestamp=t),
        IndexProgress(state="ready", files_done=4, files_total=4, chunks=23, timestamp=t + 1),
        RunnerStateChanged(state="dreaming", cycle=7, timestamp=t + 2),
        ChunkSelected(
            path="inventory.py",
            start_line=8,
            end_line=12,
            symbol="Inventory.add_item",
            reason="least dreamed about",
            language="python",
            code=code,
            cycle=7,
            timestamp=t + 2,
        ),
        StageStarted(stage="think", model_name="SmolLM2-135M-Instruct", cycle=7, timestamp=t + 3),
    ]
    for i, token in enumerate(tokens):
        events.append(
            TokenStreamed(stage="think", text=token + " ", cycle=7, timestamp=t + 3 + 0.05 * i)
        )
    return events


def finished_stage(rate: float, cycle: int = 7) -> StageFinished:
    return StageFinished(
        stage="think",
        completion_tokens=48,
        seconds=48 / rate,
        tokens_per_second=rate,
        finish_reason="length",
        cycle=cycle,
        timestamp=FIXED_NOW - 5,
    )
