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


CODE_SYSTEM = (
    "You are a careful programmer. You turn a reviewer's finding into the smallest correct "
    "change to the code you were shown, as a unified diff against the real file."
)
CRITIC_SYSTEM = (
    "You are a strict code reviewer. You judge a proposed change against the original code: "
    "is it correct, does it fix the finding, does it break anything?"
)
REFLECT_SYSTEM = (
    "You triage code review findings. You judge how much a finding matters to the people "
    "who maintain the code."
)

# Drill levels: what a dream at each depth is asked for (SPEC §5 step 12).
DRILL_TASKS: Mapping[int, str] = {
    0: "",
    1: "Go one level deeper (Framework): describe how the code should be structured to make "
    "this improvement, which parts change and how they connect.",
    2: "Go one level deeper (Implementation): give the exact signatures, types and error "
    "handling of the change.",
    3: "Go one level deeper (Code): describe the production-ready change line by line.",
}


def drill_task(level: int, parent_title: str, parent_insight: str) -> str:
    """The extra instruction of a drill continuation: the parent's finding and the depth."""
    if level <= 0:
        return ""
    earlier = " ".join(parent_insight.split())[:400]
    return (
        f"An earlier review of this code found: {parent_title}\n{earlier}\n"
        f"{DRILL_TASKS.get(level, DRILL_TASKS[3])}"
    )


def code_task(path: str, title: str, insight: str, plan: str) -> str:
    finding = f"Finding: {title}\n{insight}" + (f"\nPlan:\n{plan}" if plan else "")
    return (
        f"{finding}\n\n"
        f"Write the change as a unified diff against {path}. Copy the unchanged context "
        "lines exactly from the code, mark removed lines with - and added lines with +:\n"
        f"```diff\n--- a/{path}\n+++ b/{path}\n@@\n context line\n-old line\n+new line\n```\n"
        "Answer with the diff only."
    )


def critic_task(title: str, insight: str, change: str, checks: str) -> str:
    return (
        f"Finding: {title}\n{insight}\n\nProposed change:\n{change}\n"
        + (f"Automatic checks: {checks}\n" if checks else "")
        + "\nRate the proposed change. severity is NONE (correct), MINOR (small flaw), "
        "MODERATE (needs rework) or MAJOR (wrong or harmful). Answer as JSON: "
        '{"severity": "...", "issues": "one or two sentences"}'
    )


CRITIC_SCHEMA: Mapping[str, object] = {
    "type": "object",
    "properties": {
        "severity": {"type": "string", "enum": ["NONE", "MINOR", "MODERATE", "MAJOR"]},
        "issues": {"type": "string"},
    },
    "required": ["severity", "issues"],
}


def refine_task(path: str, title: str, insight: str, change: str, critique: str) -> str:
    return (
        f"Finding: {title}\n{insight}\n\nA first change was reviewed:\n{change}\n"
        f"Review: {critique}\n\n"
        f"Write a corrected unified diff against {path} that answers the review. Copy "
        "unchanged context lines exactly from the code. Answer with the diff only, in a "
        "```diff block."
    )


def reflect_task(title: str, insight: str, category: str, where: str) -> str:
    return (
        f"Finding ({category}) about {where}: {title}\n{' '.join(insight.split())[:600]}\n\n"
        "How urgent is it? priority is CRITICAL (security hole, data loss, crash in normal "
        "use), HIGH (real bug or large cost), MEDIUM (worth doing) or LOW (cosmetic). "
        'Answer as JSON: {"priority": "...", "reason": "one short sentence"}'
    )


REFLECT_SCHEMA: Mapping[str, object] = {
    "type": "object",
    "properties": {
        "priority": {"type": "string", "enum": ["CRITICAL", "HIGH", "MEDIUM", "LOW"]},
        "reason": {"type": "string"},
    },
    "required": ["priority", "reason"],
}
