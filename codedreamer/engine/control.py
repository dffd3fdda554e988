"""Steering a daemon from an attached viewer: commands appended to DATA_DIR/control.jsonl.

The viewer appends one JSON line per command; the daemon's `ControlFileReader` follows
the file from where it was when the daemon started (old commands are history, not
orders) and hands each command to its runner. Only pause, resume and dream-now travel
this way: quitting a viewer never stops the daemon.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codedreamer.engine.runner import Runner

log = logging.getLogger(__name__)

CONTROL_NAME = "control.jsonl"
COMMANDS = ("pause", "resume", "now")


def control_path(data_dir: Path) -> Path:
    return data_dir / CONTROL_NAME


class ControlClient:
    """A RunnerControl for a viewer attached to a daemon."""

    def __init__(self, data_dir: Path) -> None:
        self.path = control_path(data_dir)
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def send(self, command: str) -> None:
        line = json.dumps({"command": command, "at": time.time(), "pid": os.getpid()})
        # One short O_APPEND write per command: concurrent viewers never interleave bytes.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def note_paused(self, paused: bool) -> None:
        """What the daemon reported (RunnerStateChanged), so toggling sends the right command."""
        self._paused = paused

    def pause(self) -> None:
        self._paused = True
        self.send("pause")

    def resume(self) -> None:
        self._paused = False
        self.send("resume")

    def toggle_pause(self) -> None:
        if self._paused:
            self.resume()
        else:
            self.pause()

    def dream_now(self) -> None:
        self.send("now")

    def stop(self, timeout: float = 5.0) -> None:
        """A viewer quitting leaves the daemon running."""


class ControlFileReader:
    """Daemon side: follows the control file and applies each command to the runner."""

    def __init__(self, data_dir: Path, runner: Runner, *, poll_interval: float = 0.1) -> None:
        self.path = control_path(data_dir)
        self.runner = runner
        self.poll_interval = poll_interval
        self.applied = 0
        self._offset = self._size()
        self._partial = b""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="codedreamer-control", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll()
            except OSError as exc:
                log.debug("control file not readable: %s", exc)

    def poll(self) -> int:
        size = self._size()
        if size < self._offset:
            self._offset, self._partial = 0, b""  # truncated or replaced by the user
        if size == self._offset:
            return 0
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read(size - self._offset)
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        count = 0
        for raw in lines:
            try:
                command = json.loads(raw).get("command")
            except (ValueError, AttributeError):
                continue
            if command == "pause":
                self.runner.pause()
            elif command == "resume":
                self.runner.resume()
            elif command == "now":
                self.runner.dream_now()
            else:
                continue
            count += 1
        self.applied += count
        return count
