"""Following an append-only file (the event log, the control file) from another process.

`LineFollower` returns the whole lines appended since its last read. It notices a new file
under the same name (rotation, a restart that replaced it) by its inode, and truncation by
its size, and then reads the new file from its start. An unfinished last line waits for
its end. `Poller` runs a poll function every `interval` seconds in a daemon thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class LineFollower:
    """Whole lines appended to `path` since the last `read_lines`.

    The first read starts at the end of the file with `from_end` (what is there is
    history), else `backlog_bytes` before the end (skipping the line it lands in), else
    at the start.
    """

    def __init__(self, path: Path, *, from_end: bool = False, backlog_bytes: int = 0) -> None:
        self.path = path
        self._from_end = from_end
        self._backlog = backlog_bytes
        self._inode: int | None = None
        self._offset = 0
        self._partial = b""
        self._skip_partial_line = False
        self._started = False
        if from_end:
            # Positioned now: a file that appears later is new, and read from its start.
            self._started = True
            try:
                stat = path.stat()
            except FileNotFoundError:
                return
            self._inode, self._offset = stat.st_ino, stat.st_size

    def read_lines(self) -> list[bytes]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        if self._inode != stat.st_ino or stat.st_size < self._offset:
            first = not self._started
            self._started = True
            self._inode, self._offset, self._partial = stat.st_ino, 0, b""
            if first and self._backlog:
                self._offset = max(0, stat.st_size - self._backlog)
                self._skip_partial_line = self._offset > 0
        if stat.st_size == self._offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read(stat.st_size - self._offset)
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if self._skip_partial_line and lines:
            lines.pop(0)  # the backlog started in the middle of this line
            self._skip_partial_line = False
        return [line for line in lines if line.strip()]


class Poller:
    """Calls `poll` every `interval` seconds in a daemon thread until `stop()`."""

    def __init__(self, name: str, interval: float, poll: Callable[[], object]) -> None:
        self.name = name
        self.interval = interval
        self._poll = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
            except OSError as exc:  # unreadable for now: try again at the next tick
                log.debug("%s: %s", self.name, exc)
            self._stop.wait(self.interval)
