"""`dreams export`: the chosen dreams as SARIF, JSON or Markdown text.

Selection and ordering are shared by the three formats: verified dreams first, then by
score, then newest. A SARIF fix is offered only for a verified dream that is still fresh
(freshness.py) and whose diff applies to the file as it is on disk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codedreamer.dream.patch import PatchError, apply_diff
from codedreamer.errors import CodeDreamerError, UsageError
from codedreamer.storage.dream import Dream, Priority, Status
from codedreamer.storage.dream_file import dream_to_dict, fence_for
from codedreamer.verify.freshness import Stale, check_fresh
from codedreamer.verify.sarif import Fix, sarif_log
from codedreamer.verify.target import decode

FORMATS = ("sarif", "json", "markdown")


@dataclass(frozen=True)
class Selection:
    status: Status | None = Status.PENDING
    priority: Priority | None = None
    category: str | None = None
    min_score: float | None = None


def select(dreams: Iterable[Dream], selection: Selection) -> list[Dream]:
    """Matching dreams: verified first, then highest score, then newest."""
    category = selection.category.strip().lower() if selection.category else None
    chosen = [
        dream
        for dream in dreams
        if (selection.status is None or dream.status == selection.status)
        and (selection.priority is None or dream.priority == selection.priority)
        and (category is None or dream.category.strip().lower() == category)
        and (selection.min_score is None or dream.score >= selection.min_score)
    ]
    chosen.sort(key=lambda d: (d.created, d.id), reverse=True)
    chosen.sort(key=lambda d: (d.verification.get("status") != "verified", -d.score))
    return chosen


def fix_for(dream: Dream, codebase: Path) -> Fix | None:
    """The verified change as (file text now, text after), or None when there is none."""
    if dream.verification.get("status") != "verified" or not dream.diff.strip():
        return None
    try:
        fresh = check_fresh(dream, codebase)
        before = decode(fresh.target.disk_path.read_bytes())
        return Fix(before=before, after=apply_diff(before, dream.diff))
    except (Stale, PatchError, OSError, CodeDreamerError):
        return None


def to_sarif(dreams: Sequence[Dream], codebase: Path | None) -> dict[str, Any]:
    entries = [(dream, fix_for(dream, codebase) if codebase else None) for dream in dreams]
    root = codebase.resolve().as_uri() + "/" if codebase else None
    return sarif_log(entries, root_uri=root)


def to_json(dreams: Sequence[Dream]) -> dict[str, Any]:
    return {"count": len(dreams), "dreams": [dream_to_dict(dream) for dream in dreams]}


def _fenced(text: str, info: str) -> str:
    fence = fence_for(text)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}\n"


def to_markdown(dreams: Sequence[Dream]) -> str:
    """A readable report: one section per dream with its checks, insight and diff."""
    lines = ["# CodeDreamer dreams", "", f"{len(dreams)} dream{'s' if len(dreams) != 1 else ''}."]
    for dream in dreams:
        verification = dream.verification.get("status", "") or "not verified"
        reason = _one_line(dream.verification.get("reason", ""))
        if reason:
            verification += f" ({reason})"
        lines += [
            "",
            f"## {_one_line(dream.title) or dream.id}",
            "",
            f"- Id: `{dream.id}`",
            f"- Where: `{_one_line(dream.source_path)}:{dream.line_start}-{dream.line_end}`",
            f"- Category: {_one_line(dream.category)} · Priority: {dream.priority.value}"
            f" · Status: {dream.status.value} · Score: {dream.score:.1f}",
            f"- Verification: {verification}",
        ]
        if dream.branch:
            lines.append(f"- Branch: `{dream.branch}`")
        if dream.insight.strip():
            lines += ["", dream.insight.strip()]
        if dream.diff.strip():
            lines += ["", _fenced(dream.diff, "diff").rstrip()]
        elif dream.code.strip():
            lines += ["", _fenced(dream.code, dream.language).rstrip()]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(fmt: str, dreams: Sequence[Dream], codebase: Path | None) -> str:
    """The export document in `fmt` (sarif, json or markdown)."""
    if fmt == "sarif":
        return json.dumps(to_sarif(dreams, codebase), indent=2, ensure_ascii=True) + "\n"
    if fmt == "json":
        return json.dumps(to_json(dreams), indent=2, ensure_ascii=True, default=str) + "\n"
    if fmt == "markdown":
        return to_markdown(dreams)
    raise UsageError(f"{fmt!r} is not an export format (choose {', '.join(FORMATS)})")
