"""`codedreamer daemon`: the engine without a UI, logging one line per event.

It also appends every event to DATA_DIR/events.jsonl and follows DATA_DIR/control.jsonl,
so `codedreamer tui --attach` and `serve` can watch and steer it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from codedreamer.cli.common import settings_from
from codedreamer.cli.dream_cmd import resolve_codebase

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("daemon")(daemon)


def daemon(
    ctx: typer.Context,
    codebase: Path | None = typer.Option(
        None,
        "--codebase",
        "-c",
        help="Codebase to dream about (default: DREAMER_CODEBASE_PATH or .).",
    ),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=16, help="Cap Stage 1 tokens (default REASONING_MAX_TOKENS)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Log each event as a JSON line."),
) -> None:
    """Dream until stopped (SIGINT/SIGTERM), without a UI; viewers attach with `tui --attach`."""
    loaded = settings_from(ctx)
    settings = loaded.settings
    root = resolve_codebase(codebase, settings.codebase_path)
    run_daemon(settings, root, max_tokens=max_tokens, as_json=as_json)


def run_daemon(settings: Settings, root: Path, *, max_tokens: int | None, as_json: bool) -> None:
    """The headless engine with its event log and control file (also `tui --no-ui`)."""
    from codedreamer.cli.headless import HeadlessOptions, run_headless

    options = HeadlessOptions(
        max_tokens=max_tokens, show_tokens=False, json_lines=as_json, event_log=True
    )
    run_headless(settings, root, options)
