"""The patch a dream proposes, as a git diff against the real file, and `git apply` on it.

Models write loose diffs (a bare `@@`, miscounted line numbers, no headers). The Code
stage already accepts such a diff when every context and removed line matches the file
(dream/patch.py, no fuzz); here the same rule gives the patched text, and the patch that
is checked and committed is the exact diff between the file and that text, with proper
headers. So `git apply --check` judges precisely the change that would land.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from codedreamer.dream.patch import PatchError, apply_diff
from codedreamer.verify.git import first_error, run_git

_PLAIN_PATH = re.compile(r"[A-Za-z0-9._/+@=,-]+")
_NO_NEWLINE = "\\ No newline at end of file\n"


@dataclass(frozen=True)
class FilePatch:
    """One file's change: its text before and after, and the git diff between them."""

    path: str
    """POSIX path relative to the repository root."""
    before: str
    after: str
    diff: str

    @property
    def sha256(self) -> str:
        return patch_sha256(self.diff)


def patch_sha256(diff: str) -> str:
    return hashlib.sha256(diff.encode("utf-8", "surrogateescape")).hexdigest()


def _quoted(name: str) -> str:
    """A path as git writes it in diff headers: C-quoted when it has unusual characters."""
    if _PLAIN_PATH.fullmatch(name):
        return name
    out = []
    for byte in name.encode("utf-8", "surrogateescape"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def git_diff(path: str, before: str, after: str, *, context: int = 3) -> str:
    """A unified diff git can apply, from `before` to `after` of `path` ("" if equal)."""
    if before == after:
        return ""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    body: list[str] = []
    for line in difflib.unified_diff(old, new, n=context, lineterm="\n"):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            body.append(line)
            continue
        if line.endswith("\n"):
            body.append(line)
        else:  # the file's last line, without a newline
            body.append(line + "\n" + _NO_NEWLINE)
    a, b = _quoted("a/" + path), _quoted("b/" + path)
    header = f"diff --git {a} {b}\n--- {a}\n+++ {b}\n"
    return header + "".join(body)


def patch_from_diff(path: str, before: str, model_diff: str) -> FilePatch:
    """The dream's diff applied to `before` (PatchError when a hunk does not match)."""
    after = apply_diff(before, model_diff)
    if after == before:
        raise PatchError("the diff changes nothing")
    return FilePatch(path, before, after, git_diff(path, before, after))


def patch_from_text(path: str, before: str, after: str) -> FilePatch:
    if after == before:
        raise PatchError("the new code is what the file already has")
    return FilePatch(path, before, after, git_diff(path, before, after))


def write_patch(directory: Path, patch: FilePatch) -> Path:
    """The patch in a file under `directory` (outside any work tree), for git to read."""
    target = directory / "dream.patch"
    target.write_bytes(patch.diff.encode("utf-8", "surrogateescape"))
    return target


def apply_check(tree: Path, patch_file: Path) -> str:
    """ "ok", or "fails: <git's reason>", for `git apply --check` in the work tree `tree`."""
    done = run_git(["apply", "--check", "--whitespace=nowarn", str(patch_file)], tree, check=False)
    if done.returncode == 0:
        return "ok"
    return f"fails: {first_error(done.stderr)}"


def apply_in(tree: Path, patch_file: Path) -> None:
    """Apply the patch to the scratch work tree's files (after a passing check)."""
    run_git(["apply", "--whitespace=nowarn", str(patch_file)], tree)


__all__ = [
    "FilePatch",
    "PatchError",
    "apply_check",
    "apply_in",
    "git_diff",
    "patch_from_diff",
    "patch_from_text",
    "patch_sha256",
    "write_patch",
]
