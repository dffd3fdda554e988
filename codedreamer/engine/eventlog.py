"""The daemon's event log: JSON lines appended to DATA_DIR/events.jsonl, tailed by viewers.

An append-only file rather than a socket (docs/live_app.md argues the choice): any number
of viewers read it without the daemon knowing they exist, a viewer started after the
daemon reads the recent past to fill its panes, and it survives a daemon restart.

Writing: one thread drains a hub subscription every `flush_interval` seconds, merges runs
of token events (thousands a minute) into one event per stage, and appends whole lines
in one `write`. A kill -9 can leave a torn last line: readers skip lines that do not
parse, and the writer starts a fresh line first when the file does not end in one. The
log is rotated by size to `events.jsonl.1`; readers notice the new file by its inode.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from pathlib import Path

from codedreamer.events import Event, EventHub, TokenStreamed, event_from_json, event_to_json
from codedreamer.storage.follow import LineFollower, Poller

log = logging.getLogger(__name__)

EVENT_LOG_NAME = "events.jsonl"
MAX_LOG_BYTES = 8 * 1024 * 1024
BACKLOG_BYTES = 256 * 1024


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
    """Appends every event published on `hub` to the log file until `stop()`."""

    def __init__(
        self,
        hub: EventHub,
        path: Path,
        *,
        flush_interval: float = 0.1,
        max_bytes: int = MAX_LOG_BYTES,
    ) -> None:
        self.path = path
        self.flush_interval = flush_interval
        self.max_bytes = max_bytes
        self.write_errors = 0
        self._subscription = hub.subscribe()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._end_torn_line()
        self._thread = threading.Thread(target=self._run, name="codedreamer-eventlog", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._subscription.close()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()
        self.flush()

    def flush(self) -> None:
        events = self._subscription.drain()
        if not events:
            return
        text = "".join(event_to_json(e) + "\n" for e in merge_tokens(events))
        try:
            self._rotate_if_full()
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            # A full disk loses log lines, never the daemon; the dream files are separate.
            self.write_errors += 1
            log.warning("event log not written: %s", exc)

    def _rotate_if_full(self) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size >= self.max_bytes:
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))

    def _end_torn_line(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() == 0:
                    return
                handle.seek(-1, os.SEEK_END)
                torn = handle.read(1) != b"\n"
        except FileNotFoundError:
            return
        if torn:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write("\n")


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
