"""Verify and apply on real temporary git repositories: the user's checkout never moves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_codedreamer
from verify_repo import BROKEN_DIFF, GOOD_DIFF, LOOSE_DIFF, MODULE, Repo, git, make_repo

from codedreamer.errors import UsageError
from codedreamer.storage.dream import Status
from codedreamer.verify.branch import apply_dream
from codedreamer.verify.verifier import verify_dream


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path)


def test_correct_patch_verifies_and_lands_on_its_branch(repo: Repo, tmp_path: Path) -> None:
    before = repo.state()
    dream_id = repo.dream(diff=GOOD_DIFF)

    result = verify_dream(repo.store, dream_id, codebase=repo.root, scratch_parent=tmp_path)
    assert result.verified, result.record
    assert result.record["applies"] == "ok" and result.record["parses"] == "ok"
    assert result.record["command"] == "not set"
    assert result.record["base_commit"] == git(repo.root, "rev-parse", "HEAD")
    stored = repo.store.load(dream_id)
    assert stored.verification["status"] == "verified"
    # The leaderboard score takes the verification: part 0.5 -> 1.0 at weight 0.10.
    assert stored.score_parts["verification"] == 1.0 and stored.score == 55.0
    assert repo.state() == before

    applied = apply_dream(repo.store, dream_id, codebase=repo.root)
    branch = f"dream/{dream_id}"
    assert applied.branch == branch
    log = git(repo.root, "log", "--format=%H %s", branch).splitlines()
    assert log[0] == f"{applied.commit} Multiply instead of adding in a loop"
    assert applied.parent == git(repo.root, "rev-parse", "HEAD")
    landed = git(repo.root, "show", f"{branch}:shapes.py")
    assert "return width * height" in landed and "total = total + width" not in landed
    assert git(repo.root, "diff", "--name-only", "HEAD", branch) == "shapes.py"
    # Working tree, index (staged README), untracked file, HEAD and branch: all as before.
    assert repo.state() == before
    assert (repo.root / "shapes.py").read_text() == MODULE
    stored = repo.store.load(dream_id)
    assert stored.status == Status.APPLIED and stored.branch == branch
    assert applied.commit[:12] in stored.status_reason
    # No scratch directory is left behind.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("codedreamer-verify-")]


def test_loose_model_diff_is_normalised_before_git_checks_it(repo: Repo) -> None:
    dream_id = repo.dream(diff=LOOSE_DIFF)
    result = verify_dream(repo.store, dream_id, codebase=repo.root)
    assert result.verified, result.record
    assert result.diff.startswith("diff --git a/shapes.py b/shapes.py\n--- a/shapes.py\n")
    assert "\n@@ -2,10 +2,7 @@\n" in result.diff  # three lines of context, real numbers


def test_stale_patch_is_refused_and_marked(repo: Repo) -> None:
    before_edit = repo.state()
    dream_id = repo.dream(diff=GOOD_DIFF)
    assert verify_dream(repo.store, dream_id, codebase=repo.root).verified
    # The user edits the file after verification (a comment at the end).
    (repo.root / "shapes.py").write_text(MODULE + "# edited\n")
    edited = repo.state()
    assert edited != before_edit

    with pytest.raises(UsageError) as info:
        apply_dream(repo.store, dream_id, codebase=repo.root)
    message = str(info.value)
    assert "is stale" in message and "changed on disk" in message and "\n" not in message
    assert info.value.exit_code == 2
    stored = repo.store.load(dream_id)
    assert stored.verification["status"] == "stale"
    assert stored.status == Status.PENDING and stored.branch == ""
    assert git(repo.root, "branch", "--list", f"dream/{dream_id}") == ""
    assert repo.state() == edited


def test_patch_stale_after_a_commit_changed_the_file(repo: Repo) -> None:
    dream_id = repo.dream(diff=GOOD_DIFF)
    assert verify_dream(repo.store, dream_id, codebase=repo.root).verified
    (repo.root / "shapes.py").write_text(MODULE.replace('"""Shapes."""', '"""Shapes!"""'))
    git(repo.root, "commit", "--quiet", "-m", "docstring", "--", "shapes.py")
    with pytest.raises(UsageError, match="changed in HEAD"):
        apply_dream(repo.store, dream_id, codebase=repo.root)


def test_unverified_and_failed_dreams_are_refused(repo: Repo) -> None:
    never = repo.dream(diff=GOOD_DIFF)
    with pytest.raises(UsageError, match="not verified: never verified"):
        apply_dream(repo.store, never, codebase=repo.root)
    broken = repo.dream(diff=BROKEN_DIFF)
    assert not verify_dream(repo.store, broken, codebase=repo.root).verified
    with pytest.raises(UsageError, match="not verified: failed"):
        apply_dream(repo.store, broken, codebase=repo.root)


def test_existing_branch_with_other_commit_is_not_moved(repo: Repo) -> None:
    dream_id = repo.dream(diff=GOOD_DIFF)
    assert verify_dream(repo.store, dream_id, codebase=repo.root).verified
    head = git(repo.root, "rev-parse", "HEAD")
    git(repo.root, "branch", f"dream/{dream_id}", head)
    with pytest.raises(UsageError, match="already exists"):
        apply_dream(repo.store, dream_id, codebase=repo.root)
    assert git(repo.root, "rev-parse", f"dream/{dream_id}") == head


def test_dream_edited_after_verification_is_stale(repo: Repo) -> None:
    from dataclasses import replace

    dream_id = repo.dream(diff=GOOD_DIFF)
    assert verify_dream(repo.store, dream_id, codebase=repo.root).verified
    other = GOOD_DIFF.replace("+    return width * height", "+    return height * width")
    repo.store.update(dream_id, lambda d: replace(d, diff=other))
    with pytest.raises(UsageError, match="diff changed"):
        apply_dream(repo.store, dream_id, codebase=repo.root)


def test_source_path_outside_the_codebase_is_refused(repo: Repo) -> None:
    dream_id = repo.dream(diff=GOOD_DIFF, path="../outside.py")
    with pytest.raises(UsageError, match="not a path inside the codebase"):
        verify_dream(repo.store, dream_id, codebase=repo.root)


def test_cli_verify_apply_and_their_json(repo: Repo, tmp_path: Path) -> None:
    env = {
        "DREAMER_DREAMS_DIR": str(repo.store.dreams_dir),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
    }
    good, broken = repo.dream(diff=GOOD_DIFF), repo.dream(diff=BROKEN_DIFF)
    before = repo.state()

    done = run_codedreamer("dreams", "verify", good, broken, "--json", env=env, cwd=repo.root)
    assert done.returncode == 1, done.stderr  # one of them failed
    report = json.loads(done.stdout)
    assert [r["status"] for r in report["results"]] == ["verified", "failed"]
    assert report["results"][1]["checks"]["parses"].startswith("fails: line 5")
    assert report["failed"] == 1

    refused = run_codedreamer("dreams", "apply", broken, env=env, cwd=repo.root)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "is not verified: failed" in refused.stderr

    done = run_codedreamer("dreams", "apply", good, "--json", env=env, cwd=repo.root)
    assert done.returncode == 0, done.stderr
    applied = json.loads(done.stdout)
    assert applied["branch"] == f"dream/{good}" and applied["status"] == "applied"
    assert git(repo.root, "rev-parse", applied["branch"]) == applied["commit"]
    assert repo.state() == before


def test_cli_verify_pending_and_no_ids(repo: Repo, tmp_path: Path) -> None:
    env = {
        "DREAMER_DREAMS_DIR": str(repo.store.dreams_dir),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
    }
    good = repo.dream(diff=GOOD_DIFF)
    repo.dream()  # no diff and no code: nothing to verify
    rejected = repo.dream(diff=GOOD_DIFF)
    repo.store.set_status(rejected, "rejected")

    done = run_codedreamer("dreams", "verify", env=env, cwd=repo.root)
    assert done.returncode == 2 and "--pending" in done.stderr

    done = run_codedreamer("dreams", "verify", "--pending", "--json", env=env, cwd=repo.root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [r["id"] for r in report["results"]] == [good]
    assert report["results"][0]["status"] == "verified"


JS_WITH_NEWER_SYNTAX = """function total(items) {
  let sum = 0;
  for (const item of items) {
    sum = sum + item.price;
  }
  return sum;
}

const later = () => { return @@decorated; };
"""

JS_DIFF = """--- a/cart.js
+++ b/cart.js
@@ -1,7 +1,3 @@
 function total(items) {
-  let sum = 0;
-  for (const item of items) {
-    sum = sum + item.price;
-  }
-  return sum;
+  return items.reduce((sum, item) => sum + item.price, 0);
 }
"""


def test_a_file_that_did_not_parse_before_is_not_blamed_on_the_patch(
    repo: Repo, tmp_path: Path
) -> None:
    """A grammar older than the code it reads (or code that never parsed): the patch fails
    only if it adds syntax problems, not because the file had one already."""
    (repo.root / "cart.js").write_text(JS_WITH_NEWER_SYNTAX)
    git(repo.root, "add", "cart.js")
    git(repo.root, "commit", "--quiet", "-m", "cart")
    dream_id = repo.dream(diff=JS_DIFF, path="cart.js", language="javascript")
    result = verify_dream(repo.store, dream_id, codebase=repo.root, scratch_parent=tmp_path)
    assert result.record["applies"] == "ok"
    assert result.record["parses"].startswith("ok: no new syntax problems"), result.record
    assert result.verified, result.record
