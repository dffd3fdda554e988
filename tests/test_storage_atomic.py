"""Atomic writes: a kill -9 at any moment leaves the old or the new file, never a torn one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from codedreamer.storage.atomic import (
    TEMP_SUFFIX,
    atomic_write_bytes,
    atomic_write_text,
    create_exclusive,
)


def test_atomic_write_text_replaces_content_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    atomic_write_text(path, "first\n")
    atomic_write_text(path, "second\r\nline é\n")
    assert path.read_bytes() == "second\r\nline é\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a", b"x")
        create_exclusive(tmp_path / "b", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o644


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    atomic_write_text(path, "old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "bad \ud800 surrogate")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]


def test_write_into_missing_directory_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "missing" / "a.md", "x")
    assert list(tmp_path.iterdir()) == []


def test_create_exclusive_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    create_exclusive(path, "original")
    with pytest.raises(FileExistsError):
        create_exclusive(path, "intruder")
    assert path.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.md"]


def test_create_exclusive_race_has_exactly_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    barrier = threading.Barrier(8)
    winners: list[str] = []
    losers: list[str] = []

    def attempt(name: str) -> None:
        barrier.wait()
        try:
            create_exclusive(path, name)
            winners.append(name)
        except FileExistsError:
            losers.append(name)

    threads = [threading.Thread(target=attempt, args=(f"writer-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == 7
    assert path.read_text() == winners[0]


# The writer rewrites one file forever. Each version is self-checking: the same counter at
# the start and the end, and a known length, so a torn or mixed file is detectable.
WRITER = r"""
import sys
from pathlib import Path
from codedreamer.storage.atomic import atomic_write_text

path = Path(sys.argv[1])
size = int(sys.argv[2])
n = 0
print("ready", flush=True)
while True:
    n += 1
    atomic_write_text(path, f"BEGIN {n:010d}\n" + "x" * size + f"\nEND {n:010d}\n")
"""

BODY_SIZE = 2_000_000


def _is_complete(text: str) -> bool:
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "" or len(lines[1]) != BODY_SIZE:
        return False
    return lines[0].startswith("BEGIN ") and lines[2] == "END " + lines[0][6:]


@pytest.mark.slow
def test_kill_9_mid_write_never_leaves_a_torn_file(tmp_path: Path) -> None:
    path = tmp_path / "20250101-000000-00000000.md"
    initial = "BEGIN 0000000000\n" + "x" * BODY_SIZE + "\nEND 0000000000\n"
    atomic_write_text(path, initial)
    rng = random.Random(1234)
    versions_seen: set[str] = set()
    for round_ in range(30):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(BODY_SIZE)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        if round_ % 3 == 2:
            # Every third round waits for a finished write first (however slow the machine
            # is), so kills land between writes as well as inside them.
            before = path.read_bytes()[:16]
            deadline = time.monotonic() + 30
            while path.read_bytes()[:16] == before and time.monotonic() < deadline:
                time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        text = path.read_text()
        assert _is_complete(text), f"torn file after kill: {len(text)} chars"
        versions_seen.add(text[:16])
        # Only the real file and leftover temporary dot-files, never another name.
        for entry in tmp_path.iterdir():
            assert entry == path or (
                entry.name.startswith(f".{path.name}.") and entry.name.endswith(TEMP_SUFFIX)
            ), entry.name
    leftovers = [p for p in tmp_path.iterdir() if p != path]
    # Proof the kills landed mid-write (temp file present) and between writes (new versions).
    assert leftovers, "no kill landed during a write; the test proved nothing"
    assert len(versions_seen) > 1, "the writer never completed a write before being killed"
