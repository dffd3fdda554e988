"""End to end in a real terminal: a daemon dreams, `codedreamer tui --attach` in tmux
(80×24) shows it, marks a dream with `a`, pauses it with `p`, and quits with `q`.

Everything is the installed command line: the daemon loads the bundled model and runs
cycles; the attached TUI loads no model, reads the daemon's event log and the dream files,
and writes marks and commands as it would for a user over SSH.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sample_repo import make_repo
from tui_data import settings_for as tui_settings
from tui_data import write_dreams

from codedreamer.storage.dream import Status
from codedreamer.storage.store import DreamStore

pytestmark = [
    pytest.mark.model,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

CLI = [sys.executable, "-m", "codedreamer"]


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_attached_tui_in_tmux_marks_a_dream_and_steers_the_daemon(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    env = {
        **os.environ,
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": "1",
        "DREAMER_REASONING_MAX_TOKENS": "32",
        "DREAMER_DREAM_INTERVAL_SEC": "3600",
        "DREAMER_DREAM_TEMPERATURE": "0",
    }
    settings = tui_settings(tmp_path)
    dreams = write_dreams(settings)
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [*CLI, "daemon", "--codebase", str(repo)], env=env, stdout=log, stderr=log
    )
    session = f"cd-tui-{os.getpid()}"
    pane = f"{session}:0"

    def screen() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", pane], capture_output=True, text=True
        ).stdout

    try:
        events = settings.data_dir / "events.jsonl"
        wait_for(lambda: events.exists() and "ModelLoaded" in events.read_text(), 120, "daemon")
        command = " ".join(
            [
                "env",
                *(shlex.quote(f"{k}={v}") for k, v in env.items() if k.startswith("DREAMER_")),
                *map(shlex.quote, CLI),
                "tui",
                "--attach",
                shlex.quote(str(settings.data_dir)),
                "; sleep 30",
            ]
        )
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command],
            check=True,
        )
        wait_for(lambda: "remove_item pri" in screen(), 60, "the attached TUI's dreams")
        shown = screen()
        assert "attached" in shown and "Leaderboard · 6" in shown, shown
        assert "Traceback" not in shown

        # The leaderboard has the focus with its top dream (the highest score) selected;
        # after a mark the cursor moves on to the next dream.
        store = DreamStore(settings.dreams_dir)
        top, second = dreams[1], dreams[5]  # by score: 8.2, then 7.0
        subprocess.run(["tmux", "send-keys", "-t", pane, "r"], check=True)
        wait_for(lambda: store.load(top.id).status == Status.REJECTED, 10, "the r mark")
        subprocess.run(["tmux", "send-keys", "-t", pane, "a"], check=True)
        wait_for(lambda: store.load(second.id).status == Status.APPLIED, 10, "the a mark")
        assert 'status: "applied"' in (settings.dreams_dir / f"{second.id}.md").read_text()

        # p goes to the daemon through the control file; the daemon reports it paused.
        subprocess.run(["tmux", "send-keys", "-t", pane, "p"], check=True)
        wait_for(lambda: "paused" in screen(), 60, "the daemon to pause")

        started = time.monotonic()
        subprocess.run(["tmux", "send-keys", "-t", pane, "q"], check=True)
        wait_for(lambda: "Leaderboard" not in screen(), 10, "the TUI to quit")
        assert time.monotonic() - started < 5
        assert daemon.poll() is None  # quitting a viewer leaves the daemon running
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        finally:
            log.close()
    assert daemon.returncode == 0, (tmp_path / "daemon.log").read_text()[-2000:]
