"""Repair an answer that was cut off, or reject it: never pass torn Markdown on.

A generation stopped by the token limit (finish reason "length"), by the loop detector, by a
time limit or a stall ends mid-sentence or inside a code block; an unclosed fence would
swallow every later section of the dream file. The torn code block is dropped (half a
function is not a suggestion), a half-written last line is trimmed, and when what is left
no longer has every asked-for part the answer is rejected as truncated.
An answer that finished normally but forgot its closing fence gets the fence closed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from codedreamer.dream.validation.answer import SECTION_LABELS, code_blocks, parse_answer

CUT_OFF_REASONS = frozenset({"length", "loop", "timeout", "stalled"})
"""Finish reasons of a generation that did not end where the model meant it to."""

_COMPLETE_LINE_END = re.compile(r"""[.!?:;)\]}"'`>*_]\s*$""")
_LABEL_ONLY = re.compile(
    r"^\s*(?:[#>]+\s*|[-*]\s+|\d+[.)]\s*)?[*_]*\s*(?:TITLE|INSIGHT|PLAN)\s*[*_]*\s*:?\s*[*_]*\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Repair:
    text: str
    """The repaired answer (the input unchanged when nothing needed repair)."""
    changes: tuple[str, ...] = ()
    rejection: str | None = None
    """"truncated" when the answer cannot be repaired into a complete one."""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.rejection is None


def repair_answer(
    text: str, finish_reason: str = "stop", required: Sequence[str] = SECTION_LABELS
) -> Repair:
    """Close, trim or reject a torn answer; see the module docstring for the rules."""
    cut_off = finish_reason in CUT_OFF_REASONS
    changes: list[str] = []
    lines = text.rstrip().split("\n")
    blocks = code_blocks("\n".join(lines))
    if blocks and not blocks[-1].closed:
        torn = blocks[-1]
        if cut_off:
            lines = lines[: torn.start_line]
            changes.append(f"dropped a code block cut off by finish reason {finish_reason!r}")
        else:
            fence = lines[torn.start_line].strip()
            lines.append(fence[0] * (len(fence) - len(fence.lstrip(fence[0]))))
            changes.append("closed an unclosed code fence")
    elif cut_off and lines and lines[-1].strip() and not _COMPLETE_LINE_END.search(lines[-1]):
        lines = lines[:-1]
        changes.append("trimmed a half-written last line")
    if cut_off:
        # A label left with nothing after it (the cut came right after it) is dropped.
        while lines and (not lines[-1].strip() or _LABEL_ONLY.match(lines[-1])):
            lines.pop()
    repaired = "\n".join(lines).rstrip()
    if not cut_off:
        return Repair(repaired if changes else text, tuple(changes))
    answer = parse_answer(repaired)
    missing = [label for label in required if not answer.section(label).strip()]
    if missing:
        detail = f"cut off ({finish_reason}) before " + ", ".join(missing)
        return Repair(repaired, tuple(changes), "truncated", detail)
    return Repair(repaired, tuple(changes))


def is_torn(text: str) -> bool:
    """True if the text has a code block that never closes."""
    blocks = code_blocks(text)
    return bool(blocks) and not blocks[-1].closed
