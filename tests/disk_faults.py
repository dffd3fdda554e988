"""Fault injection for disk-full and read-only tests: OS write calls fail under some roots.

`DiskFault` patches the `os` functions CodeDreamer's writers call (open, write, fsync,
replace, rename, link, mkdir, unlink) so that, while a fault is on, paths under the given
roots behave like a full disk (ENOSPC: files can still be created, data cannot be
written; a write may first succeed part-way, as a real short write does) or a read-only
file system (EROFS: nothing under the roots can be created, opened for writing, renamed or
removed). Everything else in the process (LanceDB's Rust I/O, git subprocesses, files
outside the roots) is untouched. Turning the fault off restores normal behaviour at once.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class DiskFault:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, roots: Iterable[Path]) -> None:
        self.roots = [os.path.realpath(root) for root in roots]
        self.error: int | None = None
        self.only: list[str] | None = None
        self.failures = 0
        """How many calls the fault made fail."""
        self._fds: set[int] = set()
        self._short_written: set[int] = set()
        self._lock = threading.Lock()
        self._real = {name: getattr(os, name) for name in _PATCHED}
        for name in _PATCHED:
            monkeypatch.setattr(os, name, getattr(self, f"_{name}"))

    # ----------------------------------------------------------------- control

    def start(self, error: int, roots: Iterable[Path] | None = None) -> None:
        """Fail with `error` (errno.ENOSPC or errno.EROFS) under all roots, or only `roots`."""
        with self._lock:
            self.error = error
            self.only = [os.path.realpath(r) for r in roots] if roots is not None else None

    def stop(self) -> None:
        with self._lock:
            self.error = None
            self.only = None
            self._short_written.clear()

    # ----------------------------------------------------------------- helpers

    def _hit(self, path: Any) -> bool:
        if self.error is None or isinstance(path, int):
            return False
        real = os.path.realpath(os.fspath(path))
        roots = self.only if self.only is not None else self.roots
        return any(real == root or real.startswith(root + os.sep) for root in roots)

    def _fail(self, path: Any = None) -> OSError:
        assert self.error is not None
        self.failures += 1
        name = None if path is None or isinstance(path, int) else os.fspath(path)
        return OSError(self.error, os.strerror(self.error), name)

    # ----------------------------------------------------------------- patched calls

    def _open(self, path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        hit = self._hit(path) and flags & _WRITE_FLAGS
        if hit and self.error == errno.EROFS:
            raise self._fail(path)
        fd: int = self._real["open"](path, flags, *args, **kwargs)
        if hit or self._tracked_root(path, flags):
            self._fds.add(fd)
        return fd

    def _tracked_root(self, path: Any, flags: int) -> bool:
        # Descriptors opened for writing before the fault started fail once it is on.
        if isinstance(path, int) or not flags & _WRITE_FLAGS:
            return False
        real = os.path.realpath(os.fspath(path))
        return any(real == root or real.startswith(root + os.sep) for root in self.roots)

    def _fd_hit(self, fd: int) -> bool:
        return self.error is not None and fd in self._fds and self._fd_in_scope(fd)

    def _fd_in_scope(self, fd: int) -> bool:
        if self.only is None:
            return True
        try:
            real = os.path.realpath(f"/proc/self/fd/{fd}")
        except OSError:
            return True
        return any(real.startswith(root + os.sep) for root in self.only)

    def _write(self, fd: int, data: Any) -> int:
        if self._fd_hit(fd):
            size = len(data)
            if self.error == errno.ENOSPC and size > 1 and fd not in self._short_written:
                # A real full disk often takes part of a write before refusing the rest.
                self._short_written.add(fd)
                written: int = self._real["write"](fd, bytes(data)[: size // 2])
                return written
            raise self._fail()
        result: int = self._real["write"](fd, data)
        return result

    def _fsync(self, fd: int) -> None:
        if self._fd_hit(fd):
            raise self._fail()
        self._real["fsync"](fd)

    def _close(self, fd: int) -> None:
        self._fds.discard(fd)
        self._short_written.discard(fd)
        self._real["close"](fd)

    def _two_paths(self, name: str, src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if self.error == errno.EROFS and (self._hit(src) or self._hit(dst)):
            raise self._fail(dst)
        if name == "link" and self.error == errno.ENOSPC and self._hit(dst):
            raise self._fail(dst)  # a new directory entry may need a block
        self._real[name](src, dst, *args, **kwargs)

    def _replace(self, src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        self._two_paths("replace", src, dst, *args, **kwargs)

    def _rename(self, src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        self._two_paths("rename", src, dst, *args, **kwargs)

    def _link(self, src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        self._two_paths("link", src, dst, *args, **kwargs)

    def _mkdir(self, path: Any, *args: Any, **kwargs: Any) -> None:
        if self._hit(path) and not os.path.lexists(path):
            raise self._fail(path)
        self._real["mkdir"](path, *args, **kwargs)

    def _unlink(self, path: Any, *args: Any, **kwargs: Any) -> None:
        if self.error == errno.EROFS and self._hit(path):
            raise self._fail(path)
        self._real["unlink"](path, *args, **kwargs)


_PATCHED = ("open", "write", "fsync", "close", "replace", "rename", "link", "mkdir", "unlink")
