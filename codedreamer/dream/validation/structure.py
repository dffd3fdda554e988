"""The asked-for shape: TITLE, INSIGHT and PLAN, in the model's own words.

Small models echo the prompt's template ("TITLE: one line naming the improvement"); such a
line says nothing about the code and must never become a dream's title. Placeholder lines
are removed; a part that held nothing but its placeholder is template echo, and a missing
part means the answer is not the one asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from codedreamer.dream.focus import FOCUS_AREAS
from codedreamer.dream.prompts import THINK_PLACEHOLDERS
from codedreamer.dream.validation.answer import SECTION_LABELS, code_line_numbers, parse_answer
from codedreamer.dream.validation.vocabulary import word_set

# Earlier wordings of the Think template: answers of models prompted with them are still
# in users' dream folders and benchmark logs, and old habits survive prompt changes.
LEGACY_PLACEHOLDERS = (
    "one line naming the improvement",
    "what is wrong or could be better, and why; name the functions or variables involved",
    "numbered steps to make the change",
)
# Generic template filler, whatever the prompt said.
GENERIC_PLACEHOLDERS = (
    "your title here",
    "short title",
    "title of the improvement",
    "describe the improvement",
    "description of the issue",
)

_WORD = re.compile(r"[a-z0-9]+")
_LABEL_PREFIX = re.compile(
    r"^\s*(?:[#>]+\s*|[-*]\s+|\d+[.)]\s*)?[*_]*\s*(?:TITLE|INSIGHT|PLAN)\s*[*_]*\s*:\s*",
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"^\s*(?:\d+[.)]\s*|[-*]\s+)?<[^<>]{3,}>\s*[.]?\s*$")
_STOP = word_set("a an the of to and or in on for with your this that it its be is are")


def placeholder_phrases() -> tuple[str, ...]:
    current = tuple(text.strip("<> ") for text in THINK_PLACEHOLDERS.values())
    # The focus area's task is in the prompt too, and small models copy it as their title
    # ("Find and fix unused, unreachable or never wired up in the code.").
    tasks = tuple(area.task for area in FOCUS_AREAS)
    return current + tasks + LEGACY_PLACEHOLDERS + GENERIC_PLACEHOLDERS


def _content_words(text: str) -> list[str]:
    return [word for word in _WORD.findall(text.lower()) if word not in _STOP]


def is_placeholder(line: str, phrases: Iterable[str] | None = None) -> bool:
    """True if the line (label removed) is a template description rather than an answer.

    A line counts when it is a bracketed description, or when most of it is the words of
    one placeholder phrase: a model that adds "in parse_header" to a copied placeholder
    still copied it.
    """
    body = _LABEL_PREFIX.sub("", line).strip().strip("*_").strip()
    if not body:
        return False
    if _BRACKETED.match(body):
        return True
    words = _content_words(body)
    if not words:
        return False
    for phrase in phrases if phrases is not None else placeholder_phrases():
        wanted = set(_content_words(phrase))
        if not wanted:
            continue
        shared = len(wanted.intersection(words))
        if shared / len(wanted) >= 0.75 and len(words) <= len(wanted) + 3:
            return True
    return False


def strip_placeholders(text: str) -> tuple[str, int]:
    """The text without placeholder lines (outside code), and how many were removed.

    A label whose line held only a placeholder keeps its label, so the part reads as empty.
    """
    in_code = code_line_numbers(text)
    phrases = placeholder_phrases()
    kept: list[str] = []
    removed = 0
    for number, line in enumerate(text.split("\n")):
        if number not in in_code and is_placeholder(line, phrases):
            removed += 1
            label = _LABEL_PREFIX.match(line)
            if label is not None:
                kept.append(label.group(0).rstrip())
            continue
        kept.append(line)
    return "\n".join(kept), removed


@dataclass(frozen=True)
class StructureCheck:
    ok: bool
    reason: str
    """ok, template_echo or missing_section."""
    detail: str
    text: str
    """The answer with placeholder lines removed."""
    title: str
    placeholders_removed: int


def check_structure(
    text: str, required: Sequence[str] = SECTION_LABELS, *, echo_only: bool = False
) -> StructureCheck:
    """Remove placeholder lines, then require every part in `required` to have content.

    With `echo_only`, only template echo is rejected (a missing part is let through).
    """
    cleaned, removed = strip_placeholders(text)
    answer = parse_answer(cleaned)
    original = parse_answer(text)
    echoed = [
        label
        for label in required
        if not answer.section(label).strip() and original.section(label).strip()
    ]
    title = first_line(answer.section("TITLE"))
    if echoed:
        detail = "placeholder text instead of " + ", ".join(echoed)
        return StructureCheck(False, "template_echo", detail, cleaned, title, removed)
    missing = [label for label in required if not answer.section(label).strip()]
    if missing and not echo_only:
        detail = "no " + ", ".join(missing)
        return StructureCheck(False, "missing_section", detail, cleaned, title, removed)
    return StructureCheck(True, "ok", "", cleaned, title, removed)


def first_line(text: str) -> str:
    for line in text.split("\n"):
        line = line.strip().strip("*_#").strip()
        if line:
            return line
    return ""


_PROSE_SKIP = re.compile(r"^(\d+[.)]|[-*•])\s+")


def dream_title(text: str, fallback: str, max_chars: int = 100) -> str:
    """The answer's TITLE, else its first prose sentence; never a placeholder or a label.

    Capped at `max_chars` for one-line listings.
    """
    cleaned, _ = strip_placeholders(text)
    answer = parse_answer(cleaned)
    title = first_line(answer.section("TITLE"))
    if not title:
        in_code = code_line_numbers(cleaned)
        for number, raw in enumerate(cleaned.split("\n")):
            line = _LABEL_PREFIX.sub("", raw).strip()
            if number in in_code or not line or line.endswith(":") or is_placeholder(line):
                continue
            line = _PROSE_SKIP.sub("", line)
            title = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0].strip().strip("#*").strip()
            if title:
                break
    if not title:
        return fallback
    return (title[: max_chars - 3] + "...") if len(title) > max_chars else title
