"""One engine per DATA_DIR: an exclusive lock that names its holder.

The lock is an `flock` on `DATA_DIR/engine.lock`, held by an open file descriptor for as
long as the engine runs. The kernel drops it when the holder dies, however it dies, so a
lock left by a killed process is simply taken over: nothing to clean up, nothing obeyed
forever. The file's text (pid, start time, command) is only there to name the holder in
the error a second engine gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from codedreamer.errors import EngineBusyError, StorageError
from codedreamer.safe_text import safe_line

LOCK_NAME = "engine.lock"


@dataclass(frozen=True)
class LockHolder:
    pid: int
    started: float
    command: str

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"pid {self.pid}, {safe_line(self.command)!s}, since {when}"


def read_holder(data_dir: Path) -> LockHolder | None:
    """Who holds (or last held) the lock, from the file's text; None if unreadable."""
    try:
        data = json.loads((data_dir / LOCK_NAME).read_text(encoding="utf-8"))
        return LockHolder(int(data["pid"]), float(data["started"]), str(data["command"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class EngineLock:
    """Held while an engine runs on `data_dir`; `acquire` refuses if another process holds it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(
                f"cannot create the engine lock {safe_line(str(self.path))}: {exc.strerror}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_holder(self.data_dir)
            who = holder.describe() if holder else "another process"
            raise EngineBusyError(
                f"an engine already runs on {safe_line(str(self.data_dir))} ({who}); "
                f"watch it with `codedreamer tui --attach {safe_line(str(self.data_dir))}`"
            ) from None
        # Ours now: write who we are, in place (the fd holds the lock, not the file name).
        text = json.dumps(
            {"pid": os.getpid(), "started": time.time(), "command": " ".join(sys.argv)[:200]}
        )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode("utf-8"), 0)
        except OSError:
            # A full disk: an engine that cannot write its lock's text cannot write anything
            # else either. Let go of the lock now (not at process exit) and say why.
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # The file stays: removing it would race with a process that just opened it.
        os.close(fd)

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
