"""`dreams apply`: commit a verified dream's patch on a new branch `dream/<id>`.

Only git plumbing against a temporary index file is used: read HEAD's tree into it, apply
the patch there (`git apply --cached`), write the tree, make a commit whose parent is
HEAD, and create the branch ref only if it does not exist yet. The user's working tree,
index (`.git/index`), HEAD and current branch are never written; the repository gains
the new objects and the one ref.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from codedreamer.errors import UsageError
from codedreamer.safe_text import safe_line
from codedreamer.storage.dream import Dream, Status
from codedreamer.storage.store import DreamStore
from codedreamer.verify.apply import write_patch
from codedreamer.verify.freshness import Fresh, Stale, check_fresh
from codedreamer.verify.git import GitError, git_out, run_git
from codedreamer.verify.verifier import VERIFIED, mark_stale

BRANCH_PREFIX = "dream/"
TRAILER_ID = "Dream-Id"
TRAILER_PATCH = "Dream-Patch-Sha256"
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "CodeDreamer",
    "GIT_AUTHOR_EMAIL": "codedreamer@localhost",
    "GIT_COMMITTER_NAME": "CodeDreamer",
    "GIT_COMMITTER_EMAIL": "codedreamer@localhost",
}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class AppliedResult:
    dream_id: str
    branch: str
    commit: str
    parent: str
    path: str
    dream: Dream


def branch_name(dream_id: str) -> str:
    return BRANCH_PREFIX + dream_id


def _message(dream: Dream, patch_sha: str) -> str:
    title = _CONTROL.sub(" ", dream.title).strip() or f"Dream {dream.id}"
    insight = _CONTROL.sub(" ", dream.insight.strip())
    body = f"\n\n{insight}" if insight else ""
    return f"{title}{body}\n\n{TRAILER_ID}: {dream.id}\n{TRAILER_PATCH}: {patch_sha}\n"


def _identity(repo: Path) -> dict[str, str]:
    """The user's git identity if configured, else CodeDreamer's (commit-tree needs one)."""
    done = run_git(["var", "GIT_COMMITTER_IDENT"], repo, check=False)
    return {} if done.returncode == 0 else dict(FALLBACK_IDENTITY)


def _existing(repo: Path, ref: str) -> str | None:
    done = run_git(["rev-parse", "--verify", "--quiet", ref], repo, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _commit(fresh: Fresh, dream: Dream) -> str:
    """A commit of HEAD plus the patch, made without the user's index or work tree."""
    repo = fresh.target.repo
    with tempfile.TemporaryDirectory(prefix="codedreamer-apply-") as scratch:
        work = Path(scratch)
        env = {"GIT_INDEX_FILE": str(work / "index"), **_identity(repo)}
        patch_file = write_patch(work, fresh.patch)
        run_git(["read-tree", fresh.head], repo, env=env)
        run_git(["apply", "--cached", "--whitespace=nowarn", str(patch_file)], repo, env=env)
        tree = git_out(["write-tree"], repo, env=env)
        message = work / "message"
        message.write_text(_message(dream, fresh.patch.sha256), encoding="utf-8")
        return git_out(["commit-tree", tree, "-p", fresh.head, "-F", str(message)], repo, env=env)


def apply_dream(store: DreamStore, dream_id: str, *, codebase: Path) -> AppliedResult:
    """Commit a verified, fresh dream on `dream/<id>` and mark it applied.

    UsageError (one line, exit 2) for a dream that is not verified, is stale (also
    recorded in the dream), or whose branch already exists with another commit.
    """
    dream = store.load(dream_id)
    branch = branch_name(dream.id)
    status = dream.verification.get("status", "")
    if dream.status == Status.APPLIED and dream.branch:
        raise UsageError(f"dream {dream.id} is already applied on branch {dream.branch}")
    if status != VERIFIED:
        why = f" ({safe_line(dream.verification.get('reason', ''))})" if status else ""
        state = status or "never verified"
        raise UsageError(
            f"dream {dream.id} is not verified: {state}{why}; "
            f"run `codedreamer dreams verify {dream.id}` first"
        )
    try:
        fresh = check_fresh(dream, codebase)
    except Stale as exc:
        mark_stale(store, dream.id, str(exc))
        raise UsageError(
            f"dream {dream.id} is stale: {safe_line(str(exc))}; "
            f"run `codedreamer dreams verify {dream.id}` again"
        ) from None
    repo = fresh.target.repo
    ref = f"refs/heads/{branch}"
    commit = _existing(repo, ref)
    if commit is None:
        made = _commit(fresh, dream)
        try:
            # An empty old value: create only, never move a branch someone else made.
            note = f"codedreamer: apply dream {dream.id}"
            run_git(["update-ref", "-m", note, ref, made, ""], repo)
        except GitError:
            if _existing(repo, ref) is None:
                raise
        commit = _existing(repo, ref) or made
    message = git_out(["log", "-1", "--format=%B", commit], repo)
    if f"{TRAILER_PATCH}: {fresh.patch.sha256}" not in message:
        raise UsageError(
            f"branch {branch} already exists with another commit; "
            f"delete it (git branch -D {branch}) to apply this dream"
        )
    parent = git_out(["rev-parse", f"{commit}^"], repo)
    reason = f"committed {commit[:12]} on branch {branch}"
    saved = store.update(
        dream.id,
        lambda current: replace(
            current, status=Status.APPLIED, status_reason=reason, branch=branch
        ),
    )
    return AppliedResult(
        dream_id=dream.id,
        branch=branch,
        commit=commit,
        parent=parent,
        path=fresh.target.path,
        dream=saved,
    )


__all__ = ["AppliedResult", "apply_dream", "branch_name"]
