"""The runner: one `Engine` in one worker thread, driven by commands from any thread.

Views (TUI, console, daemon log) never call the engine. They subscribe to the event hub
the runner publishes to, and they steer it with `pause`, `resume`, `dream_now` and
`stop`, which are safe to call from any thread. Pause and stop also set the cancel flag
the model checks before every token, so a generation ends within one token.

Each cycle runs inside an error boundary: whatever goes wrong (a full disk, a prompt
that does not fit, a failed save) becomes an `EngineError` event and a back-off before
the next try, never the end of the runner. At start, an index that cannot be built
because the disk is full or read-only is retried the same way; other start-up failures
(a bad model file, a damaged index) end the runner with one line. Waiting between cycles
is a blocking `get` on the command queue with a timeout, so pause, dream-now and stop act
at once.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from codedreamer.engine.lock import EngineLock
from codedreamer.errors import CodeDreamerError, StorageError
from codedreamer.events import (
    CycleFinished,
    EngineError,
    Event,
    EventHub,
    EventSink,
    IndexProgress,
    ModelLoaded,
    RunnerState,
    RunnerStateChanged,
    RunnerStopped,
)
from codedreamer.safe_text import safe_line

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings
    from codedreamer.engine.engine import CycleOutcome, Engine
    from codedreamer.index.indexer import IndexProgress as IndexerProgress

log = logging.getLogger(__name__)

Command = Literal["pause", "resume", "now", "stop"]
EngineFactory = Callable[["Settings", Path, EventSink], "Engine"]

BACKOFF_FIRST_SEC = 5.0
BACKOFF_MAX_SEC = 300.0
# Index progress is published at most this often: a cold index reports per file.
INDEX_PROGRESS_EVERY_SEC = 0.2
# A temp file this old has no writer left: atomic writes take milliseconds.
STALE_TEMP_SEC = 10.0


class RunnerControl(Protocol):
    """What a view may ask of a runner, in this process or (attached) in a daemon."""

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def toggle_pause(self) -> None: ...

    def dream_now(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


def backoff_seconds(failures: int) -> float:
    """Doubling back-off after consecutive failed cycles: 5 s, 10 s, ... capped at 5 min."""
    if failures <= 0:
        return 0.0
    return min(BACKOFF_MAX_SEC, BACKOFF_FIRST_SEC * 2.0 ** min(failures - 1, 16))


_DISK_TROUBLE = tuple(os.strerror(code) for code in (errno.ENOSPC, errno.EROFS, errno.EDQUOT))


def disk_trouble(exc: BaseException) -> bool:
    """Whether an error says the disk is full or read-only: worth waiting out, not fatal.

    Judged by the OS's own words, which the stores keep in their one-line errors (LanceDB's
    Rust errors carry no errno).
    """
    text = str(exc)
    return any(words in text for words in _DISK_TROUBLE)


def _default_engine(settings: Settings, codebase: Path, sink: EventSink) -> Engine:
    from codedreamer.engine.engine import Engine

    return Engine(settings, codebase, sink, rng=random.Random())


class Runner:
    """Runs dream cycles on one engine in a worker thread until stopped.

    `cycles` limits the number of cycles (None: until stopped); `live_index` keeps the index
    current with the file watcher while running; `stop_on_error` ends the runner at the
    first cycle that fails with a user-fixable error, kept in `error` for the caller. The
    DATA_DIR lock is taken in `start`, on the caller's thread, so a second engine fails
    there with one clear line.
    """

    def __init__(
        self,
        settings: Settings,
        codebase: Path,
        hub: EventHub,
        *,
        cycles: int | None = None,
        max_tokens: int | None = None,
        live_index: bool = True,
        engine_factory: EngineFactory | None = None,
        on_outcome: Callable[[CycleOutcome], None] | None = None,
        stop_on_error: bool = False,
    ) -> None:
        self.settings = settings
        self.codebase = codebase
        self.hub = hub
        self.cycles = cycles
        self.max_tokens = max_tokens
        self.live_index = live_index
        self._engine_factory = engine_factory or _default_engine
        self._on_outcome = on_outcome
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._stopping = threading.Event()
        self._paused = False
        self._thread: threading.Thread | None = None
        self._lock = EngineLock(settings.data_dir)
        self._cycle = 0
        self.stop_reason = ""
        self.error: CodeDreamerError | None = None
        """The error that stopped the runner, for a caller that wants to exit with it."""
        self.stop_on_error = stop_on_error
        """End the runner at the first failed cycle (finite runs such as `dream --once`)."""
        self.cycles_started = 0
        self.cycles_done = 0
        self.failures = 0

    # ----------------------------------------------------------------- control

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> None:
        if self._thread is not None:
            return
        try:
            self._lock.acquire()
        except OSError as exc:  # writing the holder's name on a full disk, for one
            raise StorageError(
                f"cannot take the engine lock {safe_line(str(self._lock.path))}: "
                f"{exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(target=self._run, name="codedreamer-runner", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        # Set here, not in the worker, so the generation stops within one token.
        self._paused = True
        self._cancel.set()
        self._commands.put("pause")

    def resume(self) -> None:
        self._paused = False
        self._commands.put("resume")

    def toggle_pause(self) -> None:
        if self._paused:
            self.resume()
        else:
            self.pause()

    def dream_now(self) -> None:
        self._commands.put("now")

    def request_stop(self) -> None:
        """Ask the worker to stop, without waiting (safe from a signal handler)."""
        self._stopping.set()
        self._cancel.set()
        self._commands.put("stop")

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ worker

    def _emit(self, event: Event) -> None:
        if event.cycle == 0 and self._cycle:
            event = dataclasses.replace(event, cycle=self._cycle)
        self.hub.publish(event)

    def _state(self, state: RunnerState, next_cycle_at: float | None = None) -> None:
        self._emit(RunnerStateChanged(state=state, next_cycle_at=next_cycle_at))

    def _run(self) -> None:
        engine: Engine | None = None
        try:
            self._state("starting")
            self._remove_leftovers()
            engine = self._engine_factory(self.settings, self.codebase, self._emit)
            self._load_models(engine)
            if not self._stopping.is_set():
                self._build_index_when_possible(engine)
            if self.live_index and not self._stopping.is_set():
                engine.start_live_index()
            self._loop(engine)
        except CodeDreamerError as exc:
            # Start-up failures (a bad model file, an unusable index) cannot be retried.
            self.error = exc
            self.stop_reason = str(exc)
            self._emit(EngineError(message=safe_line(str(exc)), fatal=True))
        except Exception as exc:
            log.exception("runner failed")
            self.stop_reason = f"{type(exc).__name__}: {exc}"
            self._emit(
                EngineError(message=f"runner failed: {safe_line(self.stop_reason)}", fatal=True)
            )
        finally:
            self._cycle = 0
            self._state("stopping")
            if engine is not None:
                try:
                    engine.close()
                except Exception:
                    log.exception("closing the engine failed")
            self._lock.release()
            self._emit(RunnerStopped(reason=self.stop_reason or "stopped"))

    def _remove_leftovers(self) -> None:
        """Temp files of writers killed mid-write (the real files are whole, old or new)."""
        from codedreamer.storage.atomic import remove_stale_temps

        settings = self.settings
        removed = sum(
            remove_stale_temps(directory, STALE_TEMP_SEC)
            for directory in (settings.dreams_dir, settings.graph_dir, settings.data_dir)
        )
        if removed:
            log.info("removed %d temp files left by an interrupted write", removed)

    def _load_models(self, engine: Engine) -> None:
        models = engine.models
        models.check_files()
        for role, model in (("reasoning", models.reasoning), ("coder", models.coder)):
            if role == "coder" and models.shared_coder:
                continue
            started = time.perf_counter()
            model.load()
            self._emit(
                ModelLoaded(
                    role=role,
                    model_name=model.name,
                    seconds=time.perf_counter() - started,
                    chat_format=model.chat_format,
                )
            )

    def _build_index(self, engine: Engine) -> None:
        self._state("indexing")
        self._emit(IndexProgress(state="checking"))
        started = time.perf_counter()
        last = 0.0

        def progress(p: IndexerProgress) -> None:
            nonlocal last
            now = time.perf_counter()
            if now - last >= INDEX_PROGRESS_EVERY_SEC or p.files_done == p.files_total:
                last = now
                self._emit(
                    IndexProgress(
                        state="indexing",
                        files_done=p.files_done,
                        files_total=p.files_total,
                        chunks=p.chunks_written,
                        seconds=p.elapsed,
                    )
                )

        report = engine.ensure_index(progress=progress)
        self._emit(
            IndexProgress(
                state="ready",
                files_done=report.files_seen if report else 0,
                files_total=report.files_seen if report else 0,
                chunks=report.chunks_total if report else engine.index.count(),
                seconds=time.perf_counter() - started,
            )
        )

    def _build_index_when_possible(self, engine: Engine) -> None:
        """Build the index; on a full or read-only disk, report and retry with back-off.

        Finite runs (`stop_on_error`) and every other failure still stop at once: only
        a disk that may get space back (or be remounted writable) is worth waiting for.
        """
        failures = 0
        while True:
            try:
                self._build_index(engine)
                return
            except CodeDreamerError as exc:
                if self.stop_on_error or not disk_trouble(exc):
                    raise
                failures += 1
                delay = backoff_seconds(failures)
                self._emit(
                    EngineError(
                        message=f"index not ready: {safe_line(str(exc))}; next try in {delay:.0f}s"
                    )
                )
                if not self._wait(delay):
                    return  # stopped while waiting

    def _wait(self, seconds: float) -> bool:
        """Wait up to `seconds` (dream-now ends it early); False if a stop came meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                command = self._commands.get(timeout=remaining)
            except queue.Empty:
                break
            if command == "now":
                break
        return not self._stopping.is_set()

    def _loop(self, engine: Engine) -> None:
        next_at = time.time()  # the first cycle starts at once
        run_once_while_paused = False
        while not self._stopping.is_set():
            if self._paused and not run_once_while_paused:
                self._state("paused")
                command = self._commands.get()
                run_once_while_paused = self._apply(command) == "now"
                if run_once_while_paused or not self._paused:
                    next_at = time.time()
                continue
            wait = next_at - time.time()
            if wait > 0 and not run_once_while_paused:
                self._state("waiting", next_cycle_at=next_at)
                try:
                    command = self._commands.get(timeout=wait)
                except queue.Empty:
                    pass
                else:
                    if self._apply(command) == "now":
                        next_at = time.time()
                    continue
            forced, run_once_while_paused = run_once_while_paused, False
            if self._stopping.is_set():
                break
            delay = self._cycle_in_boundary(engine, forced=forced)
            if self.cycles is not None and self.cycles_done >= self.cycles:
                break
            next_at = time.time() + delay

    def _apply(self, command: Command) -> Command:
        # pause/resume/stop already changed the flags on the caller's thread.
        return command

    def _cycle_in_boundary(self, engine: Engine, *, forced: bool = False) -> float:
        """Run one cycle; the delay before the next (back-off after a failure).

        `forced` is a dream-now while paused: it runs although the runner is paused.
        """
        self._cancel.clear()
        if (self._paused and not forced) or self._stopping.is_set():
            # A pause or stop that raced the clear above still cancels this cycle.
            self._cancel.set()
        self.cycles_started += 1
        self._cycle = self.cycles_started
        self._state("dreaming")
        started = time.perf_counter()
        try:
            outcome = engine.dream_once(cancel=self._cancel, max_tokens=self.max_tokens)
            engine.decay_graph_if_due()
            engine.maintain_graph()
            engine.finish_interrupted_work()
        except Exception as exc:
            if self.stop_on_error and isinstance(exc, CodeDreamerError):
                raise
            self.failures += 1
            delay = max(backoff_seconds(self.failures), float(self.settings.dream_interval_sec))
            message = exc.args[0] if isinstance(exc, CodeDreamerError) and exc.args else exc
            if not isinstance(exc, CodeDreamerError):
                log.exception("dream cycle %d failed", self._cycle)
            self._emit(
                EngineError(
                    message=f"cycle failed: {safe_line(str(message))}; next try in {delay:.0f}s"
                )
            )
            self._emit(
                CycleFinished(
                    outcome="error",
                    seconds=time.perf_counter() - started,
                    reason=safe_line(str(message)),
                )
            )
            self.cycles_done += 1
            self._cycle = 0
            return delay
        self.failures = 0
        self.cycles_done += 1
        dream = outcome.dream
        self._emit(
            CycleFinished(
                outcome="saved" if dream is not None else "rejected",
                seconds=time.perf_counter() - started,
                dream_id=dream.id if dream is not None else "",
                reason=outcome.rejection or "",
            )
        )
        self._cycle = 0
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return float(self.settings.dream_interval_sec)
