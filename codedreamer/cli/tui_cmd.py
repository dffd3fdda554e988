"""`codedreamer tui`: the live app; `--attach` watches a daemon; `--no-ui` runs headless."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from codedreamer.cli.common import settings_from
from codedreamer.cli.dream_cmd import resolve_codebase
from codedreamer.errors import UsageError

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings
    from codedreamer.tui.session import TuiSession

NATIVE_LOG_NAME = "native-stderr.log"
log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)


def tui(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="Codebase to dream about (default: DREAMER_CODEBASE_PATH or .)."
    ),
    attach: str | None = typer.Option(
        None,
        "--attach",
        is_flag=False,
        flag_value="",
        metavar="[DATA_DIR]",
        help="Watch the engine running on DATA_DIR (default: DREAMER_DATA_DIR); load no model.",
    ),
    no_ui: bool = typer.Option(False, "--no-ui", help="Run headless, logging one line per event."),
    as_json: bool = typer.Option(False, "--json", help="With --no-ui: log events as JSON lines."),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=16, help="Cap Stage 1 tokens (default REASONING_MAX_TOKENS)."
    ),
) -> None:
    """The live TUI: thought stream, knowledge graph, leaderboard and timeline of dreams."""
    settings = settings_from(ctx).settings
    if as_json and not no_ui:
        raise UsageError("--json goes with --no-ui (the TUI itself is not a log)")
    if attach is not None:
        if no_ui:
            raise UsageError("--attach shows a running engine; it cannot be --no-ui")
        if path is not None:
            raise UsageError("--attach takes a DATA_DIR, not a codebase path")
        if attach:
            data_dir = Path(attach)
            if not data_dir.is_dir():
                raise UsageError(f"{attach}: no such DATA_DIR to attach to")
            settings = settings.model_copy(update={"data_dir": data_dir})
        run_app(settings, attached=True)
        return
    root = resolve_codebase(path, settings.codebase_path)
    if no_ui:
        from codedreamer.cli.daemon_cmd import run_daemon

        run_daemon(settings, root, max_tokens=max_tokens, as_json=as_json)
        return
    run_app(settings, root=root, max_tokens=max_tokens)


def run_app(
    settings: Settings,
    *,
    root: Path | None = None,
    attached: bool = False,
    max_tokens: int | None = None,
) -> None:
    """Build the session (starting the engine, or attaching), run the app, stop cleanly."""
    from codedreamer.cli.headless import configure_logging
    from codedreamer.tui.session import attached_session, local_session, viewer_session

    configure_logging(settings)
    session: TuiSession
    if attached:
        session = attached_session(settings)
    elif root is not None:
        session = local_session(settings, root, max_tokens=max_tokens)
    else:
        session = viewer_session(settings)
    from codedreamer.tui.app import DreamerApp
    from codedreamer.tui.terminal import native_stderr_to

    app = DreamerApp(session)
    try:
        # llama.cpp logs to fd 2, where Textual draws: keep it in a file while the app runs.
        with native_stderr_to(settings.data_dir / NATIVE_LOG_NAME):
            app.run()
    finally:
        log.info("TUI closed")
        finish_stop(session)
        log.info("TUI session stopped")
    if app.return_code == 0 and session.done and sys.stdin.isatty():
        leave_now()


def leave_now() -> None:
    """End the process at once after a clean stop, skipping interpreter teardown.

    Everything this process wrote is already on disk (atomic, fsynced writes; the engine,
    its index and the event log closed). What is left is native libraries' teardown
    (llama.cpp, LanceDB's runtime), measured at about 2 s after the UI had closed: the
    user pressed q and would wait at a blank terminal for nothing. Interactive use only,
    so an in-process caller (tests, scripts) still gets a normal return.
    """
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


def finish_stop(session: TuiSession) -> None:
    """After the UI has closed: wait for the engine, saying so if it takes a while."""
    if session.shutdown(timeout=0.2):
        return
    # A model reading a long prompt only sees the stop when that native call returns.
    print("codedreamer: stopping the engine (the model is finishing its prompt)…", file=sys.stderr)
    session.shutdown(timeout=None)
