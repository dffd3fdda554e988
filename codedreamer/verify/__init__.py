"""Verified dreams: check a dream's patch in a scratch worktree, commit it on a branch, export.

Nothing here writes to the user's working tree, index or current branch. Verification runs
in a throw-away clone under the temporary directory (worktree.py); `apply` writes only new
objects and one new ref, `refs/heads/dream/<id>` (branch.py). docs/verify.md has the model.
"""
