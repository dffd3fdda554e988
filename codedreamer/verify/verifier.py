"""Verify a dream: its patch applies, the changed file parses, and (opt-in) a command passes.

Everything is checked in a scratch clone of the repository at HEAD (worktree.py), never in
the user's checkout. The result is stored in the dream's front matter (`verification`),
its leaderboard score is updated, and a `Verification` is returned. What is recorded —
the base commit, the file's blob there, the sha256 of the file on disk and of the patch —
is what `dreams apply` later compares to refuse a stale dream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from codedreamer.dream.patch import PatchError
from codedreamer.dream.score import total
from codedreamer.storage.dream import Dream
from codedreamer.storage.store import DreamStore
from codedreamer.verify.apply import FilePatch, apply_check, apply_in, patch_from_diff, write_patch
from codedreamer.verify.command import run_command
from codedreamer.verify.git import blob_at, blob_bytes, head_commit
from codedreamer.verify.parse_check import check_file_change
from codedreamer.verify.rank import verified_part
from codedreamer.verify.target import Target, decode, file_sha256, target_of
from codedreamer.verify.to_diff import Lookup, function_patch
from codedreamer.verify.worktree import scratch_worktree

VERIFIED = "verified"
FAILED = "failed"
STALE = "stale"
NOT_RUN = "not run: an earlier check failed"


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying one dream (also stored as `dream.verification`)."""

    dream_id: str
    status: str
    """"verified" or "failed"."""
    reason: str
    """Why it failed: the first failing check ("" when verified)."""
    record: dict[str, str]
    """What went into the front matter."""
    diff: str
    """The git diff that was checked ("" when none could be made)."""
    seconds: float
    score: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED


def patch_for(
    dream: Dream, target: Target, before: str, lookup: Lookup | None
) -> tuple[FilePatch, str]:
    """The dream's change as a git diff against `before`, and where it came from."""
    if dream.diff.strip():
        return patch_from_diff(target.path, before, dream.diff), "diff"
    if dream.code.strip():
        patch, where = function_patch(
            target.path,
            target.index_path,
            before,
            dream.code,
            symbols=dream.symbols,
            hint_line=dream.line_start,
            lookup=lookup,
        )
        lines = f"lines {where.start_line}-{where.end_line}"
        return patch, f"function {where.name}, {lines} ({where.how})"
    raise PatchError("the dream has no diff and no code")


def _ok(value: str) -> bool:
    return value == "ok" or value.startswith(("ok:", "not checked", "passed", "not set"))


def verify_dream(
    store: DreamStore,
    dream_id: str,
    *,
    codebase: Path,
    command: str | None = None,
    timeout: float = 300.0,
    lookup: Lookup | None = None,
    scratch_parent: Path | None = None,
) -> Verification:
    """Verify `dream_id` and record the result in its file (see the module doc)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    dream = store.load(dream_id)
    target = target_of(dream.source_path, codebase)
    commit = head_commit(target.repo)
    blob = blob_at(target.repo, commit, target.path)
    disk_sha = file_sha256(target.disk_path)
    checks = {"applies": "", "parses": NOT_RUN, "command": "not set" if not command else NOT_RUN}
    source = ""
    patch: FilePatch | None = None
    if blob is None:
        checks["applies"] = f"fails: {target.path} is not committed at HEAD (commit it first)"
    else:
        before = decode(blob_bytes(target.repo, blob))
        step = time.perf_counter()
        try:
            patch, source = patch_for(dream, target, before, lookup)
        except PatchError as exc:
            checks["applies"] = f"fails: {exc}"
            if disk_sha != "missing" and target.disk_path.read_bytes() != before.encode(
                "utf-8", "surrogateescape"
            ):
                checks["applies"] += " (the file has uncommitted changes; verification uses HEAD)"
        timings["patch"] = time.perf_counter() - step
    if patch is not None:
        step = time.perf_counter()
        paths = None if command else [target.path]
        with scratch_worktree(target.repo, commit, paths=paths, parent=scratch_parent) as scratch:
            timings["scratch"] = time.perf_counter() - step
            step = time.perf_counter()
            patch_file = write_patch(scratch.root, patch)
            checks["applies"] = apply_check(scratch.tree, patch_file)
            timings["apply_check"] = time.perf_counter() - step
            if checks["applies"] == "ok":
                step = time.perf_counter()
                file_before = scratch.tree / target.path
                original = decode(file_before.read_bytes()) if file_before.is_file() else ""
                apply_in(scratch.tree, patch_file)
                changed = decode((scratch.tree / target.path).read_bytes())
                checks["parses"] = check_file_change(target.path, original, changed)
                timings["parse"] = time.perf_counter() - step
                if command and _ok(checks["parses"]):
                    step = time.perf_counter()
                    workdir = scratch.tree / target.prefix if target.prefix else scratch.tree
                    result = run_command(
                        command, workdir, timeout=timeout, log=scratch.root / "command.log"
                    )
                    checks["command"] = result.summary()
                    timings["command"] = time.perf_counter() - step
            step = time.perf_counter()
        timings["cleanup"] = time.perf_counter() - step
    failing = [f"{name} {value}" for name, value in checks.items() if not _ok(value)]
    failing = [item for item in failing if NOT_RUN not in item]
    status = FAILED if failing else VERIFIED
    seconds = time.perf_counter() - started
    record = {
        "status": status,
        "reason": failing[0] if failing else "",
        **checks,
        "patch_from": source,
        "path": target.path,
        "base_commit": commit,
        "base_blob": blob or "",
        "file_sha256": disk_sha,
        "patch_sha256": patch.sha256 if patch is not None else "",
        "verified_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": f"{seconds:.3f}",
    }
    if command:
        record["command_line"] = command
    saved = store.update(dream_id, lambda current: _recorded(current, dream, record, patch))
    return Verification(
        dream_id=dream_id,
        status=saved.verification.get("status", status),
        reason=saved.verification.get("reason", record["reason"]),
        record=dict(saved.verification),
        diff=patch.diff if patch is not None else "",
        seconds=seconds,
        score=saved.score,
        timings=timings,
    )


def _recorded(
    current: Dream, verified: Dream, record: dict[str, str], patch: FilePatch | None
) -> Dream:
    """`current` (the file as it is now) with the verification and its score part."""
    record = dict(record)
    if (current.diff, current.code) != (verified.diff, verified.code):
        # Someone edited the dream while it was being checked: what was checked is not it.
        record["status"] = STALE
        record["reason"] = "the dream's code changed while it was being verified"
    diff = current.diff
    if record["status"] == VERIFIED and not diff.strip() and patch is not None:
        diff = patch.diff  # a whole-function dream now carries the diff that was verified
    parts = dict(current.score_parts)
    score = current.score
    if parts:
        parts["verification"] = verified_part(record, current.code_checks)
        score = total(parts)
    return replace(current, verification=record, diff=diff, score_parts=parts, score=score)


def mark_stale(store: DreamStore, dream_id: str, reason: str) -> Dream:
    """Record that a verified dream no longer matches the code (seen by `apply`)."""

    def change(current: Dream) -> Dream:
        record = dict(current.verification)
        record["status"] = STALE
        record["reason"] = reason
        parts = dict(current.score_parts)
        score = current.score
        if parts:
            parts["verification"] = verified_part(record, current.code_checks)
            score = total(parts)
        return replace(current, verification=record, score_parts=parts, score=score)

    return store.update(dream_id, change)
