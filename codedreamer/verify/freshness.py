"""Is a verified dream still about the code as it is? (What `apply` and the SARIF fix check.)

A verification recorded the file's blob at HEAD, the sha256 of the file on disk and of the
patch. A dream is stale when the file changed in HEAD or on disk since, or when the patch
rebuilt from the dream now differs from the one that was checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codedreamer.dream.patch import PatchError
from codedreamer.storage.dream import Dream
from codedreamer.verify.apply import FilePatch, patch_from_diff
from codedreamer.verify.git import blob_at, blob_bytes, head_commit
from codedreamer.verify.target import Target, decode, file_sha256, target_of


@dataclass(frozen=True)
class Fresh:
    """A verified dream that still matches: where it applies and the patch to commit."""

    target: Target
    head: str
    patch: FilePatch


class Stale(Exception):
    """The dream no longer matches the code; the message says what changed."""


def check_fresh(dream: Dream, codebase: Path) -> Fresh:
    """The verified patch, rebuilt and checked against the current code; Stale if not."""
    record = dream.verification
    target = target_of(dream.source_path, codebase)
    if record.get("path") and record["path"] != target.path:
        raise Stale(f"it was verified as {record['path']}, now the file is {target.path}")
    head = head_commit(target.repo)
    blob = blob_at(target.repo, head, target.path)
    if blob is None:
        raise Stale(f"{target.path} is no longer in HEAD")
    if blob != record.get("base_blob"):
        raise Stale(f"{target.path} changed in HEAD since it was verified")
    if file_sha256(target.disk_path) != record.get("file_sha256"):
        raise Stale(f"{target.path} changed on disk since it was verified")
    try:
        patch = patch_from_diff(target.path, decode(blob_bytes(target.repo, blob)), dream.diff)
    except PatchError as exc:
        raise Stale(f"its diff no longer applies ({exc})") from None
    if patch.sha256 != record.get("patch_sha256"):
        raise Stale("its diff changed since it was verified")
    return Fresh(target=target, head=head, patch=patch)
