"""`codedreamer dreams verify|apply|export`: verified dreams, a branch per dream, SARIF.

The work is in codedreamer/verify/; these functions parse options, call it and print.
Dream text and git messages are untrusted: printed through `safe_line` into rich `Text`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from codedreamer.cli.common import print_json, settings_from, stdout_console

if TYPE_CHECKING:
    from codedreamer.verify.verifier import Verification

MAX_SCORE = 100.0


def register_dreams_commands(dreams_app: typer.Typer) -> None:
    """Add verify, apply and export to the `dreams` command group."""
    dreams_app.command("verify")(verify_dreams)
    dreams_app.command("apply")(apply_dream_command)
    dreams_app.command("export")(export_dreams)


def _codebase(codebase: Path | None, configured: Path | None) -> Path:
    from codedreamer.cli.dream_cmd import resolve_codebase

    return resolve_codebase(codebase, configured)


_CODEBASE_HELP = "The git work tree the dreams are about (default: DREAMER_CODEBASE_PATH or .)."


def _verification_json(result: Verification) -> dict[str, Any]:
    return {
        "id": result.dream_id,
        "status": result.status,
        "reason": result.reason,
        "checks": {key: result.record.get(key, "") for key in ("applies", "parses", "command")},
        "score": result.score,
        "seconds": round(result.seconds, 3),
        "verification": result.record,
    }


def verify_dreams(
    ctx: typer.Context,
    dream_ids: list[str] | None = typer.Argument(
        None, metavar="[ID]...", help="Dream ids to verify."
    ),
    pending: bool = typer.Option(
        False, "--pending", help="Verify every pending dream that has a diff or code."
    ),
    codebase: Path | None = typer.Option(None, "--codebase", "-c", help=_CODEBASE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Check dreams in a scratch worktree: the patch applies, the file parses, and
    DREAMER_VERIFY_COMMAND passes if set. Exit 1 if any dream fails."""
    from rich.text import Text

    from codedreamer.cli.dreams_cmd import store_from
    from codedreamer.errors import UsageError
    from codedreamer.safe_text import safe_line
    from codedreamer.storage.dream import Status
    from codedreamer.verify.to_diff import index_lookup
    from codedreamer.verify.verifier import verify_dream

    settings = settings_from(ctx).settings
    root = _codebase(codebase, settings.codebase_path)
    store = store_from(ctx)
    dream_ids = [dream_id.strip() for dream_id in dream_ids or []]
    if pending:
        listed = store.list()
        dream_ids += [
            dream.id
            for dream in listed.dreams
            if dream.status == Status.PENDING
            and (dream.diff.strip() or dream.code.strip())
            and dream.id not in dream_ids
        ]
    elif not dream_ids:
        raise UsageError("give dream ids to verify, or --pending for every pending dream")
    lookup = index_lookup(settings)
    results = [
        verify_dream(
            store,
            dream_id,
            codebase=root,
            command=settings.verify_command,
            timeout=settings.verify_timeout_sec,
            lookup=lookup,
        )
        for dream_id in dream_ids
    ]
    failed = sum(1 for result in results if not result.verified)
    if as_json:
        print_json({"results": [_verification_json(r) for r in results], "failed": failed})
    else:
        console = stdout_console()
        for result in results:
            line = Text()
            line.append(result.status, style="green" if result.verified else "red")
            line.append(f" {result.dream_id} ({result.seconds:.2f} s)")
            for key in ("applies", "parses", "command"):
                line.append(f"\n  {key}: {safe_line(result.record.get(key, ''))}")
            console.print(line, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def apply_dream_command(
    ctx: typer.Context,
    dream_id: str = typer.Argument(..., metavar="ID", help="A verified dream's id."),
    codebase: Path | None = typer.Option(None, "--codebase", "-c", help=_CODEBASE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Commit a verified dream's patch on a new branch dream/<id>. Your working tree,
    index and current branch are left exactly as they are."""
    from rich.text import Text

    from codedreamer.cli.dreams_cmd import store_from
    from codedreamer.safe_text import safe_line
    from codedreamer.verify.branch import apply_dream

    settings = settings_from(ctx).settings
    root = _codebase(codebase, settings.codebase_path)
    result = apply_dream(store_from(ctx), dream_id.strip(), codebase=root)
    if as_json:
        print_json(
            {
                "id": result.dream_id,
                "branch": result.branch,
                "commit": result.commit,
                "parent": result.parent,
                "path": result.path,
                "status": result.dream.status.value,
            }
        )
        return
    message = Text(f"Applied {result.dream_id}: commit {result.commit[:12]} on branch ")
    message.append(result.branch, style="bold green")
    message.append(f" ({safe_line(result.path)}).")
    message.append(
        f"\nYour checkout is unchanged; take it with `git merge {result.branch}` "
        f"or look with `git show {result.branch}`."
    )
    stdout_console().print(message, soft_wrap=True)


def export_dreams(
    ctx: typer.Context,
    fmt: str = typer.Option("sarif", "--format", "-f", help="sarif, json or markdown."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (atomically) instead of stdout."
    ),
    status: str = typer.Option(
        "pending", "--status", "-s", help="pending, applied, rejected, deferred or all."
    ),
    priority: str | None = typer.Option(
        None, "--priority", "-p", help="Only this priority: critical, high, medium, low, unranked."
    ),
    category: str | None = typer.Option(None, "--category", help="Only this category."),
    min_score: float | None = typer.Option(
        None, "--min-score", help="Only dreams scoring at least this (0-100)."
    ),
    codebase: Path | None = typer.Option(None, "--codebase", "-c", help=_CODEBASE_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="With --output: print what was written as JSON."
    ),
) -> None:
    """Export dreams (pending ones by default): SARIF 2.1.0 for editors and code
    scanning (with a fix for each verified dream), JSON, or Markdown."""
    from codedreamer.cli.dreams_cmd import store_from, warn_corrupt
    from codedreamer.errors import StorageError, UsageError
    from codedreamer.safe_text import safe_line, safe_text
    from codedreamer.storage.atomic import atomic_write_text
    from codedreamer.storage.query import parse_priority, parse_status
    from codedreamer.verify.export import FORMATS, Selection, render, select

    chosen_format = fmt.strip().lower()
    if chosen_format not in FORMATS:
        raise UsageError(f"--format {safe_line(fmt)!r}: choose {', '.join(FORMATS)}")
    if as_json and output is None:
        raise UsageError("--json needs --output (without it, the export itself is printed)")
    if min_score is not None and not (math.isfinite(min_score) and 0 <= min_score <= MAX_SCORE):
        raise UsageError(f"--min-score must be a finite number from 0 to 100 (got {min_score!r})")
    selection = Selection(
        status=None if status.strip().lower() == "all" else parse_status(status),
        priority=parse_priority(priority) if priority is not None else None,
        category=category,
        min_score=min_score,
    )
    settings = settings_from(ctx).settings
    store = store_from(ctx)
    listed = store.list()
    warn_corrupt(listed.corrupt)
    dreams = select(listed.dreams, selection)
    root: Path | None
    try:
        root = _codebase(codebase, settings.codebase_path)
    except UsageError:
        if codebase is not None:
            raise
        root = None  # no codebase here: export without fixes
    text = render(chosen_format, dreams, root)
    if output is None:
        # The document is the output; control characters from dream text stay visible.
        typer.echo(safe_text(text), nl=False)
        return
    if output.is_dir():
        raise UsageError(f"--output {output}: is a directory")
    try:
        atomic_write_text(output, text)
    except OSError as exc:
        raise StorageError(f"{output}: cannot write ({exc.strerror or exc})") from None
    if as_json:
        print_json({"format": chosen_format, "output": str(output), "count": len(dreams)})
    else:
        noun = "dream" if len(dreams) == 1 else "dreams"
        stdout_console().print(
            f"Wrote {len(dreams)} {noun} as {chosen_format} to {safe_line(str(output))}",
            markup=False,
            soft_wrap=True,
        )
