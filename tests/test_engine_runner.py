"""The runner's schedule, commands and error boundary, around a scripted engine.

The engine here is a test double: these are unit tests of the runner's own logic. The
real engine and model run in tests/test_engine_runner_model.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codedreamer.engine.engine import CycleOutcome
from codedreamer.engine.runner import Runner, backoff_seconds
from codedreamer.errors import EngineBusyError, StorageError, UsageError
from codedreamer.events import (
    CycleFinished,
    CycleStarted,
    EngineError,
    Event,
    EventHub,
    EventSink,
    IndexProgress,
    ModelLoaded,
    RunnerStateChanged,
    RunnerStopped,
    Subscription,
    TokenStreamed,
)
from tests.sample_repo import settings_for


class _Model:
    name = "scripted"
    chat_format = "chatml"

    def load(self) -> None:
        pass


class _Models:
    def __init__(self) -> None:
        self.reasoning = self.coder = _Model()
        self.shared_coder = True

    def check_files(self) -> None:
        pass


class _Index:
    def count(self) -> int:
        return 1


class ScriptedEngine:
    """Each dream_once streams tokens until cancelled or `tokens` are out, then obeys `script`."""

    def __init__(self, sink: EventSink, script: list[Callable[[], None]], tokens: int = 5):
        self.sink = sink
        self.script = script
        self.tokens = tokens
        self.models = _Models()
        self.index = _Index()
        self.cycles = 0
        self.closed = False
        self.token_delay = 0.0

    def ensure_index(self, progress: Any = None) -> None:
        return None

    def start_live_index(self) -> None:
        pass

    def decay_graph_if_due(self) -> bool:
        return False

    def maintain_graph(self) -> bool:
        return False

    def finish_interrupted_work(self) -> int:
        return 0

    def dream_once(
        self, *, cancel: threading.Event | None = None, max_tokens: int | None = None
    ) -> CycleOutcome:
        self.cycles += 1
        self.sink(CycleStarted())
        for _ in range(self.tokens):
            if cancel is not None and cancel.is_set():
                return CycleOutcome(dream=None, rejection="cancelled")
            self.sink(TokenStreamed(stage="think", text="t"))
            time.sleep(self.token_delay)
        if self.script:
            self.script.pop(0)()
        return CycleOutcome(dream=None, rejection="ungrounded")

    def close(self) -> None:
        self.closed = True


def _runner(
    tmp_path: Path, script: list[Callable[[], None]] | None = None, **kwargs: Any
) -> tuple[Runner, Subscription, list[ScriptedEngine]]:
    interval = kwargs.pop("interval", "3600")
    settings = settings_for(tmp_path, DREAMER_DREAM_INTERVAL_SEC=interval)
    hub = EventHub()
    sub = hub.subscribe()
    engines: list[ScriptedEngine] = []

    def factory(_settings: Any, _codebase: Path, sink: EventSink) -> Any:
        engine = ScriptedEngine(sink, script if script is not None else [])
        engines.append(engine)
        return engine

    runner = Runner(settings, tmp_path, hub, engine_factory=factory, **kwargs)
    return runner, sub, engines


def _collect_until(sub: Subscription, done: Callable[[list[Event]], bool], timeout: float = 10):
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while not done(events):
        assert time.monotonic() < deadline, [type(e).__name__ for e in events]
        got = sub.get(timeout=0.05)
        if got is not None:
            events.append(got)
    return events


def _finished(n: int) -> Callable[[list[Event]], bool]:
    return lambda events: sum(isinstance(e, CycleFinished) for e in events) >= n


def test_first_cycle_runs_at_once_then_waits_for_the_interval(tmp_path: Path) -> None:
    runner, sub, engines = _runner(tmp_path)
    runner.start()
    events = _collect_until(
        sub,
        lambda ev: any(isinstance(e, RunnerStateChanged) and e.state == "waiting" for e in ev),
    )
    runner.stop()
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("ModelLoaded") < kinds.index("IndexProgress") < kinds.index("CycleStarted")
    waiting = [e for e in events if isinstance(e, RunnerStateChanged) and e.state == "waiting"]
    assert waiting[0].next_cycle_at is not None
    assert waiting[0].next_cycle_at - time.time() > 3500
    assert engines[0].cycles == 1 and engines[0].closed


def test_events_of_a_cycle_carry_its_number(tmp_path: Path) -> None:
    runner, sub, _ = _runner(tmp_path, interval="0", cycles=2)
    runner.start()
    assert runner.join(10)
    events = sub.drain()
    tokens = [e for e in events if isinstance(e, TokenStreamed)]
    assert {e.cycle for e in tokens} == {1, 2}
    finished = [e for e in events if isinstance(e, CycleFinished)]
    assert [e.cycle for e in finished] == [1, 2]
    assert all(e.cycle == 0 for e in events if isinstance(e, ModelLoaded | IndexProgress))
    assert isinstance(events[-1], RunnerStopped)


def test_dream_now_starts_a_cycle_at_once_while_waiting(tmp_path: Path) -> None:
    runner, sub, engines = _runner(tmp_path)
    runner.start()
    _collect_until(sub, _finished(1))
    runner.dream_now()
    _collect_until(sub, _finished(1))
    runner.stop()
    assert engines[0].cycles == 2


def test_pause_cancels_the_generation_within_a_token_and_resume_dreams_again(
    tmp_path: Path,
) -> None:
    runner, sub, engines = _runner(tmp_path, interval="0")
    runner.start()
    _collect_until(sub, lambda ev: any(isinstance(e, TokenStreamed) for e in ev))
    engines[0].tokens = 10**9
    engines[0].token_delay = 0.01
    runner.pause()
    events = _collect_until(
        sub,
        lambda ev: any(isinstance(e, RunnerStateChanged) and e.state == "paused" for e in ev),
    )
    cancelled = [e for e in events if isinstance(e, CycleFinished)]
    assert cancelled and cancelled[-1].reason == "cancelled"
    # Nothing streams while paused.
    time.sleep(0.3)
    assert not any(isinstance(e, TokenStreamed) for e in sub.drain())
    engines[0].tokens = 3
    runner.resume()
    _collect_until(sub, _finished(1))
    runner.stop()


def test_dream_now_while_paused_runs_one_cycle_and_stays_paused(tmp_path: Path) -> None:
    runner, sub, engines = _runner(tmp_path)
    runner.start()
    _collect_until(sub, _finished(1))
    runner.pause()
    _collect_until(
        sub, lambda ev: any(isinstance(e, RunnerStateChanged) and e.state == "paused" for e in ev)
    )
    runner.dream_now()
    events = _collect_until(sub, _finished(1))
    assert events[-1].reason == "ungrounded"  # type: ignore[attr-defined]  # not cancelled
    _collect_until(
        sub, lambda ev: any(isinstance(e, RunnerStateChanged) and e.state == "paused" for e in ev)
    )
    assert engines[0].cycles == 2 and runner.paused
    runner.stop()


def test_stop_while_waiting_is_immediate(tmp_path: Path) -> None:
    runner, sub, _ = _runner(tmp_path)
    runner.start()
    _collect_until(sub, _finished(1))
    runner.stop(timeout=5)
    assert not runner.is_alive()
    assert any(isinstance(e, RunnerStopped) for e in sub.drain())


def test_a_failing_cycle_is_an_error_event_and_a_back_off_not_the_end(tmp_path: Path) -> None:
    def disk_full() -> None:
        raise OSError(28, "No space left on device")

    def bad_file() -> None:
        raise StorageError("dreams/x.md: cannot write")

    runner, sub, engines = _runner(tmp_path, [disk_full, bad_file], interval="0")
    runner.start()
    events = _collect_until(sub, _finished(1))
    errors = [e for e in events if isinstance(e, EngineError)]
    assert "No space left" in errors[0].message and "next try in 5s" in errors[0].message
    assert events[-1].outcome == "error"  # type: ignore[attr-defined]
    # The back-off is a wait the user can cut short.
    runner.dream_now()
    events = _collect_until(sub, _finished(1))
    assert "next try in 10s" in next(e for e in events if isinstance(e, EngineError)).message
    runner.dream_now()
    events = _collect_until(sub, _finished(1))
    assert events[-1].outcome == "rejected" and runner.failures == 0  # type: ignore[attr-defined]
    assert runner.is_alive()
    runner.stop()
    assert engines[0].cycles >= 3  # back to back once the failures are over


def test_stop_on_error_ends_a_counted_run_with_the_error(tmp_path: Path) -> None:
    def nothing_indexed() -> None:
        raise UsageError("nothing to dream about")

    runner, _sub, _ = _runner(tmp_path, [nothing_indexed], cycles=3, stop_on_error=True)
    runner.start()
    assert runner.join(10)
    assert isinstance(runner.error, UsageError)


def test_a_second_runner_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    first, sub, _ = _runner(tmp_path)
    first.start()
    second, _, _ = _runner(tmp_path)
    with pytest.raises(EngineBusyError):
        second.start()
    first.stop()
    _collect_until(sub, lambda ev: any(isinstance(e, RunnerStopped) for e in ev))
    second.start()  # the lock was released with the first runner
    second.stop()


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0), (1, 5), (2, 10), (7, 300), (99, 300)])
def test_backoff_doubles_and_is_capped(failures: int, seconds: float) -> None:
    assert backoff_seconds(failures) == seconds
