"""`codedreamer daemon` with a scripted model that stores and verifies a dream every cycle.

    python -m bench.soak_daemon daemon --codebase REPO   (same arguments as `codedreamer`)

The soak (bench/soak.py, `--mode storing`) runs this instead of `codedreamer daemon`. It
is the real command line, settings, runner, engine, index, stores, graph, event log and
verifier; only two things differ:
- unless SOAK_MODEL=bundled, the engine's models are bench/soak_model.py's scripted double
  (answers that pass validation, streamed at SOAK_SECONDS_PER_PIECE per piece), swapped in
  through the runner's default engine factory;
- when SOAK_PHASE_LOG names a file, the write windows are instrumented: each time the
  engine enters or leaves one, a line `<monotonic seconds> <phase path>` is appended with
  one unbuffered write, e.g. `cycle/store/dream_file` while the dream file is written,
  `cycle` when it is done. A process killed at any moment has written the phase it was in
  as its last line, so the soak knows where each kill landed (and times its kills by it).

Nothing else is wrapped: the functions called are the production ones, in their order.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings
    from codedreamer.engine.engine import Engine
    from codedreamer.events import EventSink

PHASE_LOG_VAR = "SOAK_PHASE_LOG"
MODEL_VAR = "SOAK_MODEL"
"""`scripted` (default) or `bundled`: the configured models, as `codedreamer daemon` uses."""
SECONDS_PER_PIECE_VAR = "SOAK_SECONDS_PER_PIECE"
DEFAULT_SECONDS_PER_PIECE = 0.005

F = TypeVar("F", bound=Callable[..., Any])


class PhaseLog:
    """Appends the current phase path of the runner thread to a file, one write per change."""

    def __init__(self, path: Path | None) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if path else None
        self._local = threading.local()

    def _stack(self) -> list[str]:
        stack: list[str] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _write(self, stack: list[str]) -> None:
        if self._fd is not None:
            line = f"{time.monotonic():.6f} {'/'.join(stack) or 'idle'}\n"
            os.write(self._fd, line.encode())

    def mark(self, phase: str) -> None:
        """A one-off marker (start-up)."""
        self._write([phase])

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        stack = self._stack()
        stack.append(name)
        self._write(stack)
        try:
            yield
        finally:
            stack.pop()
            self._write(stack)

    def inside(self, name: str) -> bool:
        return name in self._stack()

    def wrap(self, name: str | Callable[..., str], function: F) -> F:
        """`function`, run inside phase `name` (or the name `name(*args, **kwargs)` gives)."""

        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            label = name(*args, **kwargs) if callable(name) else name
            with self.phase(label):
                return function(*args, **kwargs)

        return wrapped  # type: ignore[return-value]


def _wrap(log: PhaseLog, owner: object, attribute: str, name: str | Callable[..., str]) -> None:
    setattr(owner, attribute, log.wrap(name, getattr(owner, attribute)))


def instrument(log: PhaseLog) -> None:
    """Wrap the engine's write windows (and the stages around them) in phases."""
    from codedreamer.dream import check, code, critic, record, reflect, think
    from codedreamer.engine.engine import Engine
    from codedreamer.memory import graph_store
    from codedreamer.memory.trm import TemporalMemory
    from codedreamer.storage.store import DreamStore
    from codedreamer.verify import verifier

    _wrap(log, Engine, "ensure_index", "index")
    _wrap(log, Engine, "dream_once", "cycle")
    _wrap(log, Engine, "maintain_graph", "maintain")
    # Each stage module imported run_stage by name: wrap it where it is called.
    for module in (think, code, critic, reflect):
        _wrap(log, module, "run_stage", lambda *_, **kw: f"generate_{kw.get('stage', '')}")
    # cycle_steps() imports the steps when the engine is built: patch the modules first.
    _wrap(log, record, "store_step", "store")
    _wrap(log, check, "verify_step", "verify")
    _wrap(log, DreamStore, "save_new", "dream_file")
    _wrap(
        log,
        DreamStore,
        "update",
        lambda *_, **__: "record" if log.inside("verify") else "dream_update",
    )
    _wrap(log, TemporalMemory, "save", "trm")
    _wrap(log, graph_store, "save_graph", "graph")
    original_scratch = getattr(verifier, "scratch_worktree")  # noqa: B009 (not re-exported)

    @contextlib.contextmanager
    def scratch(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with log.phase("scratch"), original_scratch(*args, **kwargs) as made:
            yield made

    setattr(verifier, "scratch_worktree", scratch)  # noqa: B010


def scripted_engine_factory(
    seconds_per_piece: float,
) -> Callable[[Settings, Path, EventSink], Engine]:
    from bench.soak_model import ScriptedModel, ScriptedModelSet
    from codedreamer.engine.engine import Engine

    def build(settings: Settings, codebase: Path, sink: EventSink) -> Engine:
        engine = Engine(settings, codebase, sink, rng=random.Random())
        model = ScriptedModel(seconds_per_piece=seconds_per_piece)
        engine._models = ScriptedModelSet(model)  # type: ignore[assignment]
        return engine

    return build


def main(argv: list[str]) -> int:
    from codedreamer.cli.app import run
    from codedreamer.engine import runner

    phase_path = os.environ.get(PHASE_LOG_VAR)
    log = PhaseLog(Path(phase_path) if phase_path else None)
    log.mark("start")
    seconds = float(os.environ.get(SECONDS_PER_PIECE_VAR, DEFAULT_SECONDS_PER_PIECE))
    instrument(log)
    if os.environ.get(MODEL_VAR, "scripted") == "scripted":
        setattr(runner, "_default_engine", scripted_engine_factory(seconds))  # noqa: B010
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
