"""`codedreamer serve`: the TUI in a browser, through textual-serve.

textual-serve starts one process per browser tab, so every tab runs `tui --attach`: it
reads the engine's event log and dream files and loads no model. With DAEMON_MODE the
serve process also runs the engine itself (once, for every tab); without it, the tabs
attach to a daemon that runs elsewhere on the same DATA_DIR, or show the stored dreams.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from pathlib import Path

import typer

from codedreamer.cli.common import settings_from, stderr_console
from codedreamer.cli.dream_cmd import resolve_codebase
from codedreamer.errors import UsageError
from codedreamer.safe_text import safe_line


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
    server = Server(
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
        if services is not None:
            services.stop()
