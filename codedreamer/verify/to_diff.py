"""A dream whose code is a whole function (or class) becomes a diff against the real file.

The function is found by name: first through the code index (the symbol's chunks give its
path and line range), then, when the index has no entry or its lines no longer hold that
name (the file changed since it was indexed), by parsing the file itself with tree-sitter.
The located lines are replaced by the dream's code, re-indented to where the definition
sits. Decorators the dream leaves out are kept; decorators it writes replace the file's.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from codedreamer.dream.patch import PatchError
from codedreamer.index.languages import LanguageSpec, language_for
from codedreamer.index.parser import ParseTimeout, parse
from codedreamer.verify.apply import FilePatch, patch_from_text

Lookup = Callable[[str], Sequence[tuple[str, int, int]]]
"""symbol name -> (codebase-relative path, first line, last line) of each definition."""


@dataclass(frozen=True)
class Located:
    name: str
    start_line: int
    """1-based line of the definition itself (after any decorators)."""
    end_line: int
    how: str
    """"index" or "parse": where the line range came from."""


def _name_of(node: Any) -> str | None:
    named = node.child_by_field_name("name")
    if named is not None:
        return bytes(named.text).decode("utf-8", "replace")
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:  # C and C++: int *name(args)
        inner = declarator.child_by_field_name("declarator")
        if inner is None:
            return bytes(declarator.text).decode("utf-8", "replace")
        declarator = inner
    return None


def _definitions(spec: LanguageSpec, source: str, *, top_only: bool) -> list[tuple[str, int, int]]:
    """(name, first line, last line) of definitions in `source`, 1-based."""
    try:
        root = parse(spec, source.encode("utf-8", "surrogateescape"))
    except ParseTimeout:
        return []
    found: list[tuple[str, int, int]] = []
    stack: list[Any] = list(reversed(root.children))
    while stack:
        node = stack.pop()
        if node.type in spec.wrappers or node.type in spec.scopes:
            stack.extend(reversed(node.children))
            continue
        if node.type in spec.definitions:
            name = _name_of(node)
            if name:
                found.append((name, node.start_point[0] + 1, node.end_point[0] + 1))
            if top_only:
                continue
        if not top_only:
            stack.extend(reversed(node.children))
    return found


def defined_name(code: str, language_path: str) -> str:
    """The one function or class the code defines; PatchError otherwise."""
    spec = language_for(language_path)
    if spec is None:
        raise PatchError("no parser for this file type, so a whole function cannot be placed")
    top = _definitions(spec, textwrap.dedent(code), top_only=True)
    if not top:
        raise PatchError("the code is not a whole function or class, so there is no diff")
    if len({name for name, _, _ in top}) > 1:
        names = ", ".join(sorted({name for name, _, _ in top}))
        raise PatchError(f"the code defines several things ({names}); only one can be placed")
    return top[0][0]


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")


def _definition_line(lines: Sequence[str], start: int, end: int, name: str) -> int | None:
    """The first line in [start, end] (1-based) that names `name`: the `def` line."""
    pattern = _word(name)
    for number in range(max(1, start), min(end, len(lines)) + 1):
        if pattern.search(lines[number - 1]):
            return number
    return None


def locate(
    path: str,
    index_path: str,
    text: str,
    name: str,
    *,
    symbols: Sequence[str],
    hint_line: int,
    lookup: Lookup | None,
) -> Located:
    """Where `name` is defined in `text` (the file `path`); PatchError if nowhere."""
    lines = text.split("\n")
    wanted = [s for s in symbols if s.split(".")[-1] == name] + [name]
    candidates: list[Located] = []
    if lookup is not None:
        for symbol in dict.fromkeys(wanted):
            for found_path, start, end in lookup(symbol):
                if found_path != index_path:
                    continue
                line = _definition_line(lines, start, min(end, start + 20), name)
                if line is not None and end >= line:
                    candidates.append(Located(symbol, line, end, "index"))
    if not candidates:
        spec = language_for(path)
        assert spec is not None  # defined_name checked the language
        for found, start, end in _definitions(spec, text, top_only=False):
            if found == name:
                line = _definition_line(lines, start, end, name) or start
                candidates.append(Located(name, line, end, "parse"))
    if not candidates:
        raise PatchError(f"{name} is not defined in {path}")
    return min(candidates, key=lambda c: (abs(c.start_line - hint_line), c.start_line))


def _decorators_above(lines: Sequence[str], line: int) -> int:
    """The first line of the decorators directly above `line` (1-based); `line` if none."""
    first = line
    while first > 1 and lines[first - 2].lstrip().startswith("@"):
        first -= 1
    return first


def replace_definition(text: str, where: Located, code: str) -> str:
    """`text` with the definition at `where` replaced by `code`, indented to fit."""
    lines = text.split("\n")
    body = textwrap.dedent(code).strip("\n").split("\n")
    own_line = _definition_line(body, 1, len(body), where.name.split(".")[-1]) or 1
    writes_decorators = any(line.lstrip().startswith("@") for line in body[: own_line - 1])
    start = _decorators_above(lines, where.start_line) if writes_decorators else where.start_line
    definition = lines[where.start_line - 1]
    indent = definition[: len(definition) - len(definition.lstrip())]
    placed = [indent + line if line.strip() else "" for line in body]
    lines[start - 1 : where.end_line] = placed
    return "\n".join(lines)


def function_patch(
    path: str,
    index_path: str,
    before: str,
    code: str,
    *,
    symbols: Sequence[str],
    hint_line: int,
    lookup: Lookup | None,
) -> tuple[FilePatch, Located]:
    """The diff that puts the dream's whole-function `code` in place of the file's one."""
    name = defined_name(code, path)
    where = locate(
        path, index_path, before, name, symbols=symbols, hint_line=hint_line, lookup=lookup
    )
    return patch_from_text(path, before, replace_definition(before, where, code)), where


def index_lookup(settings: Any) -> Lookup:
    """Definitions from the code index in `settings.index_dir`, opened on first use.

    No index (never built, unreadable) gives no definitions: `locate` then parses the file.
    """
    from codedreamer.errors import CodeDreamerError

    opened: list[Any] = []

    def store() -> Any:
        if not opened:
            found = None
            if settings.index_dir.is_dir():
                try:
                    from codedreamer.index.indexer import open_index

                    found = open_index(settings, read_only=True)
                except CodeDreamerError:
                    found = None
            opened.append(found)
        return opened[0]

    def lookup(symbol: str) -> list[tuple[str, int, int]]:
        index = store()
        if index is None:
            return []
        spans: dict[tuple[str, str], tuple[int, int]] = {}
        for chunk in index.definitions(symbol):
            key = (chunk.path, chunk.qualified_name)
            start, end = spans.get(key, (chunk.start_line, chunk.end_line))
            spans[key] = (min(start, chunk.start_line), max(end, chunk.end_line))
        return [(path, start, end) for (path, _), (start, end) in spans.items()]

    return lookup
