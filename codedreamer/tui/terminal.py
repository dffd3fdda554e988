"""Keep native stderr (llama.cpp, C libraries) off the TUI's screen for the app's lifetime.

Textual draws on `sys.__stderr__`, which is file descriptor 2, and llama.cpp writes its
logs with C `fprintf(stderr)` to the same descriptor, from whatever thread runs the model.
Redirecting fd 2 only while a model loads (models/quiet.py) is not enough under a TUI:
frames Textual writes meanwhile would go into the log file, and messages printed during
generation would land on the screen. So while the app runs, Textual gets a private
duplicate of the terminal and fd 2 points at a log file for good.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

STDERR_FD = 2


@contextlib.contextmanager
def native_stderr_to(log_path: Path) -> Iterator[Path]:
    """While the block runs, Textual writes to a copy of the terminal; fd 2 goes to `log_path`.

    Restores fd 2 and `sys.__stderr__` afterwards, so an error printed after the app has
    closed reaches the terminal again. A log file that cannot be written (a read-only or
    full DATA_DIR, which a viewer may only read) becomes the null device: native messages
    are lost, the screen stays clean, and the app still runs. Yields the path used.
    """
    log_fd = _open_log(log_path)
    if log_fd is None:
        log_path = Path(os.devnull)
        log_fd = os.open(os.devnull, os.O_WRONLY)
    original_stream = sys.__stderr__
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
    terminal_fd = os.dup(STDERR_FD)
    terminal = io.TextIOWrapper(
        os.fdopen(terminal_fd, "wb", buffering=0, closefd=False),
        encoding="utf-8",
        errors="replace",
        line_buffering=False,
        write_through=True,
    )
    os.dup2(log_fd, STDERR_FD)
    # Textual's Linux driver takes `sys.__stderr__` when the app starts.
    sys.__stderr__ = terminal  # type: ignore[misc]
    try:
        yield log_path
    finally:
        with contextlib.suppress(OSError, ValueError):
            terminal.flush()
        sys.__stderr__ = original_stream  # type: ignore[misc]
        os.dup2(terminal_fd, STDERR_FD)
        os.close(terminal_fd)
        os.close(log_fd)


def _open_log(log_path: Path) -> int | None:
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return None
