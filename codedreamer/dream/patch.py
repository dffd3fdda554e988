"""Check a model's unified diff against the real file, in memory: never touching the checkout.

`apply_diff` applies the hunks to the current text the way `patch` does with no fuzz:
every context and removed line must match exactly, a hunk may sit at another line than
its header says (models miscount), and hunks apply in order. Anything else is a
`PatchError` whose message says which hunk failed and why, to be stored in the dream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """The diff is malformed or does not apply to the current file."""


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old: list[str]
    new: list[str]


@dataclass(frozen=True)
class Patch:
    old_path: str
    new_path: str
    hunks: list[Hunk]


def _path(header: str) -> str:
    name = header[4:].split("\t", 1)[0].strip()
    return name[2:] if name.startswith(("a/", "b/")) else name


def parse_diff(diff: str) -> Patch:
    """The hunks of a single-file unified diff. Headers are optional; hunks are not."""
    lines = diff.split("\n")
    old_path = new_path = ""
    hunks: list[Hunk] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and not hunks:
            old_path = _path(line)
        elif line.startswith("+++ ") and not hunks:
            new_path = _path(line)
        elif line.startswith("@@"):
            match = _HUNK.match(line)
            # Models often write a bare "@@" header: place the hunk by its context alone.
            start = int(match.group(1)) if match else 0
            old: list[str] = []
            new: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("@@"):
                body = lines[i]
                if (
                    body.startswith("--- ")
                    and i + 1 < len(lines)
                    and lines[i + 1].startswith("+++")
                ):
                    break
                if body.startswith("\\"):
                    pass  # "\ No newline at end of file"
                elif body.startswith("-"):
                    old.append(body[1:])
                elif body.startswith("+"):
                    new.append(body[1:])
                elif body.startswith(" ") or body == "":
                    old.append(body[1:])
                    new.append(body[1:])
                else:
                    raise PatchError(f"hunk {len(hunks) + 1}: line {body[:40]!r} is not diff text")
                i += 1
            # Trailing blank lines of a model's answer are not context.
            while old and new and old[-1] == "" and new[-1] == "":
                old.pop()
                new.pop()
            hunks.append(Hunk(start, old, new))
            continue
        i += 1
    if not hunks:
        raise PatchError("no hunks (no @@ lines)")
    return Patch(old_path, new_path, hunks)


def apply_diff(original: str, diff: str) -> str:
    """The file text after applying `diff`; PatchError if any hunk does not match."""
    patch = parse_diff(diff)
    lines = original.split("\n")
    position = 0
    for number, hunk in enumerate(patch.hunks, start=1):
        if not hunk.old:
            raise PatchError(f"hunk {number}: no context or removed lines to anchor it")
        if hunk.old == hunk.new:
            raise PatchError(f"hunk {number}: changes nothing")
        at = _find(lines, hunk.old, max(0, hunk.old_start - 1), position)
        if at is None:
            raise PatchError(
                f"hunk {number}: its context and removed lines are not in the file "
                f"(first: {hunk.old[0].strip()[:60]!r})"
            )
        lines[at : at + len(hunk.old)] = hunk.new
        position = at + len(hunk.new)
    return "\n".join(lines)


def _find(lines: list[str], block: list[str], hint: int, not_before: int) -> int | None:
    """Where `block` occurs in `lines` at or after `not_before`, nearest to `hint` first."""
    size = len(block)
    candidates = range(not_before, len(lines) - size + 1)
    for at in sorted(candidates, key=lambda start: abs(start - hint)):
        if lines[at : at + size] == block:
            return at
    return None


def fragment_location(original: str, fragment: str) -> int | None:
    """1-based line where `fragment` (ignoring trailing whitespace) starts in `original`."""
    wanted = [line.rstrip() for line in fragment.strip("\n").split("\n")]
    if not wanted or not any(wanted):
        return None
    lines = [line.rstrip() for line in original.split("\n")]
    at = _find(lines, wanted, 0, 0)
    return None if at is None else at + 1
