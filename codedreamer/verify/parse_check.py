"""Does a changed file still parse? tree-sitter finds no ERROR/MISSING node; Python compiles.

tree-sitter recovers from syntax errors by inserting ERROR nodes (unexpected text) and
zero-width MISSING nodes (an expected token that is not there); either means the file no
longer parses. Python is compiled instead (never run): `compile` is the language's own
judge and catches what a grammar accepts but the language does not (`return` outside a
function, bad assignments), and it knows the running interpreter's newer syntax.
Fragments of code (a method, a few statements) are checked by `verify/fragment.py`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from codedreamer.index.languages import LanguageSpec, language_for, spec_named
from codedreamer.index.parser import ParseTimeout, parse
from codedreamer.safe_text import safe_line

OK = "ok"
TIMEOUT = "tree-sitter gave up (the parse took too long)"


@dataclass(frozen=True)
class Problem:
    """One place where tree-sitter could not make sense of the text."""

    missing: str
    """The token tree-sitter had to invent (a MISSING node), "" for unexpected text."""
    line: int
    """1-based, in the parsed text."""

    def describe(self, line_offset: int = 0, last_line: int | None = None) -> str:
        """Say where, counting lines after `line_offset` and at most `last_line`."""
        line = max(1, self.line - line_offset)
        if last_line is not None:
            line = min(line, last_line)
        if self.missing:
            return f"line {line}: missing {safe_line(self.missing)!r}"
        return f"line {line}: syntax error"


def syntax_problems(root: Any, limit: int = 50) -> list[Problem]:
    """ERROR and MISSING nodes in document order (at most `limit`)."""
    if not root.has_error:
        return []
    found: list[Problem] = []
    stack = [root]
    while stack and len(found) < limit:
        node = stack.pop()
        line = node.start_point[0] + 1
        if node.is_missing:
            found.append(Problem(str(node.type), line))
        elif node.type == "ERROR":
            found.append(Problem("", line))
            continue  # what an ERROR node holds is the unexpected text itself
        # Only subtrees that contain an error are worth walking into.
        stack.extend(
            child for child in reversed(node.children) if child.has_error or child.is_missing
        )
    # has_error without a node to show is still an error.
    return found or [Problem("", root.start_point[0] + 1)]


def compile_python(text: str, name: str = "<code>") -> str | None:
    """The compiler's complaint about `text` as a module ("line N: msg"), None if it compiles."""
    try:
        with warnings.catch_warnings():
            # SyntaxWarnings (odd escapes) are not parse failures; keep them off stderr.
            warnings.simplefilter("ignore")
            compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {safe_line(str(exc.msg))}"
    except ValueError as exc:  # NUL bytes in the source
        return safe_line(str(exc))
    except (RecursionError, MemoryError):
        return "nested too deeply to compile"
    return None


def tree_problems(spec: LanguageSpec, text: str) -> list[Problem] | None:
    """tree-sitter's problems with `text`; None when tree-sitter gave up."""
    try:
        root = parse(spec, text.encode("utf-8", "surrogateescape"))
    except ParseTimeout:
        return None
    return syntax_problems(root)


def check_source(text: str, language: str, name: str = "<code>") -> str:
    """ "ok", "fails: line N: ..." or "not checked: ..." for a whole file in `language`."""
    spec = spec_named(language)
    if spec is None:
        return f"not checked: no parser for {safe_line(language) or 'this language'}"
    if spec.name == "python":
        error = compile_python(text, name)
        return f"fails: {error}" if error else OK
    problems = tree_problems(spec, text)
    if problems is None:
        return f"fails: {TIMEOUT}"
    return f"fails: {problems[0].describe()}" if problems else OK


def check_change(before: str, after: str, language: str, name: str = "<code>") -> str:
    """`check_source` of `after`, fair to a file that did not parse before the change either
    (a grammar older than the code it reads): then the change fails only if it adds
    problems. Python, judged by its compiler, cannot be compared: "not checked"."""
    result = check_source(after, language, name)
    if not result.startswith("fails") or check_source(before, language, name) == OK:
        return result
    spec = spec_named(language)
    assert spec is not None  # check_source failed, so the language has a parser
    if spec.name == "python":
        return f"not checked: it did not compile before the change either ({result[7:]})"
    old, new = tree_problems(spec, before), tree_problems(spec, after)
    if old is None or new is None or len(new) > len(old):
        return result
    return f"ok: no new syntax problems ({len(old)} before the change)"


def check_parses(path: str, text: str) -> str:
    """ "ok", "fails: line N: ..." or "not checked: ..." for the file `path` holding `text`."""
    spec = language_for(path)
    if spec is None:
        return "not checked: no parser for this file type"
    return check_source(text, spec.name, path)


def check_file_change(path: str, before: str, after: str) -> str:
    """`check_parses` for a file a patch changed, fair to one that did not parse before it."""
    spec = language_for(path)
    if spec is None:
        return "not checked: no parser for this file type"
    return check_change(before, after, spec.name, path)
