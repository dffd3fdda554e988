"""The daemon's event log: JSON lines appended to DATA_DIR/events.jsonl, tailed by viewers.

An append-only file rather than a socket (docs/live_app.md argues the choice): any number
of viewers read it without the daemon knowing they exist, a viewer started after the
daemon reads the recent past to fill its panes, and it survives a daemon restart.

Writing: one thread drains a hub subscription every `flush_interval` seconds, merges runs
of token events (thousands a minute) into one event per stage, and appends whole lines
in one `write`. A kill -9 can leave a torn last line: readers skip lines that do not
parse, and the writer starts a fresh line first when the file does not end in one. A
full disk or a read-only DATA_DIR never tears a line: a partial write is cut off, and the
events wait in memory until the file can be written. The log is rotated by size to
`events.jsonl.1`; readers notice the new file by its inode.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections import deque
from pathlib import Path

from codedreamer.events import (
    EngineError,
    Event,
    EventHub,
    Notice,
    TokenStreamed,
    event_from_json,
    event_to_json,
)
from codedreamer.safe_text import safe_line
from codedreamer.storage.atomic import append_whole_lines
from codedreamer.storage.follow import LineFollower, Poller

log = logging.getLogger(__name__)

EVENT_LOG_NAME = "events.jsonl"
MAX_LOG_BYTES = 8 * 1024 * 1024
BACKLOG_BYTES = 256 * 1024
# Events kept in memory while the log cannot be written (a full disk): minutes of a cycle.
MAX_PENDING_BYTES = 1024 * 1024


def event_log_path(data_dir: Path) -> Path:
    return data_dir / EVENT_LOG_NAME


def merge_tokens(events: list[Event]) -> list[Event]:
    """Consecutive token events of one stage and cycle become one event with their text."""
    merged: list[Event] = []
    for event in events:
        last = merged[-1] if merged else None
        if (
            isinstance(event, TokenStreamed)
            and isinstance(last, TokenStreamed)
            and last.stage == event.stage
            and last.cycle == event.cycle
        ):
            merged[-1] = dataclasses.replace(last, text=last.text + event.text)
        else:
            merged.append(event)
    return merged


class EventLogWriter:
    """Appends every event published on `hub` to the log file until `stop()`.

    A write that fails (a full disk, a read-only DATA_DIR) never ends the daemon and never
    leaves a torn line: the partial tail is cut off again, the events wait in memory (the
    newest `max_pending_bytes`; older ones are dropped and counted) and are written once the
    file can be written again. Each outage is reported once, as an `EngineError` on the hub
    and a log line, and its end as a `Notice` saying how many events were late or dropped.
    """

    def __init__(
        self,
        hub: EventHub,
        path: Path,
        *,
        flush_interval: float = 0.1,
        max_bytes: int = MAX_LOG_BYTES,
        max_pending_bytes: int = MAX_PENDING_BYTES,
    ) -> None:
        self.path = path
        self.flush_interval = flush_interval
        self.max_bytes = max_bytes
        self.max_pending_bytes = max_pending_bytes
        self.write_errors = 0
        """Failed attempts to append (each outage is reported once, not per attempt)."""
        self.dropped = 0
        """Events lost because the file stayed unwritable past `max_pending_bytes`."""
        self.outage: str = ""
        """Why the log cannot be written now; empty while it can."""
        self._hub = hub
        self._subscription = hub.subscribe()
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._dropped_in_outage = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._report_outage(exc)  # the first flush that can write catches up
        self._thread = threading.Thread(target=self._run, name="codedreamer-eventlog", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._subscription.close()
        if self._pending:
            log.warning(
                "event log %s: %d events not written at stop (%s)",
                self.path,
                len(self._pending),
                self.outage or "write failed",
            )

    @property
    def pending(self) -> int:
        """Events waiting in memory for the file to become writable."""
        return len(self._pending)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()
        self.flush()

    def flush(self) -> None:
        events = self._subscription.drain()
        for event in merge_tokens(events):
            self._keep((event_to_json(event) + "\n").encode("utf-8"))
        if not self._pending:
            return
        try:
            self._rotate_if_full()
            self._append(b"".join(self._pending))
        except OSError as exc:
            # A full disk costs log lines at worst, never the daemon: the dream files,
            # graph and index are written (or refused) on their own.
            self.write_errors += 1
            self._report_outage(exc)
            return
        written = len(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        if self.outage:
            self._report_recovery(written)

    def _keep(self, line: bytes) -> None:
        self._pending.append(line)
        self._pending_bytes += len(line)
        while self._pending_bytes > self.max_pending_bytes and self._pending:
            self._pending_bytes -= len(self._pending.popleft())
            self.dropped += 1
            self._dropped_in_outage += 1

    def _append(self, data: bytes) -> None:
        """Append whole lines, or nothing: a partial write is cut off again."""
        append_whole_lines(self.path, data)

    def _report_outage(self, exc: OSError) -> None:
        if self.outage:
            return  # said once per outage, not ten times a second
        why = exc.strerror or str(exc) or type(exc).__name__
        self.outage = why
        self._dropped_in_outage = 0
        kept = self.max_pending_bytes // 1024
        message = (
            f"event log {safe_line(str(self.path))}: cannot write ({why}); "
            f"events wait in memory (up to {kept} KiB) until it can be written"
        )
        log.warning("%s", message)
        self._hub.publish(EngineError(message=message))

    def _report_recovery(self, written: int) -> None:
        dropped = self._dropped_in_outage
        message = (
            f"event log {safe_line(str(self.path))} written again after "
            f"'{self.outage}': {written} events written late, {dropped} dropped"
        )
        self.outage = ""
        self._dropped_in_outage = 0
        log.info("%s", message)
        self._hub.publish(Notice(message=message))

    def _rotate_if_full(self) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size >= self.max_bytes:
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))


class EventLogTail:
    """Follows the log file and publishes what it reads into a local hub (for viewers).

    It starts with the last `backlog_bytes` of the file, so a viewer opened mid-run shows
    the model, the graph and recent dreams at once, then polls for new lines. Lines that
    do not parse (torn by a crash, from a newer version) are counted and skipped.
    """

    def __init__(
        self,
        path: Path,
        hub: EventHub,
        *,
        poll_interval: float = 0.1,
        backlog_bytes: int = BACKLOG_BYTES,
    ) -> None:
        self.path = path
        self.hub = hub
        self.bad_lines = 0
        self.lines_read = 0
        self._lines = LineFollower(path, backlog_bytes=backlog_bytes)
        self._poller = Poller("codedreamer-eventtail", poll_interval, self.poll)

    def start(self) -> None:
        self._poller.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._poller.stop(timeout)

    def poll(self) -> int:
        """Read and publish what was appended since the last poll; the number of events."""
        published = 0
        for raw in self._lines.read_lines():
            try:
                event = event_from_json(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.bad_lines += 1
                continue
            self.lines_read += 1
            self.hub.publish(event)
            published += 1
        return published
