"""Crash-safe file writes: a reader or a crash at any moment sees the old file or the new one.

Every write goes to a temporary file in the same directory (so the final rename never
crosses a file system), is flushed and fsynced, and only then takes the real name. The
directory is fsynced afterwards so the rename itself survives a power cut. Temporary files
are dot-files ending in `.tmp`; a process killed mid-write leaves one behind, never a
partial file under the real name.

A write that fails (a full disk, a read-only file system) removes its temporary file and
raises OSError naming the real file, never the temporary name, which means nothing to the
user; the file under the real name is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"


def temp_path_for(path: Path) -> Path:
    """A fresh, unlikely-to-collide temporary name next to `path`."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def fsync_directory(directory: Path) -> None:
    """Persist a rename or link in `directory`; a no-op where the platform cannot do it."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems refuse fsync on directories; the data itself is already synced.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def naming(path: Path, exc: OSError) -> OSError:
    """`exc` as an error about `path` (the file the user knows), with the same errno.

    Errors without an errno (raised by a library, not the OS) are returned unchanged.
    """
    if exc.errno is None or exc.filename == str(path):
        return exc
    # OSError(errno, ...) picks the matching subclass (FileExistsError, PermissionError).
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def write_synced_temp(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Let `write` fill a new, fsynced temporary file beside `path`; return its name.

    The caller renames it into place (or links it, for an exclusive create). On any failure
    the temporary file is removed and the error propagates (an OSError names `path`).
    """
    temp = temp_path_for(path)
    try:
        # O_EXCL: never reuse someone else's temp file. Mode 0o666 so the umask decides, as
        # for any ordinary file the user creates (mkstemp would force 0o600).
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise naming(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        _discard(temp)
        raise naming(path, exc) from None
    except BaseException:
        _discard(temp)
        raise
    return temp


def _discard(temp: Path) -> None:
    """Remove a temporary file whose write failed (a full disk frees its space again)."""
    with contextlib.suppress(OSError):
        temp.unlink()


def _write_temp(path: Path, data: bytes) -> Path:
    def write(handle: BinaryIO) -> None:
        handle.write(data)

    return write_synced_temp(path, write)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically; the old content stays until the new one is whole."""
    path = Path(path)
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except OSError as exc:
        _discard(temp)
        raise naming(path, exc) from None
    except BaseException:
        _discard(temp)
        raise
    fsync_directory(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """`atomic_write_bytes` for UTF-8 text, written byte for byte (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def create_exclusive(path: Path, text: str) -> None:
    """Create `path` with `text`, atomically, and never over an existing file.

    Raises FileExistsError when `path` exists; the existing file is left untouched.
    The content is written and synced under a temporary name first, then hard-linked to
    the real name: `link` fails instead of replacing, so two writers racing for one name
    can never overwrite each other, and the real name never holds a partial file.
    """
    path = Path(path)
    temp = _write_temp(path, text.encode("utf-8"))
    try:
        try:
            os.link(temp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise naming(path, exc) from None
            _create_exclusive_without_links(temp, path)
            return
    finally:
        # After a successful link the temp name is a second link to the same file; if it
        # cannot be removed now, `remove_stale_temps` removes it at the next start.
        _discard(temp)
    fsync_directory(path.parent)


def _create_exclusive_without_links(temp: Path, path: Path) -> None:
    """Fallback for file systems without hard links.

    Reserve the name with an exclusive create, then rename the finished temp file over the
    reservation. A crash in between leaves an empty file under the real name, which
    readers report as corrupt; it still never overwrites another writer's file.
    """
    reservation = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(reservation)
    try:
        os.replace(temp, path)
    except OSError as exc:
        # The empty reservation is ours (O_EXCL): leave no empty "corrupt" dream behind.
        _discard(path)
        raise naming(path, exc) from None
    fsync_directory(path.parent)


_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX))


def remove_stale_temps(directory: Path, older_than_sec: float) -> int:
    """Delete this module's temp files in `directory` older than `older_than_sec`.

    A process killed between writing a temp file and renaming it leaves one behind; the
    real file is whole (old or new). A write in progress takes milliseconds, so a temp file
    older than a few seconds has no writer. Returns how many were removed.
    """
    cutoff = time.time() - older_than_sec
    removed = 0
    try:
        entries = list(directory.iterdir())
    except OSError:
        return 0
    for entry in entries:
        if not _TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed += 1
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


def append_whole_lines(path: Path, data: bytes) -> None:
    """Append `data` (whole lines, each ending in a newline) to `path`, or nothing at all.

    One `O_APPEND` write keeps concurrent appenders from interleaving inside a line. A
    short write (a full disk) is cut back, so no reader ever sees a torn line; a torn last
    line left by a kill -9 gets a newline first, so this batch's first line stays whole.
    The error names `path`.
    """
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:  # its folder could not be created earlier, or was removed
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            raise naming(path, exc) from None
    except OSError as exc:
        raise naming(path, exc) from None
    try:
        start = os.fstat(fd).st_size
        if start and os.pread(fd, 1, start - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                count = os.write(fd, view[written:])
                if count <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
                written += count
        except OSError as exc:
            if written:
                with contextlib.suppress(OSError):  # failing that, the next batch
                    os.ftruncate(fd, start)  # starts on a new line (see above)
            raise naming(path, exc) from None
    finally:
        os.close(fd)
