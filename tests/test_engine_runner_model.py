"""The runner on the real engine and the bundled model, over a small git repo."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from codedreamer.engine.runner import Runner
from codedreamer.events import (
    ChunkSelected,
    CycleFinished,
    CycleStarted,
    Event,
    EventHub,
    IndexProgress,
    ModelLoaded,
    RunnerStopped,
    StageStarted,
    TokenStreamed,
)
from tests.sample_repo import make_repo, settings_for

pytestmark = pytest.mark.model


def test_one_real_cycle_reports_every_step_in_order(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    hub = EventHub()
    sub = hub.subscribe()
    runner = Runner(settings_for(tmp_path), repo, hub, cycles=1, max_tokens=48, live_index=False)
    runner.start()
    assert runner.join(180)
    events = sub.drain()
    order = [
        ModelLoaded,
        IndexProgress,
        CycleStarted,
        ChunkSelected,
        StageStarted,
        TokenStreamed,
        CycleFinished,
        RunnerStopped,
    ]
    positions = [next(i for i, e in enumerate(events) if isinstance(e, kind)) for kind in order]
    assert positions == sorted(positions)
    ready = [e for e in events if isinstance(e, IndexProgress) and e.state == "ready"]
    assert ready and ready[0].chunks > 0
    finished = next(e for e in events if isinstance(e, CycleFinished))
    assert finished.cycle == 1 and finished.outcome in {"saved", "rejected"}
    saved = list((tmp_path / "dreams").glob("*.md"))
    assert (finished.outcome == "saved") == bool(saved)


def test_stop_during_generation_ends_within_a_second_and_saves_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    hub = EventHub()
    sub = hub.subscribe()
    settings = settings_for(tmp_path, DREAMER_DREAM_INTERVAL_SEC="0")
    runner = Runner(settings, repo, hub, max_tokens=2000, live_index=False)
    runner.start()
    seen: list[Event] = []
    deadline = time.monotonic() + 180
    while not any(isinstance(e, TokenStreamed) for e in seen):
        assert time.monotonic() < deadline and runner.is_alive()
        got = sub.get(timeout=0.1)
        if got is not None:
            seen.append(got)
    started = time.perf_counter()
    runner.stop(timeout=10)
    took = time.perf_counter() - started
    assert not runner.is_alive()
    # Generous bound: the requirement is < 1 s; bench/bench_live_app.py measures it.
    assert took < 3.0, took
    finished = [e for e in sub.drain() if isinstance(e, CycleFinished)]
    assert finished and finished[-1].reason == "cancelled"
    assert not list((tmp_path / "dreams").glob("*.md"))
