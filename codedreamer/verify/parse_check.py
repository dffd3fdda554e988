"""Does a changed file still parse? tree-sitter finds no ERROR/MISSING node; Python compiles.

tree-sitter recovers from syntax errors by inserting ERROR nodes (unexpected text) and
zero-width MISSING nodes (an expected token that is not there); either means the file no
longer parses. Python is also compiled (never run): `compile` catches what the grammar
accepts but the language does not (`return` outside a function, bad assignments).
"""

from __future__ import annotations

import warnings
from typing import Any

from codedreamer.index.languages import language_for
from codedreamer.index.parser import ParseTimeout, parse
from codedreamer.safe_text import safe_line

OK = "ok"


def _first_problem(root: Any) -> str | None:
    """`line N: ...` for the first ERROR or MISSING node in document order, else None."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        line = node.start_point[0] + 1
        if node.is_missing:
            return f"line {line}: missing {safe_line(node.type)!r}"
        if node.type == "ERROR":
            return f"line {line}: syntax error"
        # Only subtrees that contain an error are worth walking into.
        stack.extend(child for child in reversed(node.children) if child.has_error)
    return "syntax error"  # has_error without a node to show: still an error


def check_parses(path: str, text: str) -> str:
    """ "ok", "fails: line N: ..." or "not checked: ..." for the file `path` holding `text`."""
    spec = language_for(path)
    if spec is None:
        return "not checked: no parser for this file type"
    if spec.name == "python":
        try:
            with warnings.catch_warnings():
                # SyntaxWarnings (odd escapes) are not parse failures; keep them off stderr.
                warnings.simplefilter("ignore")
                compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"fails: line {exc.lineno}: {safe_line(str(exc.msg))}"
        except ValueError as exc:  # NUL bytes in the source
            return f"fails: {safe_line(str(exc))}"
    try:
        root = parse(spec, text.encode("utf-8", "surrogateescape"))
    except ParseTimeout:
        return "fails: tree-sitter gave up (the parse took too long)"
    problem = _first_problem(root)
    return f"fails: {problem}" if problem else OK
