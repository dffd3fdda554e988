"""The `codedreamer` command line: parses, delegates, prints. The work lives elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from codedreamer.cli import (
    briefing_cmd,
    config_cmd,
    dream_cmd,
    dreams_cmd,
    graph_cmd,
    index_cmd,
)
from codedreamer.errors import CodeDreamerError


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="codedreamer",
        help="Local language models dream about your codebase and keep ranked suggestions.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        env_file: Path = typer.Option(
            Path(".env"), "--env-file", help="Read DREAMER_* settings from this file."
        ),
    ) -> None:
        ctx.obj = {"env_file": env_file}

    for module in (config_cmd, index_cmd, dream_cmd, dreams_cmd, briefing_cmd, graph_cmd):
        module.register(app)
    return app


def main() -> None:
    """Console-script entry point: every user-fixable error becomes one line and an exit code."""
    try:
        # Typer's standalone mode already maps usage errors to exit 2 and --help to 0.
        build_app()(prog_name="codedreamer")
    except CodeDreamerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
