"""`codedreamer serve`: loopback by default, loud elsewhere, tabs attach and load no model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from codedreamer.cli.serve_cmd import attach_command, is_loopback
from tests.sample_repo import dream_env


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_only_loopback_addresses_count_as_local(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_each_tab_runs_an_attached_tui_never_an_engine(tmp_path: Path) -> None:
    command = attach_command(tmp_path / "data dir", None)
    assert command.endswith(f"tui --attach '{tmp_path / 'data dir'}'")
    assert "daemon" not in command and "--no-ui" not in command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_on_loopback_with_the_terminal_page(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
    env |= dream_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "codedreamer", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        page = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert "CodeDreamer" in page and "/ws" in page
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert "WARNING" not in err
    assert "Traceback" not in err
    # Without DAEMON_MODE serve runs no engine: nothing took the DATA_DIR lock.
    assert not (tmp_path / "data" / "engine.lock").exists()
