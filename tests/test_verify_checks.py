"""The verifier's checks: parse, the opt-in command, whole-function dreams, scratch clean-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from verify_repo import GOOD_DIFF, MODULE, Repo, git, make_repo

from codedreamer.config.settings import load_settings
from codedreamer.verify.parse_check import check_parses
from codedreamer.verify.to_diff import index_lookup
from codedreamer.verify.verifier import verify_dream
from codedreamer.verify.worktree import SCRATCH_PREFIX, remove_stale_scratch, scratch_worktree

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path)


def _scratch_dirs(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(SCRATCH_PREFIX)]


# ---------------------------------------------------------------- parse check


def test_parse_check_python_and_tree_sitter_languages() -> None:
    assert check_parses("a.py", "def f(x):\n    return x\n") == "ok"
    assert check_parses("a.py", "def f(x:\n    return x\n").startswith("fails: line 1")
    # The grammar accepts this; the compiler does not.
    assert check_parses("a.py", "return 1\n").startswith("fails: line 1: 'return' outside")
    assert check_parses("a.js", "function f(a) { return a + 1; }\n") == "ok"
    # tree-sitter's two kinds of trouble: unexpected text (ERROR), a token left out (MISSING).
    assert check_parses("a.js", "let x = @@;\n") == "fails: line 1: syntax error"
    assert check_parses("a.js", "function f(a) {\n  return a + ;\n}\n") == (
        "fails: line 2: missing 'identifier'"
    )
    assert check_parses("a.rs", "fn main() { let x = ; }\n") == "fails: line 1: syntax error"
    assert check_parses("notes.txt", "anything (") == "not checked: no parser for this file type"


# ---------------------------------------------------------------- the verify command


def test_passing_command_runs_in_the_scratch_only(repo: Repo, tmp_path: Path) -> None:
    before = repo.state()
    marker = tmp_path / "where.txt"
    check = "from shapes import area; assert area(3, 4) == 12"
    command = f"{sys.executable} -c '{check}' && pwd > {marker} && touch ran-here.txt"
    dream_id = repo.dream(diff=GOOD_DIFF)
    result = verify_dream(
        repo.store,
        dream_id,
        codebase=repo.root,
        command=command,
        timeout=120,
        scratch_parent=tmp_path,
    )
    assert result.verified, result.record
    assert result.record["command"].startswith("passed in ")
    assert result.record["command_line"] == command
    ran_in = Path(marker.read_text().strip())
    assert ran_in.name == "tree" and ran_in.parent.name.startswith(SCRATCH_PREFIX)
    assert not (repo.root / "ran-here.txt").exists()
    assert not ran_in.exists() and not _scratch_dirs(tmp_path)
    assert repo.state() == before


def test_failing_command_marks_the_dream_failed(repo: Repo, tmp_path: Path) -> None:
    # Correct Python, wrong behaviour: the project's own test catches it.
    wrong = GOOD_DIFF.replace("+    return width * height", "+    return width + height")
    dream_id = repo.dream(diff=wrong)
    result = verify_dream(
        repo.store,
        dream_id,
        codebase=repo.root,
        command=PYTEST,
        timeout=120,
        scratch_parent=tmp_path,
    )
    assert not result.verified
    stored = repo.store.load(dream_id).verification
    assert stored["status"] == "failed"
    assert stored["applies"] == "ok" and stored["parses"] == "ok"
    assert stored["command"].startswith("fails: exit 1 after ")
    assert "1 failed" in stored["command"]  # the tail of pytest's output
    assert stored["reason"].startswith("command fails: exit 1")
    assert repo.store.load(dream_id).score_parts["verification"] == 0.0
    assert not _scratch_dirs(tmp_path)


def test_command_past_its_timeout_is_killed_with_its_children(repo: Repo, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = f"sleep 60 & echo $! > {pid_file}; wait"
    dream_id = repo.dream(diff=GOOD_DIFF)
    started = time.monotonic()
    result = verify_dream(
        repo.store,
        dream_id,
        codebase=repo.root,
        command=command,
        timeout=1.0,
        scratch_parent=tmp_path,
    )
    assert time.monotonic() - started < 20
    assert not result.verified
    assert result.record["command"].startswith("fails: timed out after 1 s")
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child)
    assert not _scratch_dirs(tmp_path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent counts as gone.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_no_command_checks_out_only_the_patched_file(repo: Repo, tmp_path: Path) -> None:
    head = git(repo.root, "rev-parse", "HEAD")
    with scratch_worktree(repo.root, head, paths=["shapes.py"], parent=tmp_path) as scratch:
        assert (scratch.tree / "shapes.py").read_text() == MODULE
        assert not (scratch.tree / "test_shapes.py").exists()
        # The clone borrows objects and keeps its own .git: the user's is not written.
        assert (scratch.tree / ".git" / "objects" / "info" / "alternates").is_file()
    with scratch_worktree(repo.root, head, parent=tmp_path) as scratch:
        assert (scratch.tree / "test_shapes.py").is_file()
        assert git(scratch.tree, "rev-parse", "HEAD") == head
    assert not _scratch_dirs(tmp_path)
    assert git(repo.root, "worktree", "list", "--porcelain").count("worktree ") == 1


# ---------------------------------------------------------------- whole-function dreams

NEW_AREA = """def area(width, height):
    return width * height
"""

NEW_VOLUME = """@property
def volume(self):
    return self.size ** 3
"""


def _index(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from codedreamer.index.indexer import index_codebase

    for key in list(os.environ):
        if key.upper().startswith("DREAMER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DREAMER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DREAMER_EXCLUDE_PATTERNS", "")
    settings = load_settings(env_file=None).settings
    index_codebase(repo.root, settings)
    return settings


def test_function_only_dream_becomes_a_diff_via_the_index(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _index(repo, tmp_path, monkeypatch)
    lookup = index_lookup(settings)
    assert ("shapes.py", 4, 8) in [tuple(found) for found in lookup("area")]
    dream_id = repo.dream(code=NEW_AREA)
    result = verify_dream(repo.store, dream_id, codebase=repo.root, lookup=lookup)
    assert result.verified, result.record
    assert result.record["patch_from"] == "function area, lines 4-8 (index)"
    assert "+    return width * height" in result.diff and "-    total = 0" in result.diff
    # The dream now carries the diff that was verified, and it applies with git.
    stored = repo.store.load(dream_id)
    assert stored.diff == result.diff
    patch = tmp_path / "check.patch"
    patch.write_text(stored.diff)
    git(repo.root, "apply", "--check", str(patch))


def test_method_with_decorator_is_placed_at_its_indentation(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _index(repo, tmp_path, monkeypatch)
    dream_id = repo.dream(code=NEW_VOLUME, symbols=["Box.volume"], line_start=15, line_end=20)
    result = verify_dream(repo.store, dream_id, codebase=repo.root, lookup=index_lookup(settings))
    assert result.verified, result.record
    assert "(index)" in result.record["patch_from"]
    assert "+        return self.size ** 3" in result.diff
    assert "\n     @property\n" in result.diff  # the decorator line is context, kept once


def test_function_dream_without_an_index_is_placed_by_parsing(repo: Repo) -> None:
    dream_id = repo.dream(code=NEW_AREA)
    result = verify_dream(repo.store, dream_id, codebase=repo.root, lookup=None)
    assert result.verified, result.record
    assert result.record["patch_from"] == "function area, lines 4-8 (parse)"


def test_fragment_that_is_not_a_function_fails_with_the_reason(repo: Repo) -> None:
    dream_id = repo.dream(code="total = width * height\n")
    result = verify_dream(repo.store, dream_id, codebase=repo.root)
    assert not result.verified
    assert result.record["applies"] == (
        "fails: the code is not a whole function or class, so there is no diff"
    )


# ---------------------------------------------------------------- clean-up


_SLOW_VERIFY = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from codedreamer.storage.store import DreamStore
from codedreamer.verify.verifier import verify_dream
verify_dream(DreamStore(Path({dreams!r})), {dream_id!r}, codebase=Path({root!r}),
             command="sleep 60", timeout=120, scratch_parent=Path({parent!r}))
"""


def _start_slow_verify(repo: Repo, parent: Path) -> subprocess.Popen[bytes]:
    dream_id = repo.dream(diff=GOOD_DIFF)
    script = _SLOW_VERIFY.format(
        tests=str(Path(__file__).parent),
        dreams=str(repo.store.dreams_dir),
        dream_id=dream_id,
        root=str(repo.root),
        parent=str(parent),
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(
        parent.glob(f"{SCRATCH_PREFIX}*/tree/shapes.py")
    ):
        time.sleep(0.05)
    time.sleep(0.3)  # into the verify command
    assert _scratch_dirs(parent)
    return process


def test_sigterm_removes_the_scratch(repo: Repo, tmp_path: Path) -> None:
    parent = tmp_path / "scratch"
    parent.mkdir()
    process = _start_slow_verify(repo, parent)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 128 + signal.SIGTERM
    assert not _scratch_dirs(parent)


def test_kill_9_leftover_is_removed_at_the_next_start(repo: Repo, tmp_path: Path) -> None:
    parent = tmp_path / "scratch"
    parent.mkdir()
    process = _start_slow_verify(repo, parent)
    process.kill()
    process.wait(30)
    left = _scratch_dirs(parent)
    assert len(left) == 1  # SIGKILL cannot be caught: the directory stays ...
    assert git(repo.root, "status", "--porcelain", "--untracked-files=all").count("\n") == 1
    removed = remove_stale_scratch(parent)  # ... until the next verification starts
    assert removed == left and not _scratch_dirs(parent)


def test_stale_scratch_of_a_live_process_is_kept(tmp_path: Path) -> None:
    mine = tmp_path / f"{SCRATCH_PREFIX}{os.getppid()}-abc"
    mine.mkdir()
    (mine / "codedreamer-scratch").write_text("x")
    dead = tmp_path / f"{SCRATCH_PREFIX}999999999-abc"
    dead.mkdir()
    (dead / "codedreamer-scratch").write_text("x")
    other = tmp_path / "unrelated-999999999"
    other.mkdir()
    assert remove_stale_scratch(tmp_path) == [dead]
    assert mine.exists() and other.exists()
