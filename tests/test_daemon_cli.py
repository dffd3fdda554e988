"""`codedreamer daemon` as a user runs it: a real process, signals, a second engine, control."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codedreamer.engine.control import ControlClient
from codedreamer.events import event_from_json
from tests.cli_runner import run_codedreamer
from tests.sample_repo import dream_env, make_repo

pytestmark = pytest.mark.model


def _finished_cycles(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if data.get("type") == "CycleFinished":
            out.append(data)
    return out


def _wait(predicate, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_daemon_logs_refuses_a_second_engine_obeys_a_viewer_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    env = dream_env(tmp_path, DREAMER_DREAM_INTERVAL_SEC="3600", DREAMER_REASONING_MAX_TOKENS="32")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")} | env
    daemon = subprocess.Popen(
        [sys.executable, "-m", "codedreamer", "daemon", "--codebase", str(repo), "--json"],
        cwd=tmp_path,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = tmp_path / "data" / "events.jsonl"
    try:
        _wait(lambda: len(_finished_cycles(log)) >= 1)

        second = run_codedreamer("daemon", "--codebase", str(repo), env=env, cwd=tmp_path)
        assert second.returncode == 1
        line = second.stderr.strip()
        assert "\n" not in line and f"pid {daemon.pid}" in line and "--attach" in line

        # The next cycle is an hour away; a viewer's "dream now" starts it at once.
        ControlClient(tmp_path / "data").dream_now()
        _wait(lambda: len(_finished_cycles(log)) >= 2, timeout=120)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "Traceback" not in err
    # Every stdout line is one event in the wire format.
    events = [event_from_json(line) for line in out.splitlines()]
    kinds = [type(e).__name__ for e in events]
    assert "ModelLoaded" in kinds and kinds[-1] == "RunnerStopped"
    assert kinds.count("CycleFinished") >= 2
