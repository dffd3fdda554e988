"""Temp files left by writers killed mid-write are removed at engine start; nothing else is."""

from __future__ import annotations

import os
import time
from pathlib import Path

from codedreamer.storage.atomic import remove_stale_temps, temp_path_for


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_only_old_temp_files_of_atomic_writes_are_removed(tmp_path: Path) -> None:
    old = temp_path_for(tmp_path / "nodes.arrow")
    fresh = temp_path_for(tmp_path / "20261129-010203-0a1b2c3d.md")
    for path in (old, fresh):
        path.write_text("partial")
    _age(old, 60)
    keep = [tmp_path / "nodes.arrow", tmp_path / ".hidden.tmp", tmp_path / "notes.tmp"]
    for path in keep:
        path.write_text("user data")
        _age(path, 3600)
    assert remove_stale_temps(tmp_path, 10.0) == 1
    assert not old.exists() and fresh.exists()
    assert all(path.exists() for path in keep)
    assert remove_stale_temps(tmp_path / "missing", 10.0) == 0


def test_the_runner_clears_leftovers_of_a_killed_engine_at_start(tmp_path: Path) -> None:
    from codedreamer.engine.runner import Runner
    from codedreamer.events import EventHub
    from tests.sample_repo import settings_for

    settings = settings_for(tmp_path)
    leftovers = []
    for directory, name in (
        (settings.dreams_dir, "20261129-010203-0a1b2c3d.md"),
        (settings.graph_dir, "edges.arrow"),
        (settings.data_dir, "trm.json"),
    ):
        directory.mkdir(parents=True, exist_ok=True)
        temp = temp_path_for(directory / name)
        temp.write_text("torn")
        _age(temp, 120)
        leftovers.append(temp)

    def no_engine(*_args: object) -> object:
        raise RuntimeError("stop here: only the start-up clean-up is under test")

    runner = Runner(settings, tmp_path, EventHub(), engine_factory=no_engine)  # type: ignore[arg-type]
    runner.start()
    assert runner.join(10)
    assert not any(path.exists() for path in leftovers)
