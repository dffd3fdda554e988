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


def _attached_tabs(data_dir: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "--attach" in cmdline and str(data_dir) in cmdline and "/bin/sh" not in cmdline:
                found.append(int(entry.name))
    return found


def test_stopping_serve_ends_the_tabs_it_started(tmp_path: Path) -> None:
    import asyncio

    import aiohttp

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
    env |= dream_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "codedreamer", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    data_dir = (tmp_path / "data").resolve()

    async def open_tab() -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as socket:
                        await socket.send_json(["resize", {"width": 80, "height": 24}])
                        for _ in range(100):
                            if _attached_tabs(data_dir):
                                break
                            await asyncio.sleep(0.2)
                        started.extend(_attached_tabs(data_dir))
                        # Stop the server while the tab is still open, as a Ctrl-C would.
                        proc.terminate()
                        await asyncio.to_thread(proc.wait, 20)
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.3)

    started: list[int] = []
    try:
        asyncio.run(open_tab())
        assert started, "the browser tab did not start an attached TUI"
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    deadline = time.monotonic() + 10
    while _attached_tabs(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _attached_tabs(data_dir) == []
