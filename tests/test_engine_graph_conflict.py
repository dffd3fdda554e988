"""A `graph` command run from the CLI while the engine holds the graph loses neither change."""

from __future__ import annotations

import random
from pathlib import Path

from codedreamer.engine.engine import Engine
from codedreamer.events import EngineError, Event
from codedreamer.memory.graph_store import load_graph, save_graph
from codedreamer.memory.graph_types import NodeInput, NodeKind
from tests.sample_repo import make_repo, settings_for


def test_engine_reloads_and_reapplies_after_another_process_saved(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = settings_for(tmp_path)
    events: list[Event] = []
    engine = Engine(settings, repo, events.append, rng=random.Random(1))
    try:
        engine.ensure_index()  # loads and saves the graph: the engine now holds it
        # Another process (`codedreamer graph prune`, say) changes and saves the files.
        other = load_graph(settings.graph_dir)
        other.upsert_node(NodeInput(id="concept:from-cli", kind=NodeKind.CONCEPT, label="cli"))
        save_graph(other, settings.graph_dir)
        # The engine's next change must neither fail nor overwrite the other one.
        saved = engine._change_graph(
            lambda g: g.upsert_node(
                NodeInput(id="concept:from-engine", kind=NodeKind.CONCEPT, label="engine")
            )
        )
        again = engine._change_graph(lambda g: g.decay())
    finally:
        engine.close()
    assert saved and again
    on_disk = load_graph(settings.graph_dir)
    assert {"concept:from-cli", "concept:from-engine"} <= set(on_disk.node_ids())
    assert not [e for e in events if isinstance(e, EngineError)]
