"""SARIF 2.1.0 for dreams, so editors and code scanning show them beside the code.

One rule per dream category (`codedreamer/<category>`), one result per dream with its
location and, where a verified diff still applies to the file, a `fix` whose replacements
turn the file into the verified result. Replacement regions use `charOffset` /
`charLength` (Unicode code points from the start of the file): exact even at the end of a
file without a final newline, where line/column regions get awkward. Pure functions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from codedreamer import __version__
from codedreamer.storage.dream import Dream

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "CodeDreamer"
RULE_PREFIX = "codedreamer/"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "codedreamerDreamId/v1"
LEVELS = {
    "critical": "error",
    "high": "warning",
    "medium": "warning",
    "low": "note",
    "unranked": "note",
}


@dataclass(frozen=True)
class Replacement:
    offset: int
    length: int
    text: str


@dataclass(frozen=True)
class Fix:
    """A verified change to the dream's file: its text now and after the patch."""

    before: str
    after: str


def rule_id(category: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", category.strip().lower()).strip("-")
    return RULE_PREFIX + (slug or "general")


def _rule_name(category: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", category)
    return "".join(word[:1].upper() + word[1:] for word in words) or "General"


def replacements(before: str, after: str) -> list[Replacement]:
    """The changed line ranges from `before` to `after`, as offsets into `before`."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))
    found: list[Replacement] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        found.append(Replacement(starts[i1], starts[i2] - starts[i1], "".join(new[j1:j2])))
    return found


def apply_replacements(before: str, changes: Sequence[Replacement]) -> str:
    """What an editor does with a SARIF fix (used by the tests to check the fix)."""
    text = before
    for change in sorted(changes, key=lambda c: c.offset, reverse=True):
        text = text[: change.offset] + change.text + text[change.offset + change.length :]
    return text


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _location(dream: Dream) -> dict[str, Any]:
    start = max(1, dream.line_start)
    end = max(start, dream.line_end)
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(dream.source_path), "uriBaseId": SRCROOT},
            "region": {"startLine": start, "endLine": end},
        }
    }


def _message(dream: Dream) -> str:
    title = dream.title.strip() or f"Dream {dream.id}"
    insight = dream.insight.strip()
    return f"{title}\n\n{insight}" if insight else title


def _fix(dream: Dream, fix: Fix) -> dict[str, Any]:
    return {
        "description": {"text": f"Verified patch from dream {dream.id}"},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": _uri(dream.source_path), "uriBaseId": SRCROOT},
                "replacements": [
                    {
                        "deletedRegion": {"charOffset": change.offset, "charLength": change.length},
                        "insertedContent": {"text": change.text},
                    }
                    for change in replacements(fix.before, fix.after)
                ],
            }
        ],
    }


def _properties(dream: Dream) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "dreamId": dream.id,
        "category": dream.category,
        "priority": dream.priority.value,
        "status": dream.status.value,
        "score": dream.score,
        "novelty": dream.novelty,
        "verification": dream.verification.get("status", "") or "not verified",
    }
    if dream.branch:
        properties["branch"] = dream.branch
    return properties


def sarif_log(
    entries: Sequence[tuple[Dream, Fix | None]], *, root_uri: str | None = None
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: one result per dream, a fix where one is given."""
    categories = sorted({dream.category for dream, _ in entries}, key=rule_id)
    rules: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    for category in categories:
        identifier = rule_id(category)
        if identifier in index_of:
            continue
        index_of[identifier] = len(rules)
        rules.append(
            {
                "id": identifier,
                "name": _rule_name(category),
                "shortDescription": {"text": f"CodeDreamer suggestion: {category}"},
                "fullDescription": {
                    "text": f"Improvements CodeDreamer's models found in the {category} category."
                },
                "defaultConfiguration": {"level": "note"},
            }
        )
    results = []
    for dream, fix in entries:
        identifier = rule_id(dream.category)
        result: dict[str, Any] = {
            "ruleId": identifier,
            "ruleIndex": index_of[identifier],
            "level": LEVELS.get(dream.priority.value, "note"),
            "message": {"text": _message(dream)},
            "locations": [_location(dream)],
            "partialFingerprints": {FINGERPRINT: dream.id},
            "properties": _properties(dream),
        }
        if fix is not None and fix.before != fix.after:
            result["fixes"] = [_fix(dream, fix)]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if root_uri:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root_uri}}
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
