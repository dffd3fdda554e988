"""The whole cycle through the real engine, index and files, with a scripted model double.

The double answers each stage from a script (recognised by the stage's system prompt), so
these tests pin the pipeline's logic: stages in order, the Critic's refinement, a drill
chain recorded in files and graph, rejections with reasons. That real llama.cpp runs the
same pipeline is shown by tests/test_cycle_model.py.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from codedreamer.config.settings import Settings, load_settings
from codedreamer.dream.prompts import CODE_SYSTEM, CRITIC_SYSTEM, REFLECT_SYSTEM
from codedreamer.engine.engine import Engine
from codedreamer.events import (
    ChunkSelected,
    ContextAssembled,
    DreamRejected,
    DreamSaved,
    DrillStarted,
    Event,
    Notice,
    StageStarted,
)
from codedreamer.memory.graph_store import load_graph
from codedreamer.memory.graph_types import EdgeKind, dream_node_id
from codedreamer.storage.store import DreamStore

STOCK = """def remove_item(items, name, quantity):
    current = items[name]
    if current - quantity < 0:
        print("not enough stock")
    items[name] = current - quantity
    return items[name]
"""
DIFF = """```diff
--- a/stock.py
+++ b/stock.py
@@ -3,3 +3,3 @@
     if current - quantity < 0:
-        print("not enough stock")
+        raise ValueError("not enough stock")
     items[name] = current - quantity
```"""
BAD_DIFF = """```diff
--- a/stock.py
+++ b/stock.py
@@ -3,2 +3,2 @@
     if quantity > current:
-        print("oops")
+        raise ValueError("oops")
```"""
LEVEL_WORDS = {
    "Framework": "structure",
    "Implementation": "signature",
    "(Code)": "lines",
}


ANSWERS = {
    "": "TITLE: remove_item stores negative stock\n"
    "INSIGHT: In `remove_item`, when `current - quantity < 0` the function only prints a "
    "warning and still assigns `items[name]`, so the count goes below zero.\n"
    "PLAN: 1. raise ValueError in remove_item when quantity exceeds current",
    "structure": "TITLE: Validate before mutating in remove_item\n"
    "INSIGHT: The check and the write are interleaved: `remove_item` reads `current`, "
    "then mutates the mapping regardless. Splitting validation from mutation gives one "
    "guard clause at the top and a single assignment afterwards.\n"
    "PLAN: 1. move the guard to the top 2. keep one write path",
    "signature": "TITLE: remove_item raises ValueError on shortfall\n"
    "INSIGHT: Signature stays `remove_item(items, name, quantity)`; document that it "
    "raises ValueError when `quantity` exceeds stock and KeyError for unknown `name`, "
    "returning the new count otherwise.\n"
    "PLAN: 1. add the raise 2. document both exceptions",
    "lines": "TITLE: Replace the print call with raise\n"
    "INSIGHT: Line four of `remove_item` should become `raise ValueError(...)` instead of "
    "print, which ends the call before `items` is assigned; no other line changes.\n"
    "PLAN: 1. swap print for raise on that line",
}


def think_answer(prompt: str) -> str:
    level = next((word for key, word in LEVEL_WORDS.items() if key in prompt), "")
    return ANSWERS[level]


class ScriptedResponse:
    def __init__(self, text: str) -> None:
        self._text = text
        self.stats = None
        self.completion_tokens_so_far = 0

    def __iter__(self) -> Iterator[str]:
        for i in range(0, len(self._text), 4):
            self.completion_tokens_so_far += 1
            yield self._text[i : i + 4]

    def close(self) -> None:
        pass


class ScriptedModel:
    """Answers by stage; `critic` and `code` are lists consumed in order (last one repeats)."""

    name = "scripted-double"
    n_ctx = 8192

    def __init__(
        self, *, code: Sequence[str], critic: Sequence[str], think: str | None = None
    ) -> None:
        self.code = list(code)
        self.critic = list(critic)
        self.think = think
        self.calls: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def count_prompt_tokens(self, messages: Sequence[Any]) -> int:
        return sum(self.count_tokens(m.content) for m in messages) + 8

    def chat(self, messages: Sequence[Any], **options: Any) -> ScriptedResponse:
        system = messages[0].content
        prompt = messages[-1].content
        if system == CODE_SYSTEM:
            self.calls.append("code")
            text = self.code.pop(0) if len(self.code) > 1 else self.code[0]
        elif system == CRITIC_SYSTEM:
            self.calls.append("critic")
            assert "json_schema" in options, "the critic must run under a grammar"
            text = self.critic.pop(0) if len(self.critic) > 1 else self.critic[0]
        elif system == REFLECT_SYSTEM:
            self.calls.append("reflect")
            text = '{"priority": "HIGH", "reason": "negative stock corrupts inventory"}'
        else:
            self.calls.append("think")
            text = self.think if self.think is not None else think_answer(prompt)
        return ScriptedResponse(text)


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "stock.py").write_text(STOCK)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def settings_for(tmp_path: Path) -> Settings:
    environ = {
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
    }
    return load_settings(env_file=None, environ=environ).settings


@pytest.fixture
def engine_with(tmp_path: Path) -> Iterator[Callable[[ScriptedModel], tuple[Engine, list[Event]]]]:
    engines: list[Engine] = []
    repo = make_repo(tmp_path / "repo")
    settings = settings_for(tmp_path)

    def build(model: ScriptedModel) -> tuple[Engine, list[Event]]:
        events: list[Event] = []
        engine = Engine(settings, repo, events.append, rng=random.Random(3))
        engine._models = SimpleNamespace(  # type: ignore[assignment]
            reasoning=model, coder=model, close=lambda: None
        )
        engine.ensure_index()
        engines.append(engine)
        return engine, events

    yield build
    for engine in engines:
        engine.close()


def test_critic_refines_a_moderate_draft_and_the_dream_records_both(engine_with: Any) -> None:
    model = ScriptedModel(
        code=[BAD_DIFF, DIFF],
        critic=['{"severity": "MODERATE", "issues": "the context does not match the file"}'],
    )
    engine, events = engine_with(model)
    outcome = engine.dream_once()
    assert outcome.dream is not None, f"{outcome.rejection}: {outcome.detail}"
    assert model.calls == ["think", "code", "critic", "code", "reflect"]
    dream = DreamStore(engine.settings.dreams_dir).load(outcome.dream.id)
    assert dream.critic_severity == "moderate" and dream.refined
    assert dream.critique.startswith("MODERATE: the context")
    assert "oops" in dream.draft_code and 'raise ValueError("not enough stock")' in dream.diff
    assert dream.code_checks["diff_applies"] == "ok" and dream.code_checks["parses"] == "ok"
    assert dream.priority.value == "high" and dream.priority_reason.startswith("negative stock")
    assert set(dream.score_parts) == {
        "novelty",
        "critic",
        "priority",
        "centrality",
        "feedback",
        "verification",
    }
    assert dream.score > 0
    # The verify step checked the stored patch in a scratch clone of the real repo.
    assert dream.verification["status"] == "verified", dream.verification
    assert dream.score_parts["verification"] == 1.0
    assert any(isinstance(e, Notice) and "verification verified" in e.message for e in events)
    stages = [e.stage for e in events if isinstance(e, StageStarted)]
    assert stages == ["think", "code", "critic", "code", "reflect"]
    assert any(isinstance(e, ContextAssembled) for e in events)


PAIR = """Existing:
```python
    if current - quantity < 0:
        print("not enough stock")
```
Improved:
```python
    if current - quantity < 0:
        raise ValueError("not enough stock")
```
"""


def test_a_refinement_given_as_existing_and_improved_becomes_a_diff(engine_with: Any) -> None:
    model = ScriptedModel(
        code=[BAD_DIFF, PAIR],
        critic=['{"severity": "MAJOR", "issues": "the context does not match the file"}'],
    )
    engine, _events = engine_with(model)
    outcome = engine.dream_once()
    assert outcome.dream is not None, f"{outcome.rejection}: {outcome.detail}"
    dream = DreamStore(engine.settings.dreams_dir).load(outcome.dream.id)
    assert dream.refined
    assert dream.diff.startswith("--- a/stock.py\n+++ b/stock.py\n"), dream.diff
    assert '+        raise ValueError("not enough stock")' in dream.diff


def test_a_draft_still_broken_after_refinement_is_rejected_with_its_reason(
    engine_with: Any,
) -> None:
    model = ScriptedModel(code=[BAD_DIFF], critic=['{"severity": "MAJOR", "issues": "wrong"}'])
    engine, events = engine_with(model)
    outcome = engine.dream_once()
    assert outcome.dream is None and outcome.rejection == "code_invalid"
    assert "does not apply" in outcome.detail
    rejected = [e for e in events if isinstance(e, DreamRejected)]
    assert [r.reason for r in rejected] == ["code_invalid"]
    assert not list(engine.settings.dreams_dir.glob("*.md"))


def test_good_dreams_drill_down_a_chain_recorded_in_files_and_graph(engine_with: Any) -> None:
    model = ScriptedModel(code=[DIFF], critic=['{"severity": "NONE", "issues": "correct"}'])
    engine, events = engine_with(model)
    saved = []
    for _ in range(4):
        outcome = engine.dream_once()
        assert outcome.dream is not None, f"{outcome.rejection}: {outcome.detail}"
        saved.append(outcome.dream)
    levels = [d.drill_level for d in saved]
    assert levels == [0, 1, 2, 3]
    assert [d.parent for d in saved] == [None, saved[0].id, saved[1].id, saved[2].id]
    drills = [e for e in events if isinstance(e, DrillStarted)]
    assert [(d.level, d.parent_id) for d in drills] == [
        (1, saved[0].id),
        (2, saved[1].id),
        (3, saved[2].id),
    ]
    graph = load_graph(engine.settings.graph_dir)
    for child, parent in zip(saved[1:], saved, strict=False):
        refines = [
            e
            for e in graph.edges(dream_node_id(child.id))
            if e.kind is EdgeKind.REFINES and e.src == dream_node_id(child.id)
        ]
        assert [e.dst for e in refines] == [dream_node_id(parent.id)]
    # L3 is the deepest level: the fifth cycle starts fresh.
    fifth = engine.dream_once()
    assert not any(isinstance(e, DrillStarted) and e.level > 3 for e in events)
    assert fifth.dream is None or fifth.dream.drill_level == 0
    assert len([e for e in events if isinstance(e, DreamSaved)]) >= 4


def test_a_parent_whose_continuations_keep_failing_is_given_up(engine_with: Any) -> None:
    """Seen in the 100-cycle quality run: one stored dream held the engine on its chunk for
    57 cycles, because every drill attempt failed and the parent stayed drillable."""
    from codedreamer.dream.drill import MAX_DRILL_TRIES

    model = ScriptedModel(code=[DIFF], critic=['{"severity": "NONE", "issues": "correct"}'])
    engine, events = engine_with(model)
    parent = engine.dream_once().dream
    assert parent is not None
    model.think = "ok"  # every answer from now on is rejected (too short)
    for _ in range(MAX_DRILL_TRIES + 3):
        assert engine.dream_once().dream is None
    drills = [e for e in events if isinstance(e, DrillStarted)]
    assert [d.parent_id for d in drills] == [parent.id] * MAX_DRILL_TRIES


def test_code_too_large_for_the_context_is_a_rejection_not_a_crash(engine_with: Any) -> None:
    model = ScriptedModel(code=[DIFF], critic=['{"severity": "NONE", "issues": "ok"}'])
    model.n_ctx = 64
    engine, events = engine_with(model)
    outcome = engine.dream_once()
    assert outcome.dream is None and outcome.rejection == "prompt_too_long"
    assert "n_ctx" in outcome.detail
    assert [e.reason for e in events if isinstance(e, DreamRejected)] == ["prompt_too_long"]


LEDGER = """def post_entry(ledger, account, amount):
    balance = ledger.get(account, 0)
    if amount == 0:
        return balance
    ledger[account] = balance + amount
    return ledger[account]
"""


def test_three_failed_cycles_jump_to_other_code(engine_with: Any, tmp_path: Path) -> None:
    (tmp_path / "repo" / "ledger.py").write_text(LEDGER)
    model = ScriptedModel(code=[DIFF], critic=["{}"], think="ok")  # always too short
    engine, events = engine_with(model)
    selected: list[ChunkSelected] = []
    for _ in range(8):
        start = len(events)
        outcome = engine.dream_once()
        assert outcome.dream is None and outcome.rejection
        selected.extend(e for e in events[start:] if isinstance(e, ChunkSelected))
    assert len(selected) == 8
    jumped = [i for i, e in enumerate(selected) if "graph jump" in e.reason]
    # The jump resets the count: the next one needs three more failures (the jumped cycle's
    # own failure is the first of them), so jumps never take over selection.
    assert jumped == [3, 6]
    assert selected[3].path != selected[2].path, "the jump must change the code dreamed about"


def test_validation_vectors_outlive_a_restart(engine_with: Any) -> None:
    from codedreamer.dream.validation.vector_cache import FILE_NAME

    model = ScriptedModel(
        code=[DIFF, DIFF],
        critic=['{"severity": "NONE", "issues": ""}', '{"severity": "NONE", "issues": ""}'],
    )
    engine, _events = engine_with(model)
    first = engine.dream_once()
    assert first.dream is not None, f"{first.rejection}: {first.detail}"
    engine.dream_once()  # validation compares with the first dream: its vector is kept
    kept = len(engine._load_vector_cache())
    assert kept >= 1
    engine.close()
    saved = engine.settings.data_dir / FILE_NAME
    assert saved.is_file()
    again, events = engine_with(model)
    assert len(again._load_vector_cache()) == kept
    assert not any(isinstance(e, Notice) and "vectors redone" in e.message for e in events)


def test_work_a_kill_cut_short_is_finished_after_the_next_first_cycle(
    engine_with: Any,
) -> None:
    """The soak killed the daemon after a dream file was written and before the graph save
    and the verification: the dream then had no DREAM node and no verification, for good."""
    from datetime import UTC, datetime

    from codedreamer.storage.dream import Dream, new_dream_id

    model = ScriptedModel(code=[DIFF], critic=['{"severity": "NONE", "issues": "correct"}'])
    engine, events = engine_with(model)
    cut_short = Dream(
        id=new_dream_id(),
        created=datetime.now(UTC),
        category="bugs",
        source_path="stock.py",
        line_start=1,
        line_end=6,
        title="Raise instead of printing when stock runs out",
        language="python",
        symbols=["remove_item"],
        insight="remove_item prints and goes on, leaving negative stock.",
        diff=DIFF.removeprefix("```diff\n").removesuffix("```"),
    )
    DreamStore(engine.settings.dreams_dir).save_new(cut_short)
    assert engine.finish_interrupted_work() == 2  # a graph node and a verification
    assert engine.finish_interrupted_work() == 0  # once per engine
    graph = load_graph(engine.settings.graph_dir)
    node = dream_node_id(cut_short.id)
    assert node in graph
    about = [e for e in graph.edges(node) if e.kind is EdgeKind.ABOUT and e.src == node]
    assert about, "the restored node is linked to its code"
    mended = DreamStore(engine.settings.dreams_dir).load(cut_short.id)
    assert mended.verification["status"] == "verified", mended.verification
    assert any(isinstance(e, Notice) and "left out added" in e.message for e in events)
