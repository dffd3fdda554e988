"""`codedreamer dreams list|show|mark|actionable`: read and triage the dream files.

Everything a dream holds came from a model or from the user's code, so it is shown as plain
text (rich `Text`, `Syntax`, `Markdown`), never parsed as Rich markup, and terminal control
characters are made visible instead of being sent to the terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from codedreamer.cli.common import print_json, settings_from, stderr_console, stdout_console
from codedreamer.cli.verify_cmd import register_dreams_commands

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from codedreamer.storage.dream import Dream
    from codedreamer.storage.store import CorruptFile, DreamStore, ListResult

DEFAULT_LIMIT = 20
WIDE_TABLE = 100  # terminal columns from which `dreams list` also shows a Created column

# C0/C1 controls (except newline and tab) and bidi overrides ("trojan source") would let a
# dream recolour the terminal, move the cursor or reorder what the user reads.

PRIORITY_STYLES = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "green",
    "unranked": "dim",
}
STATUS_STYLES = {"pending": "cyan", "applied": "green", "rejected": "red", "deferred": "yellow"}


def register(app: typer.Typer) -> None:
    group = dreams_group(app)
    group.command("list")(list_dreams)
    group.command("show")(show_dream)
    group.command("mark")(mark_dream)
    group.command("actionable")(actionable_dreams)
    group.command("reflect")(reflect_dreams)
    register_dreams_commands(group)


def dreams_group(app: typer.Typer) -> typer.Typer:
    """The `dreams` sub-command group of `app`, created on first use.

    Other modules add their own `dreams` sub-commands (reflect, apply, export) with
    `dreams_group(app).command("reflect")(...)`, whatever order they register in.
    """
    for group in app.registered_groups:
        if group.name == "dreams" and group.typer_instance is not None:
            return group.typer_instance
    dreams_app = typer.Typer(
        name="dreams",
        help="List, read and triage dreams (the Markdown files under DREAMER_DREAMS_DIR).",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(dreams_app, name="dreams")
    return dreams_app


# ---------------------------------------------------------------- shared helpers


def printable(text: str) -> str:
    """`text` with terminal control characters shown as `\\xNN` / `\\uNNNN` escapes."""
    from codedreamer.safe_text import safe_text

    return safe_text(text)


def store_from(ctx: typer.Context) -> DreamStore:
    from codedreamer.storage.store import DreamStore

    return DreamStore(settings_from(ctx).settings.dreams_dir)


def warn_corrupt(corrupt: list[CorruptFile]) -> None:
    """One line on stderr per file that is not a readable dream; the files stay as they are."""
    from rich.text import Text

    console = stderr_console()
    for entry in corrupt:
        console.print(
            Text(printable(f"warning: skipped {entry.path}: {entry.reason}"), style="yellow"),
            soft_wrap=True,
        )


def source_label(dream: Dream) -> str:
    return f"{dream.source_path}:{dream.line_start}-{dream.line_end}"


def created_label(dream: Dream) -> str:
    return f"{dream.created:%Y-%m-%d %H:%M}"


def summary_json(dream: Dream, store: DreamStore) -> dict[str, Any]:
    """Front-matter fields plus the file path: what a script needs to pick dreams."""
    from codedreamer.storage.dream_file import front_matter_values

    data = front_matter_values(dream)
    data["path"] = str(store.path_for(dream.id))
    return data


def corrupt_json(corrupt: list[CorruptFile]) -> list[dict[str, str]]:
    return [{"path": str(entry.path), "reason": entry.reason} for entry in corrupt]


def dream_table(
    dreams: list[Dream], *, title: str, ranked: bool = False, width: int = 120
) -> Table:
    """Dreams as a table that still reads at 80 columns: the id never shrinks, the title
    column carries the category and source on a second, dimmed line, and below 100
    columns the Created column gives way (the id starts with the same UTC time)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    if ranked:
        table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Id", no_wrap=True, min_width=24)
    show_created = width >= WIDE_TABLE
    if show_created:
        table.add_column("Created (UTC)", no_wrap=True, min_width=16)
    table.add_column("Priority", no_wrap=True, min_width=8)
    if not ranked:  # ranked tables list pending dreams only
        table.add_column("Status", no_wrap=True, min_width=8)
    table.add_column("Novelty", justify="right", no_wrap=True, min_width=4)
    table.add_column("Title", overflow="fold", ratio=1, min_width=16)
    for rank, dream in enumerate(dreams, start=1):
        about = Text(printable(dream.title) or "(untitled)")
        about.append("\n")
        about.append(printable(f"{dream.category} · {source_label(dream)}"), style="dim")
        cells = [Text(str(rank))] if ranked else []
        cells.append(Text(dream.id))
        if show_created:
            cells.append(Text(created_label(dream)))
        cells.append(
            Text(dream.priority.value, style=PRIORITY_STYLES.get(dream.priority.value, ""))
        )
        if not ranked:
            status = dream.status.value
            cells.append(Text(status, style=STATUS_STYLES.get(status, "")))
        cells += [Text(f"{dream.novelty:.2f}"), about]
        table.add_row(*cells)
    table.caption = "Details: codedreamer dreams show ID"
    table.caption_justify = "left"
    return table


def _shown_count(shown: int, total: int) -> str:
    if shown == total:
        return f"{total} dream{'s' if total != 1 else ''}"
    return f"{shown} of {total} dreams (--limit 0 shows all)"


# ---------------------------------------------------------------- commands


def list_dreams(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", "-s", help="Only this status: pending, applied, rejected, deferred."
    ),
    priority: str | None = typer.Option(
        None, "--priority", "-p", help="Only this priority: critical, high, medium, low, unranked."
    ),
    category: str | None = typer.Option(None, "--category", help="Only this category."),
    min_score: float | None = typer.Option(
        None, "--min-score", min=0.0, max=100.0, help="Only dreams scoring at least this."
    ),
    limit: int = typer.Option(
        DEFAULT_LIMIT, "--limit", "-n", min=0, help="Show at most this many (0 = all)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List dreams, newest first."""
    from codedreamer.storage.query import filter_dreams, parse_priority, parse_status, take

    wanted_status = parse_status(status) if status is not None else None
    wanted_priority = parse_priority(priority) if priority is not None else None
    store = store_from(ctx)
    listed = store.list()
    warn_corrupt(listed.corrupt)
    matching = filter_dreams(
        listed.dreams,
        status=wanted_status,
        priority=wanted_priority,
        category=category,
        min_score=min_score,
    )
    _print_listing(
        store,
        listed,
        matching,
        take(matching, limit),
        as_json=as_json,
        title="Dreams",
        empty=_nothing_found(store, bool(listed.dreams)),
    )


def _print_listing(
    store: DreamStore,
    listed: ListResult,
    selected: list[Dream],
    shown: list[Dream],
    *,
    as_json: bool,
    title: str,
    empty: str,
    ranked: bool = False,
) -> None:
    """Print `shown` (the first of `selected`) as JSON or a table; `empty` when none."""
    if as_json:
        print_json(
            {
                "dreams": [summary_json(dream, store) for dream in shown],
                "total": len(selected),
                "corrupt": corrupt_json(listed.corrupt),
            }
        )
        return
    console = stdout_console()
    if not shown:
        console.print(empty, markup=False)
        return
    heading = f"{title}: {_shown_count(len(shown), len(selected))}"
    console.print(dream_table(shown, title=heading, ranked=ranked, width=console.width))


def _nothing_found(store: DreamStore, any_dreams: bool) -> str:
    if any_dreams:
        return "No dreams match these filters."
    return f"No dreams yet in {store.dreams_dir}."


def actionable_dreams(
    ctx: typer.Context,
    priority: str | None = typer.Option(
        None, "--priority", "-p", help="Only this priority: critical, high, medium, low, unranked."
    ),
    category: str | None = typer.Option(None, "--category", help="Only this category."),
    min_score: float | None = typer.Option(
        None, "--min-score", min=0.0, max=100.0, help="Only dreams scoring at least this."
    ),
    limit: int = typer.Option(
        DEFAULT_LIMIT, "--limit", "-n", min=0, help="Show at most this many (0 = all)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Pending dreams, most urgent first (priority, then score)."""
    from codedreamer.storage.query import actionable, filter_dreams, parse_priority, take

    store = store_from(ctx)
    listed = store.list()
    warn_corrupt(listed.corrupt)
    ranked = filter_dreams(
        actionable(listed.dreams),
        priority=parse_priority(priority) if priority is not None else None,
        category=category,
        min_score=min_score,
    )
    _print_listing(
        store,
        listed,
        ranked,
        take(ranked, limit),
        as_json=as_json,
        title="Actionable",
        empty="No pending dreams.",
        ranked=True,
    )


def show_dream(
    ctx: typer.Context,
    dream_id: str = typer.Argument(..., metavar="ID", help="The dream id (see `dreams list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show one dream in full."""
    from codedreamer.storage.dream_file import dream_to_dict

    store = store_from(ctx)
    dream = store.load(dream_id.strip())
    if as_json:
        data = dream_to_dict(dream)
        data["path"] = str(store.path_for(dream.id))
        print_json(data)
        return
    console = stdout_console()
    for renderable in render_dream(dream, str(store.path_for(dream.id))):
        console.print(renderable)


def render_dream(dream: Dream, path: str) -> list[RenderableType]:
    """The whole dream as rich renderables: header, metadata, then each non-empty section."""
    from rich.markdown import Markdown
    from rich.rule import Rule
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text

    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold", no_wrap=True)
    meta.add_column(overflow="fold")

    def row(label: str, value: str, style: str = "") -> None:
        if value:
            meta.add_row(Text(label), Text(printable(value), style=style))

    def reasoned(value: str, reason: str) -> str:
        return f"{value} ({reason})" if reason else value

    from codedreamer.storage.fields import declared

    reasons = {"status": dream.status_reason, "priority": dream.priority_reason}
    styles = {"status": STATUS_STYLES, "priority": PRIORITY_STYLES}
    sections: list[tuple[str, str, str]] = []
    for name, spec, _ in declared(type(dream)):
        value = getattr(dream, name)
        if spec.section:
            sections.append((spec.heading, value, spec.fence))
            continue
        if name == "line_end":
            row("Source", source_label(dream))
        if not spec.label or value is None or value == "" or value == [] or value == {}:
            continue
        text = spec.show(value)
        if name in reasons:
            text = reasoned(text, reasons[name])
        row(spec.label, text, styles.get(name, {}).get(str(value), ""))
        if name == "id":
            row("File", path)

    parts: list[RenderableType] = [
        Text(printable(dream.title) or "(untitled dream)", style="bold"),
        meta,
    ]
    lexer = dream.language.strip().lower() or "text"
    for heading, content, fence in sections:
        if not content.strip():
            continue
        parts.append(Rule(Text(heading), align="left"))
        if fence:
            code_lexer = "diff" if fence == "diff" else lexer
            parts.append(Syntax(printable(content), code_lexer, word_wrap=True))
        else:
            # Markdown never reads Rich markup: "[red]" in a dream stays literal text.
            parts.append(Markdown(printable(content)))
    return parts


def mark_dream(
    ctx: typer.Context,
    dream_id: str = typer.Argument(..., metavar="ID", help="The dream id (see `dreams list`)."),
    status: str = typer.Argument(
        ..., metavar="STATUS", help="One of: pending, applied, rejected, deferred."
    ),
    reason: str = typer.Option("", "--reason", "-r", help="Why, kept in the dream's file."),
) -> None:
    """Set a dream's status (written to its own file, safely alongside a running TUI)."""
    from rich.text import Text

    from codedreamer.storage.query import parse_status

    new_status = parse_status(status)
    store = store_from(ctx)
    dream = store.set_status(dream_id.strip(), new_status, reason)
    message = Text(f"Marked {dream.id} as ")
    message.append(dream.status.value, style=STATUS_STYLES.get(dream.status.value, ""))
    if dream.title:
        message.append(f": {printable(dream.title)}")
    stdout_console().print(message)


def reflect_dreams(
    ctx: typer.Context,
    dream_ids: list[str] | None = typer.Argument(
        None, metavar="[ID]...", help="Dreams to rank (default: every pending dream)."
    ),
    limit: int = typer.Option(0, "--limit", "-n", min=0, help="Rank at most this many."),
    model: Path | None = typer.Option(
        None, "--model", help="Reasoning model GGUF (DREAMER_MODEL_PATH)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Rank dreams: the model gives each a priority and a reason; scores are recomputed."""
    from rich.table import Table
    from rich.text import Text

    from codedreamer.engine.engine import Engine
    from codedreamer.events import discard_event

    settings = settings_from(ctx, model_path=model).settings
    store = store_from(ctx)
    for dream_id in dream_ids or []:
        store.load(dream_id.strip())  # an unknown id is a usage error before any model loads
    root = (settings.codebase_path or Path(".")).resolve()
    engine = Engine(settings, root, discard_event)
    try:
        ranked = engine.reflect([d.strip() for d in dream_ids or []], limit=limit)
    finally:
        engine.close()
    if as_json:
        print_json(
            {
                "dreams": [
                    {
                        "id": d.id,
                        "priority": d.priority.value,
                        "priority_reason": d.priority_reason,
                        "score": d.score,
                        "score_parts": d.score_parts,
                    }
                    for d in ranked
                ]
            }
        )
        return
    console = stdout_console()
    if not ranked:
        console.print("No dreams to rank.", markup=False)
        return
    table = Table(title=f"Ranked {len(ranked)} dream{'s' if len(ranked) != 1 else ''}")
    for column in ("Id", "Priority", "Score", "Reason"):
        table.add_column(column, overflow="fold")
    for dream in ranked:
        table.add_row(
            Text(dream.id),
            Text(dream.priority.value, style=PRIORITY_STYLES.get(dream.priority.value, "")),
            Text(f"{dream.score:.1f}"),
            Text(printable(dream.priority_reason)),
        )
    console.print(table)
