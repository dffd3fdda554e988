"""`codedreamer dream`: run dream cycles in the terminal, tokens streaming as they come."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from codedreamer.cli.common import print_json, settings_from, stderr_console
from codedreamer.errors import UsageError

if TYPE_CHECKING:
    from codedreamer.engine.engine import CycleOutcome


def register(app: typer.Typer) -> None:
    app.command("dream")(dream)


def resolve_codebase(path: Path | None, configured: Path | None) -> Path:
    """The codebase to work on: the argument, else DREAMER_CODEBASE_PATH, else the cwd."""
    chosen = path or configured or Path(".")
    if not chosen.exists():
        raise UsageError(f"{chosen}: codebase path does not exist")
    if not chosen.is_dir():
        raise UsageError(f"{chosen}: codebase path is not a directory")
    return chosen.resolve()


def dream(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run one cycle and exit."),
    count: int = typer.Option(0, "--count", "-n", min=0, help="Run this many cycles, then exit."),
    codebase: Path | None = typer.Option(
        None,
        "--codebase",
        "-c",
        help="Codebase to dream about (default: DREAMER_CODEBASE_PATH or .).",
    ),
    max_tokens: int | None = typer.Option(
        None,
        "--max-tokens",
        min=16,
        help="Cap Stage 1 tokens (default DREAMER_REASONING_MAX_TOKENS).",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Reasoning model GGUF (DREAMER_MODEL_PATH)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed the choice of code and focus."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not stream tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print each cycle's outcome as JSON."),
) -> None:
    """Dream about the codebase: pick code, think about it on the model, keep what is good."""
    from codedreamer.cli.headless import HeadlessOptions, run_headless

    loaded = settings_from(ctx, model_path=model)
    settings = loaded.settings
    root = resolve_codebase(codebase, settings.codebase_path)
    cycles = 1 if once else (count or None)
    on_outcome = _print_outcome if as_json else None
    options = HeadlessOptions(
        cycles=cycles,
        max_tokens=max_tokens,
        # Running until stopped keeps the index current; a counted run needs no watcher.
        live_index=cycles is None,
        show_tokens=not quiet and not as_json,
    )
    printer = None
    if as_json:
        from codedreamer.engine.console import ConsolePrinter

        printer = ConsolePrinter(stderr_console(), show_tokens=False)
    run_headless(settings, root, options, on_outcome=on_outcome, printer=printer, seed=seed)


def _print_outcome(outcome: CycleOutcome) -> None:
    dream = outcome.dream
    print_json(
        {
            "saved": dream is not None,
            "dream_id": dream.id if dream else None,
            "title": dream.title if dream else None,
            "novelty": dream.novelty if dream else None,
            "rejection": outcome.rejection,
            "detail": outcome.detail,
        }
    )
