"""`codedreamer briefing`: the morning summary of what was dreamed in the last N hours."""

from __future__ import annotations

import typer

from codedreamer.cli.common import finite_range, print_json, stdout_console
from codedreamer.cli.dreams_cmd import (
    PRIORITY_STYLES,
    STATUS_STYLES,
    source_label,
    store_from,
    summary_json,
    warn_corrupt,
)
from codedreamer.safe_text import safe_line, safe_text

DEFAULT_HOURS = 12.0
# A century: far beyond any dream on disk, far inside what datetime arithmetic can take
# (`now - timedelta(hours=1e12)` overflows).
MAX_HOURS = 100 * 365 * 24.0


def register(app: typer.Typer) -> None:
    app.command("briefing")(briefing)


def briefing(
    ctx: typer.Context,
    hours: float = typer.Option(
        DEFAULT_HOURS,
        "--hours",
        "-h",
        callback=finite_range(0.0, MAX_HOURS, low_open=True),
        help="Dreams created in the last N hours (above 0, at most a century).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Dreams from the last N hours, grouped by priority, with the start of each insight."""
    from datetime import UTC, datetime, timedelta

    from rich.padding import Padding
    from rich.text import Text

    from codedreamer.storage.query import group_by_priority, insight_preview

    store = store_from(ctx)
    now = datetime.now(UTC)
    recent = store.recent(hours, now=now)
    warn_corrupt(recent.corrupt)
    # Within each priority, dreams whose patch verified come first: they are ready to apply.
    groups = {
        priority: sorted(members, key=lambda d: d.verification.get("status") != "verified")
        for priority, members in group_by_priority(recent.dreams).items()
    }
    since = now - timedelta(hours=hours)

    if as_json:
        print_json(
            {
                "hours": hours,
                "since": since.isoformat(),
                "count": len(recent.dreams),
                "groups": {
                    priority.value: [
                        {**summary_json(dream, store), "insight": insight_preview(dream.insight)}
                        for dream in members
                    ]
                    for priority, members in groups.items()
                },
            }
        )
        return

    console = stdout_console()
    span = f"{hours:g} hour{'s' if hours != 1 else ''}"
    if not recent.dreams:
        console.print(
            f"No dreams in the last {span} (since {since:%Y-%m-%d %H:%M} UTC).", markup=False
        )
        return
    count = len(recent.dreams)
    console.print(
        Text(f"Briefing: {count} dream{'s' if count != 1 else ''} in the last {span}", "bold")
    )
    for priority, members in groups.items():
        console.print()
        console.print(
            Text(f"{priority.value.upper()} ({len(members)})", PRIORITY_STYLES[priority.value])
        )
        for dream in members:
            line = Text("• ")
            line.append(safe_line(dream.title) or "(untitled)", style="bold")
            if dream.verification.get("status") == "verified":
                line.append("  ✔ verified", style="green")
            if dream.status.value != "pending":
                line.append(f"  [{dream.status.value}]", style=STATUS_STYLES[dream.status.value])
            console.print(line)
            details = Text(
                safe_line(
                    f"{dream.id}  {dream.category} · {source_label(dream)}  "
                    f"novelty {dream.novelty:.2f}"
                ),
                style="dim",
            )
            console.print(Padding(details, (0, 0, 0, 2)))
            preview = insight_preview(dream.insight)
            if preview:
                console.print(Padding(Text(safe_text(preview)), (0, 0, 0, 2)))
