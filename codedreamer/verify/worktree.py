"""A scratch copy of the repository at one commit, in the temporary directory, always removed.

The scratch is `git clone --shared --no-checkout` of the user's repository: it borrows the
objects through `objects/info/alternates` and writes nothing into the user's `.git`, so
the user's working tree, index, HEAD, branches and worktree list are never touched.
Without a verify command only the files a patch touches are checked out (the rest of the
tree is not needed to apply and parse them); with one, the whole commit is.

Removal: a normal return, an exception, Ctrl-C and SIGTERM (turned into SystemExit while
a scratch is open, when no other handler was installed) all remove the directory. A
`kill -9` cannot be caught: it leaves `$TMPDIR/codedreamer-verify-<pid>-*` behind and
nothing else; `remove_stale_scratch` deletes such directories of dead processes, and runs
before every new scratch is made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from codedreamer.verify.git import run_git

SCRATCH_PREFIX = "codedreamer-verify-"
MARKER_NAME = "codedreamer-scratch"
TREE_NAME = "tree"
# A live process may still own a scratch this old only if its verify command hangs for
# the longest timeout allowed (a day); past that the pid must have been reused.
STALE_AGE_SEC = 86_400.0 + 3_600.0
# A directory without its marker is a scratch whose creator died right after mkdtemp.
UNMARKED_AGE_SEC = 600.0


@dataclass(frozen=True)
class Scratch:
    root: Path
    """The temporary directory (the marker, logs, the patch file and the clone)."""
    tree: Path
    """The clone's work tree: the repository's files at `commit`."""
    commit: str
    full: bool
    """Whether every file is checked out (else only the paths asked for)."""


def _pid_of(name: str) -> int | None:
    rest = name[len(SCRATCH_PREFIX) :]
    head = rest.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _make_writable(function: object, path: str, _exc: object) -> None:
    # A verify command may leave read-only files or directories; rmtree cannot unlink
    # inside a directory without its write bit.
    with contextlib.suppress(OSError):
        parent = os.path.dirname(path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        os.chmod(path, os.stat(path, follow_symlinks=False).st_mode | stat.S_IWUSR)
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def remove_tree(path: Path) -> None:
    """Delete a scratch directory completely, read-only files included."""
    if not path.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=_make_writable)
    else:  # pragma: no cover - Python 3.11
        shutil.rmtree(path, onerror=_make_writable)


def remove_stale_scratch(parent: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Delete scratch directories left by killed verifiers; return those removed.

    Only directories named `codedreamer-verify-<pid>-*` are candidates, and only when their
    process is gone (or the directory is older than any verification can take).
    """
    base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    moment = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(SCRATCH_PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        pid = _pid_of(entry.name)
        try:
            age = moment - entry.stat().st_mtime
        except OSError:
            continue
        marked = (entry / MARKER_NAME).is_file()
        owner_alive = pid is not None and pid != os.getpid() and _alive(pid)
        if pid == os.getpid():
            continue  # this process's own scratch, in use in another thread
        if owner_alive and age < STALE_AGE_SEC:
            continue
        if not marked and age < UNMARKED_AGE_SEC:
            continue
        with contextlib.suppress(OSError):
            remove_tree(entry)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """While the scratch exists, SIGTERM/SIGHUP raise SystemExit so `finally` cleans up.

    Only in the main thread and only where the default handler is in place: an engine or
    TUI that handles these signals itself keeps its own handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    replaced: list[signal.Signals] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, stop)
            replaced.append(signum)
    try:
        yield
    finally:
        for signum in replaced:
            signal.signal(signum, signal.SIG_DFL)


def _checkout(tree: Path, commit: str, paths: Sequence[str] | None) -> None:
    if paths is None:
        run_git(["checkout", "--quiet", "--detach", commit], tree)
        return
    run_git(["update-ref", "--no-deref", "HEAD", commit], tree)
    run_git(["read-tree", commit], tree)
    present = [
        line
        for line in run_git(
            ["ls-tree", "-z", "--name-only", commit, "--", *paths], tree
        ).stdout.split("\0")
        if line
    ]
    if present:
        listed = "".join(name + "\0" for name in present)
        run_git(["checkout-index", "--quiet", "-z", "--stdin"], tree, input_text=listed)


@contextlib.contextmanager
def scratch_worktree(
    repo: Path,
    commit: str,
    *,
    paths: Sequence[str] | None = None,
    parent: Path | None = None,
) -> Iterator[Scratch]:
    """A scratch clone of `repo` at `commit`, removed on exit whatever happens.

    `paths`: check out only these repository-relative files (None: the whole commit).
    """
    remove_stale_scratch(parent)
    with _terminate_as_exit():
        root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=parent))
        try:
            (root / MARKER_NAME).write_text(f"{os.getpid()}\n{repo}\n", encoding="utf-8")
            tree = root / TREE_NAME
            run_git(
                ["clone", "--quiet", "--shared", "--no-checkout", "--", str(repo), str(tree)],
                root,
            )
            _checkout(tree, commit, paths)
            yield Scratch(root=root, tree=tree, commit=commit, full=paths is None)
        finally:
            remove_tree(root)
