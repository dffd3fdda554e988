"""One engine per DATA_DIR: the lock names its holder and outlives no process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codedreamer.engine.lock import EngineLock, read_holder
from codedreamer.errors import EngineBusyError

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from codedreamer.engine.lock import EngineLock
    EngineLock(Path(sys.argv[1])).acquire()
    print("held", flush=True)
    time.sleep(60)
    """
)


def _holder(data_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_engine_is_refused_with_the_holders_pid_and_attach_hint(tmp_path: Path) -> None:
    proc = _holder(tmp_path / "data")
    try:
        with pytest.raises(EngineBusyError) as caught:
            EngineLock(tmp_path / "data").acquire()
        message = str(caught.value)
        assert f"pid {proc.pid}" in message and "--attach" in message and "\n" not in message
    finally:
        proc.kill()
        proc.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    proc = _holder(tmp_path / "data")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lock = EngineLock(tmp_path / "data")
    lock.acquire()  # the kernel dropped the dead holder's flock
    holder = read_holder(tmp_path / "data")
    assert holder is not None and holder.pid == os.getpid()
    lock.release()


def test_release_lets_the_next_engine_in(tmp_path: Path) -> None:
    with EngineLock(tmp_path):
        pass
    with EngineLock(tmp_path) as again:
        assert again.held


def test_a_full_disk_while_naming_the_holder_lets_go_of_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(*_args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "pwrite", full)
        lock = EngineLock(tmp_path)
        with pytest.raises(OSError):  # the runner turns it into one StorageError line
            lock.acquire()
        assert not lock.held
    with EngineLock(tmp_path) as again:  # the descriptor was closed: the lock is free
        assert again.held
