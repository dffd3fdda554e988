"""Keeps llama.cpp's native log output off the terminal by pointing fd 2 at a log file.

llama.cpp writes model-load and backend messages with C `fprintf(stderr, ...)`, straight
to file descriptor 2; Python's `sys.stderr` redirection does not catch them, and in a TUI
they smear the screen. `stderr_to_file` swaps fd 2 for a log file and puts it back after.

File descriptors belong to the whole process, not to a thread, so the swap is reference
counted under a lock: the first caller in any thread redirects, the last one out restores,
and overlapping callers in other threads never restore a half-swapped descriptor. While the
redirect is active, anything any thread writes to fd 2 lands in the log file too.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

STDERR_FD = 2

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_log_fd: int | None = None
_log_path: Path | None = None


def default_log_path() -> Path:
    """Where native logs go when the caller names no file: one per user in the temp dir."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"codedreamer-llama-{uid}.log"


def active_log_path() -> Path | None:
    """The file fd 2 currently points at, or None when no redirect is active."""
    with _lock:
        return _log_path if _depth else None


def _flush_python_stderr() -> None:
    # Text already buffered in sys.stderr belongs where it was headed before the swap.
    with suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()


@contextmanager
def stderr_to_file(log_path: Path | None = None) -> Iterator[Path]:
    """Redirect fd 2 to `log_path` (appending) for the duration of the block; yield the path.

    Nested or concurrent uses share the first caller's file; a later caller's `log_path` is
    ignored while a redirect is already active.
    """
    global _depth, _saved_fd, _log_fd, _log_path
    target = log_path if log_path is not None else default_log_path()
    with _lock:
        if _depth == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
            log_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _flush_python_stderr()
            try:
                saved = os.dup(STDERR_FD)
            except OSError:
                os.close(log_fd)
                raise
            os.dup2(log_fd, STDERR_FD)
            _saved_fd, _log_fd, _log_path = saved, log_fd, target
        _depth += 1
        active = _log_path
    assert active is not None
    try:
        yield active
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _flush_python_stderr()
                assert _saved_fd is not None and _log_fd is not None
                os.dup2(_saved_fd, STDERR_FD)
                os.close(_saved_fd)
                os.close(_log_fd)
                _saved_fd, _log_fd, _log_path = None, None, None
