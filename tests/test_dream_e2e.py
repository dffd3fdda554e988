"""End to end: a real git repo, the real index, the bundled model, a dream file on disk."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cli_runner import run_codedreamer
from sample_repo import dream_env, make_repo, settings_for
from test_cycle_model import lenient_judge

from codedreamer.dream.context import Step
from codedreamer.engine.engine import Engine
from codedreamer.events import (
    ChunkSelected,
    DreamSaved,
    EngineError,
    Event,
    GraphChanged,
    StageFinished,
    StageStarted,
    TokenStreamed,
)
from codedreamer.memory.graph_store import load_graph
from codedreamer.memory.graph_types import EdgeKind, code_file_id, dream_node_id
from codedreamer.storage.store import DreamStore

pytestmark = pytest.mark.model


def think_and_store_only(engine: Engine) -> list[tuple[str, Step]]:
    """The engine's steps without Code and Critic, and with a lenient validation step.

    The 135M bundled model's answers are rejected by real validation; these tests are
    about the engine's plumbing (events, files, graph), so they keep the real model and
    store whatever it says. tests/test_cycle_model.py runs the full pipeline.
    """
    return [
        (name, lenient_judge if name == "validate" else step)
        for name, step in engine.steps
        if name not in ("code", "critic")
    ]


def test_engine_dream_once_saves_a_dream_that_parses_back(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = settings_for(tmp_path)
    events: list[Event] = []
    engine = Engine(settings, repo, events.append, rng=random.Random(7))
    engine.steps = think_and_store_only(engine)
    try:
        engine.ensure_index()
        outcome = engine.dream_once(max_tokens=120)
    finally:
        engine.close()

    kinds = [type(e) for e in events]
    assert ChunkSelected in kinds and StageStarted in kinds and StageFinished in kinds
    tokens = [e for e in events if isinstance(e, TokenStreamed)]
    assert len(tokens) > 5, "tokens must stream one by one, not arrive as one block"
    assert outcome.dream is not None, f"rejected: {outcome.rejection} {outcome.detail}"
    saved = [e for e in events if isinstance(e, DreamSaved)]
    assert len(saved) == 1 and Path(saved[0].path).is_file()
    dream = outcome.dream
    assert DreamStore(settings.dreams_dir).load(dream.id) == dream
    assert dream.source_path == "inventory.py"
    assert dream.insight and dream.insight in "".join(t.text for t in tokens)
    assert dream.models["reasoning"].startswith("SmolLM2")
    assert dream.validation == {"validation": "lenient (test)"}

    # The dream joined the knowledge graph, linked `about` the code it was made from.
    graph = load_graph(settings.graph_dir)
    about = {(e.dst, e.kind.label) for e in graph.edges(dream_node_id(dream.id))}
    assert (code_file_id("inventory.py"), "about") in about
    assert any(e.kind is EdgeKind.SAME_FILE for e in graph.edges(code_file_id("inventory.py")))
    assert any(isinstance(e, GraphChanged) for e in events)


def test_a_corrupt_graph_is_reported_kept_and_does_not_stop_dreaming(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = settings_for(tmp_path)
    settings.graph_dir.mkdir(parents=True)
    garbage = b"this is not an arrow file"
    (settings.graph_dir / "nodes.arrow").write_bytes(garbage)
    (settings.graph_dir / "edges.arrow").write_bytes(garbage)
    events: list[Event] = []
    engine = Engine(settings, repo, events.append, rng=random.Random(7))
    engine.steps = think_and_store_only(engine)
    try:
        engine.ensure_index()
        outcome = engine.dream_once(max_tokens=120)
    finally:
        engine.close()
    assert outcome.dream is not None
    errors = [e.message for e in events if isinstance(e, EngineError)]
    assert len(errors) == 1 and "nodes.arrow" in errors[0]
    assert (settings.graph_dir / "nodes.arrow").read_bytes() == garbage


def test_cancel_during_think_stops_within_a_token_and_saves_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = settings_for(tmp_path)
    cancel = threading.Event()
    seen: list[TokenStreamed] = []

    def sink(event: Event) -> None:
        if isinstance(event, TokenStreamed):
            seen.append(event)
            if len(seen) == 3:
                cancel.set()

    engine = Engine(settings, repo, sink, rng=random.Random(7))
    try:
        engine.ensure_index()
        outcome = engine.dream_once(cancel=cancel, max_tokens=200)
    finally:
        engine.close()
    assert outcome.rejection == "cancelled"
    assert len(seen) <= 4
    assert not list(settings.dreams_dir.glob("*.md"))


def run_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_codedreamer(*args, env=dream_env(tmp_path), cwd=tmp_path, timeout=240)


def test_cli_index_then_dream_once_writes_a_dream_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    indexed = run_cli("index", str(repo), tmp_path=tmp_path)
    assert indexed.returncode == 0, indexed.stderr
    result = run_cli(
        "dream",
        "--once",
        "--codebase",
        str(repo),
        "--max-tokens",
        "120",
        "--seed",
        "7",
        "--json",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    files = list((tmp_path / "dreams").glob("*.md"))
    if not outcome["saved"]:
        # The toy model's answers are mostly rejected: then nothing is written, with a reason.
        assert outcome["rejection"] and files == []
        return
    assert [f.stem for f in files] == [outcome["dream_id"]]
    shown = run_cli("dreams", "show", outcome["dream_id"], "--json", tmp_path=tmp_path)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == outcome["dream_id"]


def test_dream_with_a_missing_codebase_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_cli("dream", "--once", "--codebase", str(tmp_path / "nope"), tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_dream_with_a_bad_model_file_is_one_line_exit_2(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    bad = tmp_path / "model.gguf"
    bad.write_text("not a model")
    result = run_cli(
        "dream", "--once", "--codebase", str(repo), "--model", str(bad), tmp_path=tmp_path
    )
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and "DREAMER_MODEL_PATH" in line and str(bad) in line
    assert "Traceback" not in result.stderr


def test_live_index_and_scheduled_decay_while_the_engine_runs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = settings_for(tmp_path).model_copy(update={"decay_interval_sec": 60})
    events: list[Event] = []
    engine = Engine(settings, repo, events.append, rng=random.Random(7))
    try:
        engine.ensure_index()
        engine.start_live_index()
        (repo / "billing.py").write_text(
            "def charge_customer_card(amount):\n    if amount <= 0:\n        return None\n"
            "    return amount * 100\n"
        )
        deadline = time.monotonic() + 20
        while not engine.index.definitions("charge_customer_card"):
            assert time.monotonic() < deadline, "the live watcher did not index the new file"
            time.sleep(0.2)
        assert engine.decay_graph_if_due() is False  # not due yet
        assert engine.decay_graph_if_due(now=time.time() + 3600) is True
    finally:
        engine.close()
    graph = load_graph(settings.graph_dir)
    # CODE nodes were synced at start; the dream-less graph still decayed and was saved.
    assert len(graph) > 0
    assert any(isinstance(e, GraphChanged) for e in events)


def test_dream_on_a_codebase_with_no_code_says_so_exit_2(tmp_path: Path) -> None:
    codebase = tmp_path / "empty"
    codebase.mkdir()
    (codebase / "blob.py").write_bytes(b"\x00\x01\x02\x03binary")
    result = run_cli("dream", "--once", "--codebase", str(codebase), tmp_path=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nothing to dream about" in lines[0]
