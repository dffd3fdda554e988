"""fd-2 redirection: native writes go to the log file, and fd 2 comes back afterwards."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from codedreamer.models.quiet import active_log_path, stderr_to_file


def _fd2_identity() -> tuple[int, int]:
    stat = os.fstat(2)
    return stat.st_dev, stat.st_ino


def test_native_writes_go_to_the_log(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "logs" / "llama.log"
    before = _fd2_identity()
    with stderr_to_file(log) as used:
        assert used == log
        assert active_log_path() == log
        os.write(2, b"llama_model_loader: noisy native line\n")
    os.write(2, b"after the block\n")
    assert _fd2_identity() == before
    assert active_log_path() is None
    assert "noisy native line" in log.read_text()
    captured = capfd.readouterr().err
    assert "noisy native line" not in captured
    assert "after the block" in captured


def test_fd2_restored_after_an_exception(tmp_path: Path) -> None:
    before = _fd2_identity()
    with pytest.raises(RuntimeError), stderr_to_file(tmp_path / "x.log"):
        raise RuntimeError("load failed")
    assert _fd2_identity() == before


def test_overlapping_threads_restore_once(tmp_path: Path) -> None:
    before = _fd2_identity()
    log = tmp_path / "shared.log"
    inside = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with stderr_to_file(log if index == 0 else tmp_path / f"ignored{index}.log"):
                inside.wait(timeout=5)
                os.write(2, f"thread {index}\n".encode())
                inside.wait(timeout=5)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert _fd2_identity() == before
    written = "".join(p.read_text() for p in tmp_path.glob("*.log"))
    for index in range(4):
        assert f"thread {index}" in written
    # All four lines went to one file: concurrent callers share the active redirect.
    assert sum(1 for p in tmp_path.glob("*.log") if p.read_text()) == 1
