"""A real full disk and a real read-only DREAMS_DIR: small tmpfs mounts, filled or remounted.

Unlike tests/test_hardening_disk.py (injected errors), nothing here is simulated: DATA_DIR
and DREAMS_DIR are each a small tmpfs, filled to the last byte with a filler file, or
remounted read-only, while the daemon (the real runner, engine, event log, log file, live
index watcher and LanceDB; the model is the scripted double) keeps running. Needs root and
`mount -t tmpfs`; elsewhere every test here is skipped with the reason.

A read-only DATA_DIR cannot be made this way while the daemon runs: Linux refuses a
read-only remount while a file on it is open for writing, and the engine holds its lock
file open. That case is covered by the injected EROFS in tests/test_hardening_disk.py.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codedreamer.events import CycleFinished, EngineError, event_from_json
from codedreamer.index.indexer import open_index
from codedreamer.memory.graph_store import load_graph
from codedreamer.memory.graph_types import dream_node_id
from codedreamer.storage.dream import Status
from codedreamer.storage.store import DreamStore
from tests.cli_runner import run_codedreamer
from tests.test_cli_dreams import make_dream
from tests.test_hardening_disk import Daemon, files_in, leftovers, unchanged_since

SIZE = "32m"
NEW_FUNCTION = "\n\ndef restock_everything(items):\n    return {name: 10 for name in items}\n"


@functools.cache
def _mount_problem() -> str:
    """Why a tmpfs cannot be mounted here ('' when it can)."""
    if os.geteuid() != 0:
        return "needs root to mount a small tmpfs"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "no mount/umount command"
    probe = Path(f"/tmp/codedreamer-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"mount -t tmpfs failed: {done.stderr.strip() or done.returncode}"
        subprocess.run(["umount", str(probe)], check=True)
        return ""
    finally:
        probe.rmdir()


def _mount(path: Path, size: str = SIZE) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)


def _remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], check=False).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=False)  # busy: detach it anyway


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """DATA_DIR and DREAMS_DIR, each its own small tmpfs."""
    problem = _mount_problem()
    if problem:
        pytest.skip(f"real disk-full test skipped: {problem} (injected faults still run)")
    data, dreams = tmp_path / "data", tmp_path / "dreams"
    _mount(data)
    try:
        _mount(dreams)
    except BaseException:
        _umount(data)
        raise
    try:
        yield data, dreams
    finally:
        _umount(dreams)
        _umount(data)


def fill(mount: Path) -> Path:
    """Write a filler file until the file system has not one byte left."""
    filler = mount / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            try:
                while True:
                    handle.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    assert os.statvfs(mount).f_bavail == 0
    return filler


def test_a_really_full_data_and_dreams_disk_is_reported_and_the_daemon_carries_on(
    tmp_path: Path, mounts: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    data, dreams = mounts
    daemon = Daemon(tmp_path, live_index=True, data_dir=data, dreams_dir=dreams)
    try:
        first = daemon.start()
        assert first.outcome == "saved", first.reason
        # The watcher is live once its start-up scan is done (its first quiet spell).
        daemon.wait_for(lambda _e: _watching(daemon), timeout=30)
        time.sleep(0.3)  # the event log writer flushes every 0.1 s

        # 1. DATA_DIR full: the dream is stored (DREAMS_DIR has room), the rest waits.
        before = daemon.snapshot()
        data_filler = fill(data)
        stock = daemon.repo / "stock.py"
        stock.write_text(stock.read_text() + NEW_FUNCTION)  # the watcher's Lance commit fails
        stored, events = daemon.cycle()
        assert stored.outcome == "saved", stored.reason
        errors = daemon.errors(len(daemon.events) - len(events))
        assert any(
            m.startswith("knowledge graph not saved") and "No space left on device" in m
            for m in errors
        ), errors
        assert any(m.startswith("TRM memory not saved") and "trm.json" in m for m in errors)
        # The watcher's Lance commit of the edit fails (it logs, and retries on the next
        # change); the event log reports its outage once.
        daemon.wait_for(lambda _e: _live_errors(daemon) >= 1, timeout=30)
        daemon.wait_for(lambda _e: any(m.startswith("event log") for m in daemon.errors()))

        # 2. DREAMS_DIR full as well: the cycle fails with one line, the daemon stays up.
        dreams_filler = fill(dreams)
        failed, _ = daemon.cycle()
        assert failed.outcome == "error"
        assert "No space left on device" in failed.reason and str(dreams) in failed.reason
        assert daemon.runner.is_alive()
        after = daemon.snapshot()
        changed = unchanged_since(before, after)
        # tmpfs still takes bytes that fit in a file's last page: the event log may have
        # grown there, by whole lines only. Nothing else may change.
        log_name = "data/events.jsonl"
        assert [name for name in changed if name != log_name] == []
        assert after[log_name].startswith(before[log_name])
        assert after[log_name].endswith(b"\n")
        for line in after[log_name].decode("utf-8").splitlines():
            event_from_json(line)
        assert leftovers(data, dreams) == []

        # 3. Space returns: everything carries on by itself.
        data_filler.unlink()
        dreams_filler.unlink()
        recovered, _ = daemon.cycle()
        assert recovered.outcome == "saved", recovered.reason
        stock.write_text(stock.read_text() + "\n")  # a new change: the watcher commits again
        daemon.wait_for(lambda _e: any("written again" in m for m in _notices(daemon)))
        time.sleep(2.0)
    finally:
        daemon.stop()
    _out, err = capfd.readouterr()
    assert "Traceback" not in err and "Logging error" not in err, err[-2000:]
    log_lines = [line for line in err.splitlines() if "cannot write the log file" in line]
    assert len(log_lines) == 1, err[-2000:]  # the log file's outage, said once
    log_text = (data / "codedreamer.log").read_text(encoding="utf-8")
    assert "log records were dropped: the log file could not be written" in log_text
    store = DreamStore(dreams)
    listed = store.list()
    assert listed.corrupt == [] and {stored.dream_id, recovered.dream_id} <= {
        d.id for d in listed.dreams
    }
    graph = load_graph(daemon.settings.graph_dir)
    assert dream_node_id(stored.dream_id) in graph and dream_node_id(recovered.dream_id) in graph
    lines = (data / "events.jsonl").read_text(encoding="utf-8").splitlines()
    outcomes = [e.outcome for e in map(event_from_json, lines) if isinstance(e, CycleFinished)]
    assert outcomes == ["saved", "saved", "error", "saved"]
    index = open_index(daemon.settings)
    try:
        assert index.definitions("restock_everything"), "the index caught up after the outage"
    finally:
        index.close()
    assert leftovers(data, dreams) == []


def _live_errors(daemon: Daemon) -> int:
    live = daemon.engine._live if daemon.engine is not None else None
    return live.errors if live is not None else 0


def _watching(daemon: Daemon) -> bool:
    live = daemon.engine._live if daemon.engine is not None else None
    return live is not None and live.mode == "watch"


def _notices(daemon: Daemon) -> list[str]:
    from codedreamer.events import Notice

    return [e.message for e in daemon.events if isinstance(e, Notice)]


def test_a_really_read_only_dreams_dir_fails_cycles_and_marks_then_recovers(
    tmp_path: Path, mounts: tuple[Path, Path]
) -> None:
    data, dreams = mounts
    daemon = Daemon(tmp_path, data_dir=data, dreams_dir=dreams)
    try:
        first = daemon.start()
        assert first.outcome == "saved", first.reason
        before = files_in(dreams)
        _remount(dreams, "ro")
        try:
            failed, _ = daemon.cycle()
            marked = run_codedreamer(
                "dreams", "mark", first.dream_id, "applied", env=_env(daemon), cwd=tmp_path
            )
        finally:
            _remount(dreams, "rw")
        assert failed.outcome == "error"
        assert "Read-only file system" in failed.reason and str(dreams) in failed.reason
        assert marked.returncode == 1
        assert marked.stderr.count("\n") == 1 and "Read-only file system" in marked.stderr
        assert "Traceback" not in marked.stderr
        assert files_in(dreams) == before
        recovered, _ = daemon.cycle()
        assert recovered.outcome == "saved", recovered.reason
    finally:
        daemon.stop()
    marked = run_codedreamer(
        "dreams", "mark", first.dream_id, "applied", env=_env(daemon), cwd=tmp_path
    )
    assert marked.returncode == 0, marked.stderr
    assert DreamStore(dreams).load(first.dream_id).status is Status.APPLIED


def _env(daemon: Daemon) -> dict[str, str]:
    return {
        "DREAMER_DREAMS_DIR": str(daemon.dreams_dir),
        "DREAMER_DATA_DIR": str(daemon.data_dir),
    }


def test_dreams_mark_on_a_really_full_dreams_dir_is_one_line_and_the_file_unchanged(
    tmp_path: Path, mounts: tuple[Path, Path]
) -> None:
    _data, dreams = mounts
    dream = make_dream(1)
    DreamStore(dreams).save_new(dream)
    before = files_in(dreams)
    filler = fill(dreams)
    env = {"DREAMER_DREAMS_DIR": str(dreams)}
    marked = run_codedreamer(
        "dreams", "mark", dream.id, "rejected", "--reason", "x" * 5000, env=env, cwd=tmp_path
    )
    assert marked.returncode == 1
    assert marked.stderr.count("\n") == 1
    assert marked.stderr.startswith("error: ") and "No space left on device" in marked.stderr
    assert files_in(dreams, skip=("filler",)) == before
    assert leftovers(dreams) == []
    filler.unlink()
    marked = run_codedreamer("dreams", "mark", dream.id, "rejected", env=env, cwd=tmp_path)
    assert marked.returncode == 0, marked.stderr
    assert DreamStore(dreams).load(dream.id).status is Status.REJECTED


def test_a_daemon_restarted_on_a_really_full_data_dir_waits_for_space_then_dreams(
    tmp_path: Path, mounts: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    mount, dreams = mounts
    fresh, used = mount / "fresh", mount / "used"
    fresh.mkdir()
    earlier = Daemon(tmp_path, data_dir=used, dreams_dir=dreams)
    try:
        assert earlier.start().outcome == "saved"
    finally:
        earlier.stop()
    stock = earlier.repo / "stock.py"
    stock.write_text(stock.read_text() + NEW_FUNCTION)  # the restart must index this
    filler = fill(mount)
    # A fresh DATA_DIR has no room even for the engine lock's text: one line, exit 1.
    env = {"DREAMER_DATA_DIR": str(fresh), "DREAMER_DREAMS_DIR": str(dreams)}
    refused = run_codedreamer("daemon", "--codebase", str(earlier.repo), env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "engine lock" in refused.stderr and "No space left on device" in refused.stderr
    # The used one: the lock is taken (its text rewritten in place), the index cannot be
    # brought up to date: the daemon says so and waits with back-off instead of exiting.
    monkeypatch.setattr("codedreamer.engine.runner.BACKOFF_FIRST_SEC", 1.0)
    daemon = Daemon(tmp_path, data_dir=used, dreams_dir=dreams)
    try:
        daemon.launch()
        daemon.wait_for(lambda _e: any(m.startswith("index not ready") for m in daemon.errors()))
        waiting = [m for m in daemon.errors() if m.startswith("index not ready")]
        assert "No space left on device" in waiting[0] and "next try in 1s" in waiting[0]
        assert daemon.runner.is_alive()
        filler.unlink()
        first = daemon.wait_cycle()
        assert first.outcome == "saved", (first.reason, daemon.errors())
    finally:
        daemon.stop()
    assert not [e for e in daemon.events if isinstance(e, EngineError) and e.fatal]
    assert DreamStore(dreams).load(first.dream_id).id == first.dream_id
    index = open_index(daemon.settings)
    try:
        assert index.definitions("restock_everything")
    finally:
        index.close()
    assert leftovers(used, dreams) == []


def test_cli_writers_on_a_really_full_disk_are_one_line_and_keep_every_file(
    tmp_path: Path, mounts: tuple[Path, Path]
) -> None:
    data, dreams = mounts
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "records.py").write_text("def parse_record(raw):\n    return raw[0]\n")
    env = {"DREAMER_DATA_DIR": str(data), "DREAMER_DREAMS_DIR": str(dreams)}
    for args in (["index", str(repo)], ["graph", "backfill"]):
        done = run_codedreamer(*args, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    DreamStore(dreams).save_new(make_dream(1))
    (repo / "more.py").write_text("def other_record(raw):\n    return raw[1]\n")
    before = files_in(data, dreams, skip=("index",))
    filler = fill(data)
    dreams_filler = fill(dreams)
    out = dreams / "out.sarif"
    expected = {
        ("index", str(repo)): "cannot use the code index (No space left on device",
        ("graph", "decay"): "cannot write the graph (No space left on device)",
        ("graph", "backfill"): "cannot write the graph (No space left on device)",
        ("dreams", "export", "-o", str(out)): f"{out}: cannot write (No space left on device)",
    }
    for args, words in expected.items():
        done = run_codedreamer(*args, env=env, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], args
        assert "Traceback" not in done.stderr
    filler.unlink()
    dreams_filler.unlink()
    assert files_in(data, dreams, skip=("index",)) == before
    assert leftovers(data, dreams) == [] and not out.exists()
    # The index kept its last version, and takes the new file once there is room.
    found = run_codedreamer("search", "parse record", "--json", env=env, cwd=tmp_path)
    assert found.returncode == 0 and "records.py" in found.stdout
    done = run_codedreamer("index", str(repo), "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = run_codedreamer("search", "other record", "--json", env=env, cwd=tmp_path)
    assert "more.py" in found.stdout
