"""`codedreamer config`: the effective settings and where each value came from."""

from __future__ import annotations

import typer

from codedreamer.cli.common import print_json, settings_from, stdout_console


def register(app: typer.Typer) -> None:
    app.command("config")(show_config)


def show_config(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Print every setting, its effective value and its source (cli, env, .env, default)."""
    from rich.table import Table
    from rich.text import Text

    from codedreamer.config.settings import env_key
    from codedreamer.safe_text import safe_line

    loaded = settings_from(ctx)
    values = loaded.settings.model_dump(mode="json")
    if as_json:
        print_json(
            {
                env_key(name): {"value": value, "source": loaded.sources[name]}
                for name, value in values.items()
            }
        )
        return
    table = Table(title="CodeDreamer settings", title_justify="left")
    table.add_column("Setting", no_wrap=True)
    table.add_column("Value", overflow="fold")
    table.add_column("Source", no_wrap=True)
    for name, value in values.items():
        shown = (
            ",".join(value) if isinstance(value, list) else ("" if value is None else str(value))
        )
        source: str = loaded.sources[name]
        if source == ".env" and loaded.env_file is not None:
            source = str(loaded.env_file)
        # Values come from the user's environment: Text keeps them from being read as markup,
        # safe_line keeps control characters in them from acting on the terminal.
        table.add_row(env_key(name), Text(safe_line(shown) or "(unset)"), Text(safe_line(source)))
    stdout_console().print(table)
