"""Cited files and lines exist: `db.py`, "lines 40-52" must point at real code.

A file name (a word ending in a code or config extension, with or without a directory) must
be an indexed file: its full relative path, or the last part of one. A cited line must lie
in the seed: either in its real line range, or within the snippet counted from 1, since the
prompt shows the code with its real range in the header but models often count from the
top of the snippet. Lines elsewhere in the file are not checked (the seed is all we show).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from codedreamer.dream.validation.vocabulary import word_set

_CODE_SUFFIXES = word_set(
    "py pyi js mjs cjs jsx ts tsx go rs java kt c h cc cpp hpp cs rb php sh toml yaml yml json"
)
_FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.([A-Za-z]{1,4}))(?![\w/(-])")
_LINES = re.compile(r"\blines?\s+(\d{1,6})(?:\s*(?:-|–|to|and)\s*(\d{1,6}))?", re.IGNORECASE)


@dataclass(frozen=True)
class CitationCheck:
    files: tuple[str, ...]
    bad_files: tuple[str, ...]
    bad_lines: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.bad_files and not self.bad_lines


def check_citations(
    prose: str,
    *,
    seed_path: str = "",
    seed_lines: tuple[int, int] | None = None,
    path_exists: Callable[[str], bool] | None = None,
) -> CitationCheck:
    """Files and line numbers the prose cites that do not exist (unchecked without inputs)."""
    files: list[str] = []
    bad_files: list[str] = []
    for match in _FILE.finditer(prose):
        name, suffix = match.group(1), match.group(2).lower()
        if suffix not in _CODE_SUFFIXES or name in files:
            continue
        files.append(name)
        own = seed_path and (name == seed_path or seed_path.endswith("/" + name))
        if not own and path_exists is not None and not path_exists(name):
            bad_files.append(name)
    bad_lines: list[str] = []
    if seed_lines is not None:
        start, end = seed_lines
        length = end - start + 1
        for match in _LINES.finditer(prose):
            first = int(match.group(1))
            last = int(match.group(2)) if match.group(2) else first
            real = start <= first <= last <= end
            relative = 1 <= first <= last <= length
            if not (real or relative):
                bad_lines.append(match.group(0))
    return CitationCheck(tuple(files), tuple(bad_files), tuple(bad_lines))
