"""`codedreamer serve`: the TUI in a browser, through textual-serve.

textual-serve starts one process per browser tab, so every tab runs `tui --attach`: it
reads the engine's event log and dream files and loads no model. With DAEMON_MODE the
serve process also runs the engine itself (once, for every tab); without it, the tabs
attach to a daemon that runs elsewhere on the same DATA_DIR, or show the stored dreams.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import typer

from codedreamer.cli.common import settings_from, stderr_console
from codedreamer.cli.dream_cmd import resolve_codebase
from codedreamer.errors import UsageError
from codedreamer.safe_text import safe_line

TAB_GRACE_SEC = 2.0


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def attach_command(data_dir: Path, env_file: Path | None) -> str:
    """The shell command each browser tab runs: an attached TUI, never a model."""
    parts = [sys.executable, "-m", "codedreamer"]
    if env_file is not None:
        parts += ["--env-file", str(env_file)]
    parts += ["tui", "--attach", str(data_dir)]
    return shlex.join(parts)


def serve(
    ctx: typer.Context,
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="TCP port."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; anything but loopback exposes your code."
    ),
    codebase: Path | None = typer.Option(
        None, "--codebase", "-c", help="Codebase to dream about (with DAEMON_MODE)."
    ),
) -> None:
    """Serve the TUI to a browser (attach-mode tabs); with DREAMER_DAEMON_MODE also dream."""
    from textual_serve.server import Server

    from codedreamer.cli.headless import (
        EngineServices,
        HeadlessOptions,
        build_runner,
        configure_logging,
    )

    loaded = settings_from(ctx)
    settings = loaded.settings
    if not host.strip():
        raise UsageError("--host is empty; use 127.0.0.1 to serve this machine only")
    console = stderr_console()
    if not is_loopback(host):
        console.print(
            f"WARNING: serving on {safe_line(host)}:{port}: anyone who can reach this address "
            "can read your code and dreams and mark them. There is no authentication. "
            "Use 127.0.0.1 and an SSH tunnel instead.",
            style="bold red",
            markup=False,
        )
    env_file = (ctx.find_root().obj or {}).get("env_file")
    explicit_env = env_file if env_file is not None and Path(env_file).is_file() else None
    data_dir = settings.data_dir.resolve()
    services = None
    if settings.daemon_mode:
        from codedreamer.models.preflight import check_model_files

        root = resolve_codebase(codebase, settings.codebase_path)
        check_model_files(settings)
        configure_logging(settings)
        runner = build_runner(settings, root, HeadlessOptions(show_tokens=False))
        services = EngineServices(settings, runner, event_log=True)

    class TabEndingServer(Server):
        """textual-serve's server, but Ctrl-C/SIGTERM end it, and its tabs, in seconds.

        Upstream waits a minute for open websockets and then leaves the tabs' apps running.
        """

        async def on_shutdown(self, app: object) -> None:
            terminate_descendants(os.getpid())

        def serve(self, debug: bool = False) -> None:
            import asyncio

            from aiohttp import web

            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_exit)
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=lambda *args: None,
                shutdown_timeout=TAB_GRACE_SEC,
            )

    server = TabEndingServer(
        attach_command(data_dir, explicit_env),
        host=host,
        port=port,
        title="CodeDreamer",
    )
    console.print(
        f"serving CodeDreamer on http://{safe_line(host)}:{port}"
        + (" (dreaming here)" if services else " (attached views)"),
        markup=False,
        highlight=False,
    )
    try:
        server.serve()
    finally:
        # textual-serve leaves a tab's app running when the server stops before the tab
        # closes; every tab is our descendant, so end them with the server.
        terminate_descendants(os.getpid())
        if services is not None:
            services.stop()


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def terminate_descendants(pid: int) -> int:
    """SIGTERM every process below `pid` (Linux /proc); the number signalled."""
    if not Path("/proc/self/stat").exists():
        return 0
    tree = _children_by_parent()
    todo, found = list(tree.get(pid, [])), []
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(tree.get(child, []))
    for child in found:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGTERM)
    # An attached tab holds nothing to save (marks are atomic file writes), so one that
    # has not ended after a grace period is killed.
    deadline = time.monotonic() + TAB_GRACE_SEC
    alive = found
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [child for child in alive if _running(child)]
    for child in alive:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)
    return len(found)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
