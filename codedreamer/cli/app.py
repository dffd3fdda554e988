"""The `codedreamer` command line: parses, delegates, prints. The work lives elsewhere."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from codedreamer.cli import (
    briefing_cmd,
    config_cmd,
    daemon_cmd,
    dream_cmd,
    dreams_cmd,
    graph_cmd,
    index_cmd,
    serve_cmd,
    tui_cmd,
)
from codedreamer.errors import CodeDreamerError

PROG_NAME = "codedreamer"
USAGE_EXIT = 2
INTERRUPTED_EXIT = 130


def build_app() -> typer.Typer:
    app = typer.Typer(
        name=PROG_NAME,
        help="Local language models dream about your codebase and keep ranked suggestions.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        env_file: Path | None = typer.Option(
            None,
            "--env-file",
            help="Read DREAMER_* settings from this file (default: ./.env if there is one).",
        ),
    ) -> None:
        # None = not given: the default .env may then be absent; a named file must exist.
        ctx.obj = {"env_file": env_file}

    for module in (
        tui_cmd,
        config_cmd,
        index_cmd,
        dream_cmd,
        daemon_cmd,
        dreams_cmd,
        briefing_cmd,
        graph_cmd,
        serve_cmd,
    ):
        module.register(app)
    return app


def _error(message: str) -> None:
    from codedreamer.safe_text import safe_line

    # The message may echo a path, a setting's value or an option the user typed.
    print(f"error: {safe_line(message)}", file=sys.stderr)


def _click_exceptions() -> Any:
    """Click's exception classes: typer >= 0.20 vendors click as `typer._click`."""
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("neither typer._click nor click is installed")  # pragma: no cover


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on `argv` (default: sys.argv) and return the exit code.

    Every error a user can fix — a bad setting, a bad option value, a missing file — is one
    line on stderr, `error: ...`: exit 2 for usage and configuration, 1 for runtime failures.
    Click's own usage errors would print a usage block and a boxed message instead.
    """
    click = _click_exceptions()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = build_app()(args=args, prog_name=PROG_NAME, standalone_mode=False)
    except CodeDreamerError as exc:
        _error(str(exc))
        return exc.exit_code
    except click.NoArgsIsHelpError as exc:
        # A command group with no command: its help, as if --help had been given.
        print(exc.format_message())
        return 0
    except click.UsageError as exc:
        message = exc.format_message()
        if exc.ctx is not None:
            message += f" (see `{exc.ctx.command_path} --help`)"
        _error(message)
        return USAGE_EXIT
    except click.ClickException as exc:
        _error(exc.format_message())
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _error("interrupted")
        return INTERRUPTED_EXIT
    # Without standalone mode, `--help`, `ctx.exit(n)` and Ctrl-C (130) come back as the
    # return value; a command that returns normally gives None.
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
