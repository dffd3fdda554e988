"""Reading model output: titles, labelled sections, code blocks, diffs, severities, priorities.

Small models answer loosely ("**Severity:** Moderate", "no MAJOR issues, but a minor
one", JSON with a trailing remark), so every reader here accepts the usual variations and
returns None or "" rather than guessing when the text does not say. Pure functions only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

SEVERITIES: tuple[str, ...] = ("none", "minor", "moderate", "major")
PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")

_TITLE = re.compile(
    r"^\s*(?:#+\s*)?\**TITLE\**\s*:\s*\**(.+?)\**\s*$", re.IGNORECASE | re.MULTILINE
)
_LABEL = re.compile(r"^\s*(?:#+\s*)?[*_]*([A-Za-z][A-Za-z ]{1,20}?)[*_]*\s*[:\-–]\s*[*_]*\s*(.*)$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+#.-]*)")
_NEGATION = re.compile(
    r"\b(no|not|nothing|without|none|zero|free of|never|isn't|aren't|wasn't|n't|any)\W*$",
    re.IGNORECASE,
)


def _prose_lines(text: str) -> Iterator[str]:
    """Non-empty lines outside code fences, skipping preambles like "Here is the code:"."""
    in_fence = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or not line or line.endswith(":"):
            continue
        yield line


def extract_title(text: str, fallback: str) -> str:
    """The model's TITLE line, else its first sentence, capped for one-line listings."""
    match = _TITLE.search(text)
    if match:
        title = match.group(1)
    else:
        first = next(_prose_lines(text), fallback)
        first = re.sub(r"^(\d+[.)]|[-*•])\s+", "", first)
        title = re.split(r"(?<=[.!?])\s", first.strip(), maxsplit=1)[0]
    title = title.strip().strip("#*").strip()
    return (title[:97] + "...") if len(title) > 100 else (title or fallback)


def labelled_sections(text: str, labels: Sequence[str]) -> dict[str, str]:
    """Bodies of `LABEL: ...` sections (any case, bold or heading marks), keyed by label.

    A section runs until the next known label outside a code fence. Unknown labels are
    body text. The first occurrence of a label wins.
    """
    wanted = {label.upper() for label in labels}
    found: dict[str, list[str]] = {}
    current: str | None = None
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            match = _LABEL.match(line)
            if match and match.group(1).strip().upper() in wanted:
                label = match.group(1).strip().upper()
                current = None if label in found else label
                if current is not None:
                    found[current] = [match.group(2)] if match.group(2).strip() else []
                continue
        if current is not None:
            found[current].append(line)
    return {label: "\n".join(lines).strip() for label, lines in found.items()}


@dataclass(frozen=True)
class Block:
    info: str
    body: str
    closed: bool


def code_blocks(text: str) -> list[Block]:
    """Fenced blocks in order; an unclosed last block runs to the end (closed=False)."""
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match.group(1), match.group(2).lower()
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            if lines[i].strip().startswith(fence[0] * len(fence)) and not lines[i].strip().strip(
                fence[0]
            ):
                closed = True
                break
            body.append(lines[i])
            i += 1
        blocks.append(Block(info, "\n".join(body), closed))
        i += 1
    return blocks


def extract_diff(text: str) -> str:
    """A unified diff in the text: a ```diff block, or bare `---`/`+++`/`@@` lines."""
    for block in code_blocks(text):
        if block.info in ("diff", "patch", "udiff") or (
            "\n@@" in "\n" + block.body and ("\n+" in block.body or "\n-" in block.body)
        ):
            return block.body.strip("\n")
    lines = text.split("\n")
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
        ),
        None,
    )
    if start is None:
        start = next((i for i, line in enumerate(lines) if line.startswith("@@ ")), None)
    if start is None:
        return ""
    end = start
    for i in range(start, len(lines)):
        if lines[i][:1] in ("+", "-", " ", "@", "\\") or lines[i] == "":
            end = i
        else:
            break
    return "\n".join(lines[start : end + 1]).strip("\n")


def _word_scan(text: str, words: Sequence[str]) -> list[str]:
    """Words from `words` that occur in the text and are not negated ("no MAJOR issues")."""
    pattern = re.compile(r"\b(" + "|".join(words) + r")\b", re.IGNORECASE)
    found: list[str] = []
    for match in pattern.finditer(text):
        before = text[max(0, match.start() - 24) : match.start()]
        # "no", "not any", "nothing" right before the word negate it.
        if _NEGATION.search(before.split("\n")[-1]):
            continue
        found.append(match.group(1).lower())
    return found


def _json_field(text: str, key: str) -> str | None:
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        match = re.search(rf'"{key}"\s*:\s*"([A-Za-z]+)"', text)
        return match.group(1).lower() if match else None
    value = data.get(key) if isinstance(data, dict) else None
    return value.strip().lower() if isinstance(value, str) else None


def _labelled(text: str, label: str, choices: Sequence[str]) -> str | None:
    pattern = re.compile(
        rf"{label}\W{{0,6}}\s*[:=\-]?\s*[*_\"']*\s*({'|'.join(choices)})\b", re.IGNORECASE
    )
    match = pattern.search(text)
    return match.group(1).lower() if match else None


def parse_severity(text: str) -> str | None:
    """NONE / MINOR / MODERATE / MAJOR as lower case, or None when the text does not say.

    Order of trust: a JSON `severity` field, a `SEVERITY: X` label, then the most serious
    severity word that is not negated ("no MAJOR issues" is not MAJOR). "No issues" alone
    reads as none.
    """
    value = _json_field(text, "severity")
    if value in SEVERITIES:
        return value
    labelled = _labelled(text, "severity", SEVERITIES)
    if labelled is not None:
        return labelled
    found = _word_scan(text, SEVERITIES[1:])
    if found:
        return max(found, key=SEVERITIES.index)
    if re.search(
        r"\bno (real |significant |serious )?(issues|problems|concerns)\b|\blooks (good|correct)\b",
        text,
        re.IGNORECASE,
    ):
        return "none"
    return None


def parse_priority(text: str) -> tuple[str | None, str]:
    """(critical|high|medium|low or None, the one-line reason) from a reflection answer."""
    value = _json_field(text, "priority")
    if value not in PRIORITIES:
        value = _labelled(text, "priority", PRIORITIES)
    if value is None:
        found = _word_scan(text, PRIORITIES)
        value = found[0] if found else None
    return value, _reason_line(text)


def _reason_line(text: str) -> str:
    try:
        start, end = text.find("{"), text.rfind("}")
        data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("reason"), str):
        return one_line(data["reason"])
    sections = labelled_sections(text, ("REASON", "WHY"))
    body = sections.get("REASON") or sections.get("WHY") or ""
    if not body:
        prose = [
            line
            for line in _prose_lines(text)
            if not re.match(r"^\W*priority\W", line, re.IGNORECASE)
        ]
        body = prose[0] if prose else ""
    return one_line(body)


def one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
