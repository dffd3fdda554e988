"""An existing/improved answer from the Code stage becomes a diff that verifies on a real repo."""

from __future__ import annotations

from pathlib import Path

from verify_repo import MODULE, make_repo

from codedreamer.dream.code import check_draft, pair_to_diff
from codedreamer.verify.verifier import verify_dream

ANSWER = """Existing:
```python
    total = 0
    for _ in range(height):
        total = total + width
    return total
```
Improved:
```python
    return width * height
```
"""


def test_a_pair_quoting_the_file_becomes_a_verified_patch(tmp_path: Path) -> None:
    draft = check_draft(ANSWER, MODULE, MODULE, "python", "shapes.py")
    assert draft.problem == ""
    assert draft.checks["diff_from_pair"] == "ok" and draft.checks["diff_applies"] == "ok"
    assert draft.diff.startswith("--- a/shapes.py\n+++ b/shapes.py\n")
    repo = make_repo(tmp_path)
    dream_id = repo.dream(diff=draft.diff, code=draft.code)
    result = verify_dream(repo.store, dream_id, codebase=repo.root)
    assert result.status == "verified", result.reason


def test_a_pair_whose_existing_part_is_not_in_the_file_gives_no_diff() -> None:
    assert pair_to_diff(MODULE, "    return total * 2\n", "    return 0\n", "shapes.py") == ""
    draft = check_draft(ANSWER.replace("total = 0", "total = 7"), MODULE, MODULE, "python", "s.py")
    assert draft.diff == "" and draft.checks["existing_matches"] == "fails"


def test_a_pair_matching_twice_is_ambiguous_and_gives_no_diff() -> None:
    source = "x = 1\ny = 2\nx = 1\n"
    assert pair_to_diff(source, "x = 1\n", "x = 3\n", "a.py") == ""
