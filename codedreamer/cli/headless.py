"""Run the engine without a UI: `dream`, `daemon` and `tui --no-ui` all come through here.

The runner works in its thread; this (main) thread drains one event subscription and
prints it, and turns SIGINT/SIGTERM into a clean stop: the generation is cancelled within
a token, and a dream is either saved whole or not at all.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from codedreamer.events import EngineError, Event, event_to_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from codedreamer.config.settings import Settings
    from codedreamer.engine.engine import CycleOutcome
    from codedreamer.engine.runner import EngineFactory, Runner
    from codedreamer.events import EventSink

LOG_FILE_NAME = "codedreamer.log"
PRINT_HZ = 20


@dataclass(frozen=True)
class HeadlessOptions:
    cycles: int | None = None
    max_tokens: int | None = None
    live_index: bool = True
    show_tokens: bool = True
    json_lines: bool = False
    """Print every event (tokens merged) as JSON lines instead of text."""
    event_log: bool = False
    """Append events to DATA_DIR/events.jsonl and take commands from attached viewers."""


def configure_logging(settings: Settings) -> Path | None:
    """Send Python logging to DATA_DIR/codedreamer.log at LOG_LEVEL, once per process.

    The file is opened at the first record, and a record that cannot be written (a full
    disk, a read-only DATA_DIR) is dropped and counted instead of printing logging's
    "--- Logging error ---" traceback: the first failure of an outage is one line on
    stderr, and the first record written after it says how many were dropped. The handler
    is installed even when DATA_DIR cannot be created yet, so library warnings never fall
    through to logging's last-resort handler on the terminal.
    """
    import logging

    from codedreamer.safe_text import safe_line

    class DroppingFileHandler(logging.FileHandler):
        _codedreamer = True

        def __init__(self, path: Path) -> None:
            super().__init__(path, encoding="utf-8", delay=True)
            self.dropped = 0
            self.outage = ""

        def _open(self) -> Any:
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
            return super()._open()

        def emit(self, record: logging.LogRecord) -> None:
            if self.dropped:
                before = self.dropped
                self._write(
                    logging.makeLogRecord(
                        {
                            "name": __name__,
                            "levelno": logging.WARNING,
                            "levelname": "WARNING",
                            "msg": "%d log records were dropped: the log file could not be "
                            "written (%s)",
                            "args": (before, self.outage),
                        }
                    )
                )
                if self.dropped != before:
                    return  # still failing; handleError counted this record as dropped
                self.dropped, self.outage = 0, ""
            self._write(record)

        def _write(self, record: logging.LogRecord) -> None:
            if self.stream is None:
                try:  # FileHandler opens outside its own error handling: an OSError here
                    self.stream = self._open()  # would reach the code that logged
                except Exception:
                    self.handleError(record)
                    return
            logging.StreamHandler.emit(self, record)

        def handleError(self, record: logging.LogRecord) -> None:
            exc = sys.exc_info()[1]
            why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or "error"
            self.dropped += 1
            if not self.outage:
                self.outage = why
                # One line, never a traceback; the TUI has fd 2 in a file, so no screen damage.
                with contextlib.suppress(Exception):
                    sys.stderr.write(
                        f"codedreamer: cannot write the log file "
                        f"{safe_line(self.baseFilename)} ({safe_line(why)}); log lines are "
                        "dropped until it can be written\n"
                    )
                    sys.stderr.flush()
            # Drop the stream and whatever it buffered: the next record reopens the file.
            stream, self.stream = self.stream, None
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()

    root = logging.getLogger()
    if any(getattr(h, "_codedreamer", False) for h in root.handlers):
        return None
    path = settings.data_dir / LOG_FILE_NAME
    handler = DroppingFileHandler(path)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(getattr(logging, str(settings.log_level).upper(), logging.INFO))
    return path


class EngineServices:
    """A started runner, plus the event log and control file that attached viewers use."""

    def __init__(self, settings: Settings, runner: Runner, *, event_log: bool) -> None:
        from codedreamer.engine.control import ControlFileReader
        from codedreamer.engine.eventlog import EventLogWriter, event_log_path

        self.runner = runner
        self._writer: EventLogWriter | None = None
        self._control: ControlFileReader | None = None
        runner.start()  # takes the DATA_DIR lock here: a second engine fails with one line
        if event_log:
            self._writer = EventLogWriter(runner.hub, event_log_path(settings.data_dir))
            self._writer.start()
            self._control = ControlFileReader(settings.data_dir, runner)
            self._control.start()

    def stop(self) -> None:
        self.runner.stop()
        if self._control is not None:
            self._control.stop()
        if self._writer is not None:
            self._writer.stop()


def build_runner(
    settings: Settings,
    codebase: Path,
    options: HeadlessOptions,
    *,
    on_outcome: Callable[[CycleOutcome], None] | None = None,
    seed: int | None = None,
) -> Runner:
    from codedreamer.engine.runner import Runner
    from codedreamer.events import EventHub

    return Runner(
        settings,
        codebase,
        EventHub(),
        cycles=options.cycles,
        max_tokens=options.max_tokens,
        live_index=options.live_index,
        on_outcome=on_outcome,
        stop_on_error=options.cycles is not None,
        engine_factory=_seeded_engine(seed) if seed is not None else None,
    )


def run_headless(
    settings: Settings,
    codebase: Path,
    options: HeadlessOptions,
    *,
    on_outcome: Callable[[CycleOutcome], None] | None = None,
    printer: Callable[[Event], None] | None = None,
    seed: int | None = None,
) -> Runner:
    """Run until the cycles are done or a signal stops it; raises the error that stopped it."""
    from codedreamer.engine.console import ConsolePrinter
    from codedreamer.models.preflight import check_model_files

    from .common import stdout_console

    # A model file that cannot load is one line before anything else starts (no lock, no index).
    check_model_files(settings)
    configure_logging(settings)
    runner = build_runner(settings, codebase, options, on_outcome=on_outcome, seed=seed)
    subscription = runner.hub.subscribe()
    show: Callable[[Event], None]
    if printer is not None:
        show = printer
    elif options.json_lines:
        show = _print_json_line
    else:
        show = ConsolePrinter(stdout_console(), show_tokens=options.show_tokens)
    services = EngineServices(settings, runner, event_log=options.event_log)
    restore = _stop_on_signals(runner)
    try:
        _pump(runner, subscription, show, json_lines=options.json_lines)
    finally:
        restore()
        services.stop()
        subscription.close()
    if runner.error is not None:
        raise runner.error
    return runner


def _seeded_engine(seed: int) -> EngineFactory:
    import random

    from codedreamer.engine.engine import Engine

    def build(settings: Settings, codebase: Path, sink: EventSink) -> Engine:
        return Engine(settings, codebase, sink, rng=random.Random(seed))

    return build


def _pump(
    runner: Runner,
    subscription: Any,
    show: Callable[[Event], None],
    *,
    json_lines: bool,
) -> None:
    """Print events until the runner has stopped and every event it sent is shown."""
    from codedreamer.engine.eventlog import merge_tokens

    while True:
        alive = runner.is_alive()
        # Drained at most PRINT_HZ times a second, never woken per token: a thread woken
        # for every token takes a core from llama.cpp's threads, which wait on each other.
        time.sleep(1.0 / PRINT_HZ)
        events = subscription.drain()
        if json_lines:
            events = merge_tokens(events)
        for event in events:
            if isinstance(event, EngineError) and event.fatal and runner.error is not None:
                continue  # the caller prints it once, as the command's error line
            show(event)
        if not alive and not events:
            return


def _print_json_line(event: Event) -> None:
    sys.stdout.write(event_to_json(event) + "\n")
    sys.stdout.flush()


def _stop_on_signals(runner: Runner) -> Callable[[], None]:
    """SIGINT and SIGTERM ask the runner to stop; returns a function restoring the handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(_signum: int, _frame: FrameType | None) -> None:
        runner.request_stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
