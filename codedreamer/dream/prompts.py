"""Prompt text for each stage, as prioritised sections the token budgeter can trim.

The instructions are short and literal because the default model is tiny; larger models
follow them just as well. Code and file names are data: they are fenced, never merged
into the instructions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from codedreamer.dream.focus import FocusArea

THINK_SYSTEM = (
    "You are a meticulous senior software engineer reviewing one piece of a codebase. "
    "You point out one concrete, useful improvement and you only talk about code you were "
    "shown: never invent functions, files or line numbers."
)

# Priorities for the budgeter: the task and the code are required; context is optional.
PRIORITY_TASK = 100
PRIORITY_CODE = 90
PRIORITY_CONTEXT = 50


@dataclass(frozen=True)
class SeedCode:
    """The code a dream is about."""

    path: str
    language: str
    start_line: int
    end_line: int
    symbol: str
    content: str


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks inside the text."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def code_block(seed: SeedCode) -> str:
    fence = fence_for(seed.content)
    where = f"{seed.path}, lines {seed.start_line}-{seed.end_line}"
    if seed.symbol:
        where += f" ({seed.symbol})"
    return f"Code from {where}:\n{fence}{seed.language}\n{seed.content}\n{fence}"


# What each labelled part of a Think answer should hold. Small models copy a template's
# wording into their answer; angle brackets make a copied description easy to spot, and
# validation strips or rejects any line that repeats one of these (dream/validation).
THINK_PLACEHOLDERS: Mapping[str, str] = {
    "TITLE": "<the improvement, in at most 12 words>",
    "INSIGHT": "<what is wrong or could be better and why, naming the exact functions and "
    "variables from the code>",
    "PLAN": "<the numbered steps of the change>",
}


def think_task(focus: FocusArea) -> str:
    parts = "\n".join(f"{label}: {text}" for label, text in THINK_PLACEHOLDERS.items())
    return (
        f"Task: {focus.task}\n"
        "Answer with these three labelled parts, replacing each description in angle "
        "brackets with your own words about this code:\n"
        f"{parts}"
    )
