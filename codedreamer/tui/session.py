"""What a TUI runs against: an event hub, a way to steer the engine, and how to shut down.

Three kinds, one app:

- local: the runner works in this process (a worker thread). Its events also go to
  DATA_DIR/events.jsonl and it follows DATA_DIR/control.jsonl, so other viewers can attach
  to a TUI exactly as to a daemon.
- attached: a daemon (or another TUI) runs the engine; its event log is tailed into a
  local hub and commands go through the control file. No model is loaded here.
- viewer: nothing runs the engine; the dream files and the graph are shown and marked.

The app never learns which kind it has beyond `mode`: it subscribes to `hub`, steers
through `control` and calls `shutdown` (in a thread) when the user quits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from codedreamer.events import EventHub, Subscription

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings
    from codedreamer.engine.runner import Runner, RunnerControl

log = logging.getLogger(__name__)

Mode = Literal["local", "attached", "viewer"]


@dataclass
class TuiSession:
    settings: Settings
    hub: EventHub
    mode: Mode
    control: RunnerControl | None = None
    codebase: Path | None = None
    requests: list[Callable[[], None]] = field(default_factory=list)
    """Asked first, all at once: each only sets a flag (the runner's stop and cancel)."""
    wait: Callable[[float | None], bool] | None = None
    """Waits for the engine thread to end, up to a timeout; True once it has."""
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    """Called in order once the engine has ended (event log writer, tails)."""
    subscription: Subscription = field(init=False)
    """The app's queue of events, subscribed before anything can publish."""
    _done: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.subscription = self.hub.subscribe()

    @property
    def done(self) -> bool:
        return self._done

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop what this session started; True once everything has stopped.

        The stop is requested at once (a generation ends within one token); the engine is
        waited for up to `timeout` seconds (None: as long as it takes). A model still
        reading its prompt cannot be interrupted, so False means "asked, not yet done":
        call again to finish. Safe to call from any thread, any number of times.
        """
        with self._lock:
            if self._done:
                return True
            for request in self.requests:
                request()
            if self.wait is not None and not self.wait(timeout):
                return False
            for stop in self.stoppers:
                try:
                    stop()
                except Exception:  # one failing stopper must not keep the others running
                    log.exception("stopping the TUI session failed")
            self._done = True
            return True


def local_session(
    settings: Settings,
    codebase: Path,
    *,
    max_tokens: int | None = None,
    runner: Runner | None = None,
) -> TuiSession:
    """Start the engine in this process, with its event log and control file.

    Raises EngineBusyError (one line, naming the holder) if DATA_DIR has an engine already.
    """
    from codedreamer.engine.control import ControlFileReader
    from codedreamer.engine.eventlog import EventLogWriter, event_log_path
    from codedreamer.engine.runner import Runner

    engine = runner or Runner(
        settings, codebase, EventHub(), max_tokens=max_tokens, live_index=True
    )
    session = TuiSession(settings, engine.hub, "local", control=engine, codebase=codebase)
    engine.start()  # takes the DATA_DIR lock on this thread: a second engine fails here
    writer = EventLogWriter(engine.hub, event_log_path(settings.data_dir))
    writer.start()
    reader = ControlFileReader(settings.data_dir, engine)
    reader.start()
    session.requests.append(engine.request_stop)
    session.wait = engine.join
    # The writer goes last, so the log ends with the runner's own "stopped" event.
    session.stoppers += [reader.stop, writer.stop]
    return session


def attached_session(settings: Settings) -> TuiSession:
    """Watch and steer the engine that runs on settings.data_dir (a daemon or a TUI)."""
    from codedreamer.engine.control import ControlClient
    from codedreamer.engine.eventlog import EventLogTail, event_log_path

    hub = EventHub()
    tail = EventLogTail(event_log_path(settings.data_dir), hub)
    session = TuiSession(settings, hub, "attached", control=ControlClient(settings.data_dir))
    tail.start()
    session.stoppers.append(lambda: tail.stop())
    return session


def viewer_session(settings: Settings) -> TuiSession:
    """Show and mark the stored dreams with no engine."""
    return TuiSession(settings, EventHub(), "viewer")
