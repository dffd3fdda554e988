"""Where a dream's file is: the repository, and its path there and in the index."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codedreamer.errors import UsageError
from codedreamer.safe_text import safe_line
from codedreamer.verify.git import repo_root


@dataclass(frozen=True)
class Target:
    repo: Path
    """Top of the git work tree."""
    prefix: str
    """The codebase's path inside the repository ("" at its top)."""
    path: str
    """The file, relative to the repository top (POSIX)."""
    index_path: str
    """The file as the index and the dream name it: relative to the codebase."""

    @property
    def disk_path(self) -> Path:
        return self.repo / self.path


def target_of(source_path: str, codebase: Path) -> Target:
    """The dream's file inside the git repository holding `codebase`.

    A dream file is text anyone can edit: a source path that is absolute or climbs out
    with `..` is refused rather than followed.
    """
    relative = PurePosixPath(source_path)
    if not source_path or relative.is_absolute() or ".." in relative.parts:
        raise UsageError(f"{safe_line(source_path)!r}: not a path inside the codebase")
    repo = repo_root(codebase)
    try:
        prefix = codebase.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{safe_line(str(codebase))}: not inside {safe_line(str(repo))}") from None
    prefix = "" if prefix == "." else prefix
    path = (PurePosixPath(prefix) / relative).as_posix() if prefix else relative.as_posix()
    return Target(repo=repo, prefix=prefix, path=path, index_path=relative.as_posix())


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, or "missing" when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")
