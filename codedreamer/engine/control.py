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
import time
from pathlib import Path
from typing import TYPE_CHECKING

from codedreamer.storage.follow import LineFollower, Poller

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
        self.applied = 0
        # What is in the file already is history: only commands sent from now on count.
        self._lines = LineFollower(self.path, from_end=True)
        self._poller = Poller("codedreamer-control", poll_interval, self.poll)

    def start(self) -> None:
        self._poller.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._poller.stop(timeout)

    def poll(self) -> int:
        count = 0
        for raw in self._lines.read_lines():
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
