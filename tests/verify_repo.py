"""Real temporary git repositories and dreams about them, for the verify tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from codedreamer.storage.dream import Dream, new_dream_id
from codedreamer.storage.store import DreamStore

MODULE = '''"""Shapes."""


def area(width, height):
    total = 0
    for _ in range(height):
        total = total + width
    return total


class Box:
    def __init__(self, size):
        self.size = size

    @property
    def volume(self):
        result = 1
        for _ in range(3):
            result = result * self.size
        return result
'''

GOOD_DIFF = """--- a/shapes.py
+++ b/shapes.py
@@ -4,6 +4,3 @@
 def area(width, height):
-    total = 0
-    for _ in range(height):
-        total = total + width
-    return total
+    return width * height
"""

# Models often write a bare "@@" with no line numbers and no file headers.
LOOSE_DIFF = """@@
 def area(width, height):
-    total = 0
-    for _ in range(height):
-        total = total + width
-    return total
+    return width * height
"""

BROKEN_DIFF = """--- a/shapes.py
+++ b/shapes.py
@@ -4,6 +4,3 @@
 def area(width, height):
-    total = 0
-    for _ in range(height):
-        total = total + width
-    return total
+    return (width * height
"""

TEST_FILE = """from shapes import area


def test_area():
    assert area(3, 4) == 12
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


@dataclass
class Repo:
    root: Path
    store: DreamStore

    def state(self) -> tuple[str, str, str, str]:
        """What the user sees: status, HEAD, current branch, and the index file's bytes."""
        return (
            git(self.root, "status", "--porcelain", "--untracked-files=all"),
            git(self.root, "rev-parse", "HEAD"),
            git(self.root, "symbolic-ref", "--short", "HEAD"),
            (self.root / ".git" / "index").read_bytes().hex(),
        )

    def dream(
        self, *, diff: str = "", code: str = "", path: str = "shapes.py", **extra: object
    ) -> str:
        fields: dict[str, object] = {
            "title": "Multiply instead of adding in a loop",
            "category": "performance",
            "language": "python",
            "symbols": ["area"],
            "line_start": 4,
            "line_end": 8,
            "insight": "area() adds width height times; one multiplication does it.",
            "score_parts": {
                "novelty": 0.5,
                "critic": 0.75,
                "priority": 0.5,
                "centrality": 0.0,
                "feedback": 0.5,
                "verification": 0.5,
            },
            "score": 50.0,
        }
        fields.update(extra)
        dream = Dream(
            id=new_dream_id(),
            created=datetime.now(UTC),
            source_path=path,
            diff=diff,
            code=code,
            **fields,  # type: ignore[arg-type]
        )
        self.store.save_new(dream)
        return dream.id


def make_repo(tmp_path: Path) -> Repo:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    (root / "shapes.py").write_text(MODULE)
    (root / "test_shapes.py").write_text(TEST_FILE)
    (root / "README.md").write_text("shapes\n")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "initial")
    # A user's work in progress that nothing may touch: a staged and an untracked file.
    (root / "notes.txt").write_text("draft\n")
    (root / "README.md").write_text("shapes, soon with volumes\n")
    git(root, "add", "README.md")
    return Repo(root=root, store=DreamStore(tmp_path / "dreams"))
