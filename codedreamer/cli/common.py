"""Helpers shared by the CLI commands: settings loading, consoles, JSON output.

Command modules import heavy libraries (llama.cpp, LanceDB, rustworkx) inside the command
functions, never at module level, so `codedreamer --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from codedreamer.config.settings import LoadedSettings


def settings_from(ctx: typer.Context, **overrides: Any) -> LoadedSettings:
    """Load settings with the root `--env-file` and this command's CLI overrides."""
    from codedreamer.config.settings import load_settings

    env_file: Path | None = (ctx.find_root().obj or {}).get("env_file", Path(".env"))
    return load_settings(overrides, env_file=env_file)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Machine-readable output for scripts: plain JSON on stdout, no Rich formatting."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
