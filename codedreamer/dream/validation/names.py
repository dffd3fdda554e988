"""Invented names: every name the answer presents as existing code must exist.

A name is presented as existing when the prose puts it in backticks or calls it (`x(`), or
when the answer's code blocks call it (`x(...)`, `self.x(...)`), unless the answer proposes
it ("add a `safe_decode` helper", "create `check_qty()`") or its own code block defines it
(`def safe_decode`, `const x =`, parameters, imports). A name exists when it is in the seed,
in the index, a builtin or keyword of an indexed language, or a standard-library module
(or rooted at one: `os.path.join`).

Limits: calls on library objects (`conn.execute`) are not checked, since only the index's
names are known, not the libraries'; an import the model invents (`from utils import x`)
makes `x` count as defined.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from codedreamer.dream.validation.answer import CodeBlock
from codedreamer.dream.validation.vocabulary import (
    ALWAYS_KNOWN,
    IDENTIFIER,
    NODE_MODULES,
    STDLIB_MODULES,
    all_identifiers,
    defined_names,
    strip_comments_and_strings,
    word_set,
)

_SELF = frozenset({"self", "cls", "this"})
_BACKTICKED = re.compile(r"`([^`\n]{1,120})`")
_DOTTED = r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*"
_SIMPLE_SPAN = re.compile(rf"^({_DOTTED})\s*(\(.*\))?;?$")
# `x(` in prose; "function(s)" and "method(es)" are English plurals, not calls.
_PROSE_CALL = re.compile(rf"(?<![\w$.`])({_DOTTED})\((?!s\)|es\))")
_CODE_CALL = re.compile(rf"(?<![\w$])({_DOTTED})\s*\(")
_NOT_CALLS = word_set(
    "if elif while for switch catch return function def class new await yield not and or in "
    "print assert del with except raise lambda typeof sizeof"
)
_PROPOSAL = re.compile(
    r"\b(?:add|adding|added|create|creating|introduce|introducing|define|defining|extract"
    r"|extracting|implement|implementing|write|writing|new|named|called|rename\w*\s.*\bto"
    r"|into|such as|e\.g\.|like)\b[^.;:!?]{0,40}$",
    re.IGNORECASE,
)
_DEFINES = re.compile(
    r"\b(?:def|class|function|func|fn|const|let|var|struct|interface|enum|type)\s+"
    r"\*?\s*([A-Za-z_$][\w$]*)"
)
_ASSIGNS = re.compile(r"(?<![\w$.])([A-Za-z_$][\w$]*)\s*(?::[^=\n]+)?=(?![=>])")
_IMPORTS = re.compile(
    r"^\s*(?:from\s+[\w.]+\s+)?import\s+([^\n;]+)|\brequire\(\s*['\"]([^'\"]+)", re.MULTILINE
)
_PARAMS = re.compile(r"(?:def|function|fn|func)\s*[\w$]*\s*\(([^)]*)\)|\(([^()]*)\)\s*=>")


@dataclass(frozen=True)
class NameCheck:
    presented: tuple[str, ...]
    """Names presented as existing, in order of first appearance."""
    invented: tuple[str, ...]
    """Those of them that exist nowhere we can see."""
    proposed: tuple[str, ...]
    """Names the answer proposes to add (exempt), that do not exist yet."""


# A backticked file name (`db.py`) is a file, not a dotted name.
_FILE_SUFFIXES = word_set(
    "py pyi js mjs cjs jsx ts tsx go rs java kt c h cc cpp hpp cs rb php sh md rst txt json "
    "yaml yml toml ini cfg html css sql lock log csv xml"
)


def _parts_to_check(dotted: str, owners: Collection[str] = ()) -> list[str]:
    """The parts of a dotted name whose existence can be judged.

    The root, unless it is a library (a standard module, a builtin such as `dict` or
    `console`). The last part only when the root is `self`/`this`/`cls` or a class or
    module in `owners`: on any other object it may be a library's attribute
    (`container.textContent`, `cursor.fetchone`), which the index cannot know.
    """
    parts = [p for p in dotted.split(".") if p]
    if not parts or len(parts[0]) == 1:
        return []  # `O(n^2)`, `f(x)`: notation, not names
    root = parts[0]
    if len(parts) > 1 and parts[-1] in _FILE_SUFFIXES:
        return []
    if root in STDLIB_MODULES or root in NODE_MODULES or root in ALWAYS_KNOWN - _SELF:
        return []
    checked = [] if root in _SELF else [root]
    if len(parts) > 1 and (root in _SELF or root in owners):
        checked.append(parts[-1])
    return checked


def _proposed_in(prose: str, start: int) -> bool:
    """Whether the words just before position `start` propose a new name."""
    sentence_start = max(prose.rfind(mark, 0, start) for mark in (".\n", ". ", "\n\n", "; "))
    before = prose[max(sentence_start + 1, start - 60) : start]
    return _PROPOSAL.search(before) is not None


def block_definitions(code: str) -> set[str]:
    """Names a code block defines: functions, classes, variables, parameters, imports."""
    defined: set[str] = set()
    try:
        tree = ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
            elif isinstance(node, ast.alias):
                defined.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                defined.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                defined.add(node.attr)
    plain = strip_comments_and_strings(code)
    defined.update(_DEFINES.findall(plain))
    defined.update(_ASSIGNS.findall(plain))
    for imported, required in _IMPORTS.findall(code):
        defined.update(IDENTIFIER.findall(imported or required))
    for params, arrow in _PARAMS.findall(plain):
        defined.update(IDENTIFIER.findall(params or arrow))
    return defined


def presented_names(
    prose: str, blocks: Iterable[CodeBlock], owners: Collection[str] = ()
) -> tuple[list[str], set[str], set[str]]:
    """Names presented as existing; names the prose proposes; names the code blocks define."""
    presented: list[str] = []
    proposed: set[str] = set()
    block_defined: set[str] = set()

    def note(dotted: str, is_proposal: bool) -> None:
        for name in _parts_to_check(dotted, owners):
            if is_proposal:
                proposed.add(name)
            elif name not in presented:
                presented.append(name)

    for match in _BACKTICKED.finditer(prose):
        span = match.group(1).strip()
        simple = _SIMPLE_SPAN.match(span)
        is_proposal = _proposed_in(prose, match.start())
        if simple is not None:
            note(simple.group(1), is_proposal)
            continue
        # An expression (`q <= 0`, `len(self.items)`): the functions it calls must exist.
        for call in _CODE_CALL.findall(strip_comments_and_strings(span)):
            if call.split(".")[0] not in _NOT_CALLS:
                note(call, is_proposal)
    outside_ticks = _BACKTICKED.sub(lambda m: " " * len(m.group(0)), prose)
    for match in _PROSE_CALL.finditer(outside_ticks):
        note(match.group(1), _proposed_in(prose, match.start()))

    for block in blocks:
        defined = block_definitions(block.code)
        block_defined.update(defined)
        for call in _CODE_CALL.findall(strip_comments_and_strings(block.code)):
            parts = call.split(".")
            if parts[0] in _NOT_CALLS or parts[-1] in defined:
                continue
            if len(parts) > 1 and parts[0] not in ("self", "cls", "this"):
                # A method of some object (`conn.execute`): the library's, not checked.
                continue
            note(call, False)
    return presented, proposed, block_defined


def check_names(
    prose: str,
    blocks: Iterable[CodeBlock],
    seed_code: str,
    exists: Callable[[str], bool] | None = None,
) -> NameCheck:
    """Names presented as existing, and which of them exist nowhere (seed, index, language)."""
    seed_names = all_identifiers(seed_code)

    def known(name: str) -> bool:
        return (
            name in ALWAYS_KNOWN
            or name in seed_names
            or name in STDLIB_MODULES
            or name in NODE_MODULES
            or (exists is not None and exists(name))
        )

    presented, proposed, block_defined = presented_names(prose, blocks, defined_names(seed_code))
    invented = tuple(
        name
        for name in presented
        if name not in proposed and name not in block_defined and not known(name)
    )
    new = tuple(sorted(name for name in proposed if not known(name)))
    return NameCheck(tuple(presented), invented, new)
