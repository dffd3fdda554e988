"""The dreams directory: one Markdown file per dream, safe under crashes and concurrent edits.

New dreams are created exclusively (a colliding id raises instead of overwriting). Changes to
an existing dream (status, priority, reflection) are read-modify-write cycles under a
per-dream lock that re-read the file inside the lock, so the CLI, the TUI and a daemon can
change the same dream at once without losing either change. A file that does not parse is
reported and skipped; the store never rewrites or deletes it.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from codedreamer.errors import StorageError, UsageError
from codedreamer.storage.atomic import atomic_write_text, create_exclusive
from codedreamer.storage.dream import Dream, Status, is_dream_id
from codedreamer.storage.dream_file import dream_from_bytes, dream_to_markdown, read_raw
from codedreamer.storage.query import parse_status

DREAM_SUFFIX = ".md"
LOCK_DIR_NAME = ".locks"
# Long enough for any honest writer (a rewrite takes milliseconds), short enough that a
# stuck process shows up as an error instead of a hung command.
DEFAULT_LOCK_TIMEOUT_SEC = 10.0
_STALE_TEMP = re.compile(r"\.\d{8}-\d{6}-[0-9a-f]{8}\.md\.[0-9a-f]+\.tmp")


class DreamIdTaken(StorageError):
    """A dream with this id already exists; nothing was overwritten. Retry with a new id."""


class CorruptFile(NamedTuple):
    """A file in the dreams directory that is not a readable dream, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class ListResult:
    """Dreams that parsed (newest first) and the files that did not."""

    dreams: list[Dream]
    corrupt: list[CorruptFile]


def newest_first(dreams: list[Dream]) -> list[Dream]:
    return sorted(dreams, key=lambda d: (d.created, d.id), reverse=True)


class DreamStore:
    """All dreams under one directory, each in `<id>.md`."""

    def __init__(self, dreams_dir: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SEC):
        self.dreams_dir = Path(dreams_dir)
        self.lock_timeout = lock_timeout
        # Parsed dreams keyed by path, valid while the file holds exactly the same bytes.
        # Comparing content (not mtimes, which are coarse, or inode numbers, which are
        # reused) makes a stale hit impossible; reading is cheap, parsing is not.
        self._parsed: dict[Path, tuple[bytes, Dream]] = {}

    # ------------------------------------------------------------ paths

    def path_for(self, dream_id: str) -> Path:
        """The file of `dream_id`; UsageError when the id is malformed (and so unsafe as a name)."""
        if not is_dream_id(dream_id):
            raise UsageError(f"{dream_id!r} is not a dream id (YYYYMMDD-HHMMSS-xxxxxxxx)")
        return self.dreams_dir / f"{dream_id}{DREAM_SUFFIX}"

    def _existing_path(self, dream_id: str) -> Path:
        path = self.path_for(dream_id)
        if not path.is_file():
            raise UsageError(f"no dream {dream_id} in {self.dreams_dir}")
        return path

    # ------------------------------------------------------------ reading

    def load(self, dream_id: str) -> Dream:
        """The dream `dream_id`. UsageError if unknown or malformed, StorageError if corrupt."""
        path = self._existing_path(dream_id)
        return self._read(path, dream_id)

    def _read(self, path: Path, expected_id: str) -> Dream:
        raw = read_raw(path)
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == raw:
            return _fresh_copy(cached[1])
        dream = dream_from_bytes(raw, source=str(path))
        if dream.id != expected_id:
            # Rewriting it would put one dream's content under another's name.
            raise StorageError(f"{path}: front matter id {dream.id} does not match the file name")
        self._parsed[path] = (raw, dream)
        return _fresh_copy(dream)

    def list(self) -> ListResult:
        """Every dream, newest first (by `created`), plus the files that could not be read."""
        if not self.dreams_dir.exists():
            return ListResult(dreams=[], corrupt=[])
        dreams: list[Dream] = []
        corrupt: list[CorruptFile] = []
        # scandir knows file types without a stat per file; dot-files are in-flight
        # temporary files of atomic writes.
        try:
            with os.scandir(self.dreams_dir) as entries:
                names = sorted(
                    entry.name
                    for entry in entries
                    if entry.name.endswith(DREAM_SUFFIX)
                    and not entry.name.startswith(".")
                    and entry.is_file()
                )
        except OSError as exc:
            raise StorageError(
                f"{self.dreams_dir}: cannot list dreams ({exc.strerror or exc})"
            ) from None
        paths = [self.dreams_dir / name for name in names]
        # Forget dreams whose files are gone, so the cache never outgrows the directory.
        present = set(paths)
        self._parsed = {path: entry for path, entry in self._parsed.items() if path in present}
        for path in paths:
            if not is_dream_id(path.stem):
                corrupt.append(CorruptFile(path, "file name is not <dream id>.md"))
                continue
            try:
                dreams.append(self._read(path, path.stem))
            except StorageError as exc:
                corrupt.append(CorruptFile(path, _reason(exc, path)))
        return ListResult(dreams=newest_first(dreams), corrupt=corrupt)

    def recent(self, hours: float, *, now: datetime | None = None) -> ListResult:
        """Dreams created in the last `hours` hours, judged by their `created` front matter."""
        if hours <= 0:
            raise UsageError(f"--hours must be positive (got {hours})")
        since = (now or datetime.now(UTC)) - timedelta(hours=hours)
        listed = self.list()
        return ListResult(
            dreams=[d for d in listed.dreams if d.created >= since], corrupt=listed.corrupt
        )

    # ------------------------------------------------------------ writing

    def save_new(self, dream: Dream) -> Path:
        """Write a new dream file; DreamIdTaken if the id exists (the old file is untouched)."""
        if not is_dream_id(dream.id):
            raise StorageError(f"{dream.id!r} is not a dream id; nothing was written")
        path = self.path_for(dream.id)
        text = dream_to_markdown(dream)
        try:
            self.dreams_dir.mkdir(parents=True, exist_ok=True)
            create_exclusive(path, text)
        except FileExistsError:
            raise DreamIdTaken(f"{path}: a dream with id {dream.id} already exists") from None
        except OSError as exc:
            raise StorageError(
                f"{path}: cannot write the new dream ({_why(exc)}); nothing was written"
            ) from None
        return path

    def update(self, dream_id: str, change: Callable[[Dream], Dream]) -> Dream:
        """Apply `change` to the current file content and write the result, under the lock.

        `change` gets the dream as it is on disk now (re-read inside the lock, so a change
        another process made a moment ago is kept) and returns the new version; it must
        not change the id. The file is rewritten atomically; a corrupt file raises
        StorageError and is left as it is.
        """
        path = self._existing_path(dream_id)
        with self._locked(dream_id):
            current = self._read(path, dream_id)
            # A deep copy: `change` may mutate lists or dicts in place, and the comparison
            # below must still see the difference.
            updated = change(copy.deepcopy(current))
            if updated.id != dream_id:
                raise StorageError(f"{path}: an update may not change the dream id")
            if updated != current:
                text = dream_to_markdown(updated)
                try:
                    atomic_write_text(path, text)
                except OSError as exc:
                    raise StorageError(
                        f"{path}: cannot write ({_why(exc)}); the dream file is unchanged"
                    ) from None
            return updated

    def set_status(self, dream_id: str, status: str | Status, reason: str = "") -> Dream:
        """Mark a dream pending / applied / rejected / deferred, with an optional reason."""
        new_status = parse_status(status)
        return self.update(
            dream_id, lambda dream: replace(dream, status=new_status, status_reason=reason)
        )

    def remove_stale_temp_files(self, older_than_sec: float = 3600.0) -> int:
        """Delete temporary files that writers killed mid-write left behind; return how many.

        Only names of this store's own temporary files (`.<id>.md.<hex>.tmp`) older than
        `older_than_sec` are touched, so a write in progress is never disturbed.
        """
        if not self.dreams_dir.is_dir():
            return 0
        cutoff = time.time() - older_than_sec
        removed = 0
        for path in self.dreams_dir.iterdir():
            if not _STALE_TEMP.fullmatch(path.name):
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # another process cleaned it first, or the directory is read-only
        return removed

    # ------------------------------------------------------------ locking

    @contextlib.contextmanager
    def _locked(self, dream_id: str) -> Iterator[None]:
        """An exclusive advisory lock on one dream, shared by every process using the store.

        flock locks belong to the open file description, so two threads of one process
        that each open the lock file exclude each other as well. Lock files are kept:
        deleting them would let two processes lock different inodes under one name.
        """
        import fcntl

        lock_dir = self.dreams_dir / LOCK_DIR_NAME
        lock_path = lock_dir / f"{dream_id}.lock"
        try:
            lock_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise StorageError(
                f"{lock_path}: cannot lock dream {dream_id} ({_why(exc)}); "
                "the dream file is unchanged"
            ) from None
        try:
            deadline = time.monotonic() + self.lock_timeout
            delay = 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StorageError(
                            f"dream {dream_id} is locked by another process "
                            f"(waited {self.lock_timeout:g} s on {lock_path})"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _fresh_copy(dream: Dream) -> Dream:
    """A copy whose lists and dicts are its own, so callers cannot change the cached dream."""
    changes: dict[str, Any] = {}
    for item in fields(dream):
        value = getattr(dream, item.name)
        if isinstance(value, list | dict):
            changes[item.name] = copy.copy(value)
    return replace(dream, **changes)


def _why(exc: OSError) -> str:
    """The OS's words for the error ("No space left on device"), without the path."""
    return exc.strerror or str(exc) or type(exc).__name__


def _reason(exc: StorageError, path: Path) -> str:
    """The error text without the leading path, which the caller shows separately."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
