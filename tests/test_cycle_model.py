"""Real cycles on the bundled model (llama.cpp) over a temp git repo, counted by events.

The bundled model is a 135M toy: validation rejects almost everything it writes, which is
the honest outcome. To also drive the Code and Critic stages with real generations, one
test swaps only the validation step for a lenient one (any non-empty answer passes) and
leaves every other step, the index, the files and llama.cpp real.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sample_repo import make_repo

from codedreamer.config.settings import load_settings
from codedreamer.dream.context import CycleContext
from codedreamer.dream.parse import extract_title
from codedreamer.engine.engine import Engine
from codedreamer.events import (
    ChunkSelected,
    CycleStarted,
    DreamRejected,
    DreamSaved,
    Event,
    StageFinished,
    StageStarted,
    TokenStreamed,
)

pytestmark = pytest.mark.model
MAX_TOKENS = 48


def engine_for(tmp_path: Path, events: list[Event], seed: int) -> Engine:
    environ = {
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
        "DREAMER_DREAM_TEMPERATURE": "0",
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": "1",
    }
    settings = load_settings(env_file=None, environ=environ).settings
    repo = make_repo(tmp_path / "repo")
    engine = Engine(settings, repo, events.append, rng=random.Random(seed))
    engine.ensure_index()
    return engine


def lenient_judge(context: CycleContext) -> None:
    assert context.think is not None and context.focus is not None
    text = context.think.text.strip()
    if not text:
        context.reject("empty", "the model wrote nothing")
        return
    context.insight = text
    context.title = extract_title(text, f"{context.focus.name} in {context.chunk.path}")  # type: ignore[union-attr]
    context.checks = {"validation": "lenient (test)"}


def stage_counts(events: list[Event]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        if isinstance(event, StageStarted):
            counts[event.stage] = counts.get(event.stage, 0) + 1
    return counts


def test_real_cycles_reject_with_reasons_and_emit_events_in_order(tmp_path: Path) -> None:
    events: list[Event] = []
    engine = engine_for(tmp_path, events, seed=5)
    try:
        outcomes = [engine.dream_once(max_tokens=MAX_TOKENS) for _ in range(3)]
    finally:
        engine.close()
    rejected = [e for e in events if isinstance(e, DreamRejected)]
    assert rejected, "the toy model's answers are expected to be rejected"
    assert all(r.reason for r in rejected)
    assert [o.rejection for o in outcomes if o.dream is None] == [r.reason for r in rejected]
    # Each cycle: started, chunk chosen, Think streamed and finished, then saved or rejected.
    cycles = [i for i, e in enumerate(events) if isinstance(e, CycleStarted)]
    assert len(cycles) == 3
    for start, end in zip(cycles, [*cycles[1:], len(events)], strict=True):
        kinds = [type(e) for e in events[start:end]]
        chosen = kinds.index(ChunkSelected)
        think = kinds.index(StageStarted)
        assert chosen < think < kinds.index(TokenStreamed) < kinds.index(StageFinished)
        assert kinds[-1] in (DreamRejected, DreamSaved) or DreamSaved in kinds
    selected = [e for e in events if isinstance(e, ChunkSelected)]
    assert all(e.language == "python" and e.code for e in selected)
    # Rejected attempts are remembered across restarts for duplicate checks.
    assert (tmp_path / "data" / "attempts.jsonl").is_file()


def test_real_model_drives_think_code_and_critic(tmp_path: Path) -> None:
    events: list[Event] = []
    engine = engine_for(tmp_path, events, seed=11)
    engine.steps = [
        (name, lenient_judge if name == "validate" else step) for name, step in engine.steps
    ]
    try:
        outcomes = [engine.dream_once(max_tokens=MAX_TOKENS) for _ in range(3)]
    finally:
        engine.close()
    counts = stage_counts(events)
    assert counts.get("think") == 3
    assert counts.get("code", 0) >= 3
    assert counts.get("critic", 0) >= 1, f"stages: {counts}; outcomes: {outcomes}"
    finished = [e for e in events if isinstance(e, StageFinished)]
    assert all(e.completion_tokens <= MAX_TOKENS + 1 for e in finished)
    for outcome in outcomes:
        assert outcome.dream is not None or outcome.rejection
