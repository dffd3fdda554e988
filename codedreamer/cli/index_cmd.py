"""`codedreamer index` (build or refresh the code index) and `codedreamer search` (query it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from codedreamer.cli.common import (
    print_json,
    require_data,
    settings_from,
    stderr_console,
    stdout_console,
)
from codedreamer.errors import UsageError
from codedreamer.safe_text import safe_line

if TYPE_CHECKING:
    from codedreamer.index.indexer import IndexReport

REFRESH_HZ = 10


def register(app: typer.Typer) -> None:
    app.command("index")(index_command)
    app.command("search")(search_command)


def index_command(
    ctx: typer.Context,
    path: str | None = typer.Argument(
        None, help="Codebase to index (default: DREAMER_CODEBASE_PATH or the current directory)."
    ),
    clear: bool = typer.Option(
        False, "--clear", help="Wipe the index first and rebuild it (recovers a damaged index)."
    ),
    include_tests: bool = typer.Option(
        False,
        "--include-tests",
        help="Index test files too for this run (default: the INCLUDE_TESTS setting).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON for scripts."),
) -> None:
    """Index a codebase incrementally: only new or changed files are parsed and embedded.

    The ANN vector index is not built here: search works without it (exact scan), and the
    live watcher builds it when idle, so the command returns as soon as the chunks are in.
    """
    settings = settings_from(ctx).settings
    codebase = Path(path) if path else settings.codebase_path or Path(".")
    if not codebase.exists():
        raise UsageError(f"{safe_line(str(codebase))}: no such directory")
    if not codebase.is_dir():
        raise UsageError(f"{safe_line(str(codebase))}: not a directory")

    from codedreamer.index.indexer import index_codebase

    tests = True if include_tests else None
    if as_json:
        report = index_codebase(
            codebase, settings, clear=clear, build_ann=False, include_tests=tests
        )
        print_json(report.to_json())
        return
    report = _index_with_progress(codebase, settings, clear, tests)
    _print_report(report)


def _index_with_progress(
    codebase: Path, settings: object, clear: bool, include_tests: bool | None
) -> IndexReport:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from codedreamer.config.settings import Settings
    from codedreamer.index.indexer import IndexProgress, index_codebase

    assert isinstance(settings, Settings)
    columns = (
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.1f} files/s"),
        TimeElapsedColumn(),
        # File names are untrusted text: never read them as markup.
        TextColumn("{task.fields[path]}", markup=False),
    )
    # No refresh thread: the indexer forks its workers only while this process has a
    # single thread (a forked lock held by a refresher would hang them). The bar is redrawn
    # from the progress callback instead, at most REFRESH_HZ times a second.
    with Progress(*columns, console=stderr_console(), transient=True, auto_refresh=False) as bar:
        task = bar.add_task("index", total=None, rate=0.0, path="scanning")
        last = [0.0]

        def on_progress(event: IndexProgress) -> None:
            rate = event.files_done / event.elapsed if event.elapsed > 0 else 0.0
            bar.update(
                task,
                total=max(event.files_total, 1),
                completed=event.files_done,
                rate=rate,
                path=safe_line(event.path)[-60:],
            )
            if event.phase != "index" or event.elapsed - last[0] >= 1 / REFRESH_HZ:
                last[0] = event.elapsed
                bar.refresh()

        return index_codebase(
            codebase,
            settings,
            progress=on_progress,
            clear=clear,
            build_ann=False,
            include_tests=include_tests,
        )


def _print_report(report: IndexReport) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Code index", title_justify="left", show_header=False)
    table.add_column("What")
    table.add_column("Count", justify="right")
    rows = [
        ("codebase", report.codebase),
        ("files seen", report.files_seen),
        ("files indexed (new or changed)", report.files_indexed),
        ("files unchanged", report.files_unchanged),
        ("files removed from the index", report.files_removed),
        ("chunks written", report.chunks_written),
        ("chunks in the index", report.chunks_total),
        ("chunks with cut lines", report.truncated_chunks),
        ("files chunked by lines (parser gave up)", report.parse_fallbacks),
        (
            "secret values redacted before indexing",
            f"{report.secrets_redacted} in {report.files_with_secrets} files",
        ),
        ("seconds", f"{report.seconds:.2f}"),
    ]
    for label, value in rows:
        table.add_row(label, Text(safe_line(str(value))))
    console = stdout_console()
    console.print(table)
    if report.skipped:
        skips = Table(title="Skipped", title_justify="left")
        skips.add_column("Reason")
        skips.add_column("Files", justify="right")
        for reason, count in sorted(report.skipped.items(), key=lambda item: -item[1]):
            skips.add_row(Text(reason), str(count))
        console.print(skips)


def search_command(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="Words or identifiers to look for."),
    k: int = typer.Option(10, "--k", min=1, max=1000, help="How many results."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, vector or text."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON for scripts."),
) -> None:
    """Search the code index (hybrid: vectors plus split-identifier full text)."""
    if mode not in {"hybrid", "vector", "text"}:
        raise UsageError(f"--mode: must be hybrid, vector or text (got {mode!r})")
    settings = settings_from(ctx).settings
    # The same answer as every command that reads DATA_DIR: missing is one line, exit 2.
    require_data(settings.index_dir, what="code index", hint="run `codedreamer index` first")

    from codedreamer.index.indexer import open_index

    store = open_index(settings, read_only=True)
    try:
        hits = store.search(query, k=k, mode=mode)  # type: ignore[arg-type]
    finally:
        store.close()
    if as_json:
        print_json(
            [
                {
                    "score": hit.score,
                    "path": hit.chunk.path,
                    "start_line": hit.chunk.start_line,
                    "end_line": hit.chunk.end_line,
                    "kind": hit.chunk.kind,
                    "qualified_name": hit.chunk.qualified_name,
                    "language": hit.chunk.language,
                }
                for hit in hits
            ]
        )
        return

    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(hits)} results", title_justify="left")
    table.add_column("Score", justify="right")
    table.add_column("Location", overflow="fold")
    table.add_column("Kind")
    table.add_column("Name", overflow="fold")
    for hit in hits:
        chunk = hit.chunk
        # Paths and names are untrusted text: control characters made visible, no markup.
        table.add_row(
            f"{hit.score:.3f}",
            Text(f"{safe_line(chunk.path)}:{chunk.start_line}-{chunk.end_line}"),
            Text(chunk.kind),
            Text(safe_line(chunk.qualified_name)),
        )
    stdout_console().print(table)
