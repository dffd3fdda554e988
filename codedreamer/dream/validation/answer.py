"""Read a Think answer: its code blocks, its prose, and its labelled parts (TITLE, INSIGHT, PLAN).

Model output is Markdown-ish. Fences follow CommonMark closely enough for it: a fence is a
line that starts (after up to three spaces) with three or more backticks or tildes, and it
closes at a line of the same character, at least as long, with nothing else on it.
Labels are recognised in the spellings small models use: `TITLE:`, `**Title:**`,
`### Title`, `1. TITLE:`, and an upper-case `TITLE:` in the middle of a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTION_LABELS = ("TITLE", "INSIGHT", "PLAN")

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_LABEL = re.compile(
    r"^\s*(?:[#>]+\s*|[-*]\s+|\d+[.)]\s*)?[*_]*\s*(TITLE|INSIGHT|PLAN)\s*[*_]*\s*:\s*[*_]*\s*(.*)$",
    re.IGNORECASE,
)
_HEADING_LABEL = re.compile(r"^\s*#{1,6}\s*[*_]*(TITLE|INSIGHT|PLAN)[*_]*\s*$", re.IGNORECASE)
# Upper-case only: "TITLE:" inside a line is a label, "the title: x" is prose.
_INLINE_LABEL = re.compile(r"(?<=\S)\s+(?=\**(?:TITLE|INSIGHT|PLAN)\**:)")


@dataclass(frozen=True)
class CodeBlock:
    """A fenced block; lines are 0-based indexes into the answer's lines."""

    info: str
    """First word of the info string, lower-case ("python"), "" when there is none."""
    code: str
    start_line: int
    end_line: int | None
    """The closing fence's line, None when the block never closes (a torn answer)."""

    @property
    def closed(self) -> bool:
        return self.end_line is not None


@dataclass(frozen=True)
class Section:
    label: str
    """TITLE, INSIGHT or PLAN."""
    body: str
    """Everything after the label up to the next label, code blocks included."""
    start_line: int


@dataclass(frozen=True)
class Answer:
    text: str
    preamble: str
    """Text before the first label."""
    sections: tuple[Section, ...]
    blocks: tuple[CodeBlock, ...]

    def section(self, label: str) -> str:
        """The body of the first section with that label whose body is not empty, else ""."""
        for section in self.sections:
            if section.label == label and section.body.strip():
                return section.body
        return ""

    @property
    def labels(self) -> set[str]:
        return {section.label for section in self.sections}


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block in order; an unclosed last block runs to the end of the text."""
    lines = text.split("\n")
    blocks: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        # A backtick fence's info string may not contain backticks (CommonMark).
        if opening is None or (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            i += 1
            continue
        fence, info_text = opening.group(1), opening.group(2).strip()
        info = info_text.split()[0].lower().strip("{}.") if info_text else ""
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if (
                closing is not None
                and closing.group(1)[0] == fence[0]
                and len(closing.group(1)) >= len(fence)
                and not closing.group(2).strip()
            ):
                break
            j += 1
        if j >= len(lines):
            blocks.append(CodeBlock(info, "\n".join(lines[i + 1 :]), i, None))
            break
        blocks.append(CodeBlock(info, "\n".join(lines[i + 1 : j]), i, j))
        i = j + 1
    return blocks


def code_line_numbers(text: str) -> set[int]:
    """Indexes of the lines that are fences or inside code blocks."""
    numbers: set[int] = set()
    last = text.count("\n")
    for block in code_blocks(text):
        end = block.end_line if block.end_line is not None else last
        numbers.update(range(block.start_line, end + 1))
    return numbers


def prose_of(text: str) -> str:
    """The text with every code block (fences included) blanked out, line numbers kept."""
    in_code = code_line_numbers(text)
    return "\n".join(
        "" if number in in_code else line for number, line in enumerate(text.split("\n"))
    )


_MARKER_ONLY = re.compile(r"^\s*(?:[#>]+|[-*]|\d+[.)])?\s*[*_]*\s*$")


def _split_inline_labels(line: str) -> list[str]:
    parts = [part for part in _INLINE_LABEL.split(line) if part]
    if len(parts) > 1 and _MARKER_ONLY.match(parts[0]):
        # "1. PLAN: ..." is one labelled line, not a "1." line and a label.
        parts[:2] = [f"{parts[0]} {parts[1]}"]
    return parts


def parse_answer(text: str) -> Answer:
    """Split an answer into preamble, labelled sections and code blocks."""
    in_code = code_line_numbers(text)
    preamble: list[str] = []
    sections: list[tuple[str, list[str], int]] = []
    for number, raw in enumerate(text.split("\n")):
        parts = [raw] if number in in_code else _split_inline_labels(raw)
        for part in parts:
            label_match = None
            if number not in in_code:
                label_match = _LABEL.match(part) or _HEADING_LABEL.match(part)
            if label_match is not None:
                rest = label_match.group(2) if label_match.re is _LABEL else ""
                rest = rest.strip().rstrip("*_").strip()
                sections.append((label_match.group(1).upper(), [rest] if rest else [], number))
            elif sections:
                sections[-1][1].append(part)
            else:
                preamble.append(part)
    return Answer(
        text=text,
        preamble="\n".join(preamble).strip(),
        sections=tuple(
            Section(label, "\n".join(body).strip("\n"), start) for label, body, start in sections
        ),
        blocks=tuple(code_blocks(text)),
    )
