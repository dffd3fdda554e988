"""Does a code fragment parse in a language? Partial snippets are tried in place.

Code in a model's answer is rarely a whole file: a method, a few statements, struct fields,
match arms. So a fragment is parsed as it is and, if that fails, inside each of the small
wrappers that make such a part whole in its language (a class body, a function body, a
struct, ...); it parses if one of them has no ERROR and no MISSING node. Python is
compiled (never run), which also catches what the grammar accepts and the language does
not; as a function body, so `return` and `await` may stand in a fragment.

Elision is fair, nothing else is: a line that is only `...` stands for code left out (it
becomes a comment), and a fragment that says it leaves code out (`...`, `// ...`,
`# rest unchanged`) may leave its blocks open, so missing closing brackets (or `end`) do
not fail it. Any other ERROR or MISSING node does: `int x = 1` is not Java.

`guess_language` names the language a fragment parses in when it does not parse in the
one expected, so a Python block in a Go seed is reported as Python, not as "broken Go".
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from codedreamer.index.languages import spec_named
from codedreamer.safe_text import safe_line
from codedreamer.verify.parse_check import TIMEOUT, Problem, compile_python, tree_problems

OK, FAILS, NOT_CHECKED = "ok", "fails", "not checked"


@dataclass(frozen=True)
class Wrapper:
    """Text around a fragment that makes it a whole file, if the fragment is that kind of part."""

    label: str
    before: str
    after: str

    def wrap(self, code: str) -> str:
        return f"{self.before}{code}{self.after}"

    @property
    def line_offset(self) -> int:
        return self.before.count("\n")


def _w(label: str, before: str, after: str) -> Wrapper:
    return Wrapper(label, before, after)


_AS_IS = _w("as written", "", "\n")
_C_FAMILY_CLASS = _w("as class members", "class DreamFragment {\n", "\n}\n")
# Tried in order after the fragment as written; the first that parses cleanly wins.
WRAPPERS: dict[str, tuple[Wrapper, ...]] = {
    "javascript": (
        _C_FAMILY_CLASS,
        _w("as object members", "const dreamFragment = {\n", "\n};\n"),
        _w("as a function body", "async function* dreamFragment() {\n", "\n}\n"),
    ),
    "typescript": (
        _C_FAMILY_CLASS,
        _w("as interface members", "interface DreamFragment {\n", "\n}\n"),
        _w("as object members", "const dreamFragment = {\n", "\n};\n"),
        _w("as a function body", "async function* dreamFragment() {\n", "\n}\n"),
    ),
    "go": (
        _w("as a file", "package dream\n", "\n"),
        _w("as a function body", "package dream\nfunc dreamFragment() {\n", "\n}\n"),
        _w("as struct fields", "package dream\ntype dreamFragment struct {\n", "\n}\n"),
        _w("as interface methods", "package dream\ntype dreamFragment interface {\n", "\n}\n"),
    ),
    "rust": (
        _w("as a function body", "fn dream_fragment() {\n", "\n}\n"),
        _w("as impl members", "impl DreamFragment {\n", "\n}\n"),
        _w("as struct fields", "struct DreamFragment {\n", "\n}\n"),
        _w("as enum variants", "enum DreamFragment {\n", "\n}\n"),
        _w("as match arms", "fn dream_fragment() {\nmatch dream {\n", "\n}\n}\n"),
    ),
    "java": (
        _C_FAMILY_CLASS,
        _w("as a method body", "class DreamFragment {\nvoid dreamFragment() {\n", "\n}\n}\n"),
    ),
    "c": (
        _w("as a function body", "void dream_fragment(void) {\n", "\n}\n"),
        _w("as struct fields", "struct dream_fragment {\n", "\n};\n"),
    ),
    "cpp": (
        _w("as a function body", "void dream_fragment() {\n", "\n}\n"),
        _w("as class members", "class DreamFragment {\n", "\n};\n"),
    ),
    "csharp": (
        _C_FAMILY_CLASS,
        _w("as a method body", "class DreamFragment {\nvoid Fragment() {\n", "\n}\n}\n"),
    ),
    "kotlin": (
        _C_FAMILY_CLASS,
        _w("as a function body", "fun dreamFragment() {\n", "\n}\n"),
    ),
    "php": (
        _w("as a file", "<?php\n", "\n"),
        _w("as class members", "<?php\nclass DreamFragment {\n", "\n}\n"),
        _w("as a function body", "<?php\nfunction dream_fragment() {\n", "\n}\n"),
    ),
    "ruby": (
        _w("as class members", "class DreamFragment\n", "\nend\n"),
        _w("as a method body", "def dream_fragment\n", "\nend\n"),
    ),
    "bash": (_w("as a function body", "dream_fragment() {\n", "\n}\n"),),
}
WRAPPERS["tsx"] = WRAPPERS["typescript"]

_HASH_COMMENTS = frozenset({"python", "ruby", "bash"})
_ELLIPSIS_LINE = re.compile(r"^(\s*)(?:\.\.\.|…)\s*$")
_ELISION_COMMENT = re.compile(
    r"^\s*(?://+|#+|/\*+|--)\s*(?:(?:\.\.\.|…)|.*\b(?:rest of|rest unchanged|unchanged|"
    r"omitted|existing code|same as before|more code|and so on)\b)",
    re.IGNORECASE,
)
_CLOSERS = frozenset({"}", ")", "]", "end", "fi", "done", "esac"})
"""MISSING tokens an elided tail may leave out."""

GUESS_ORDER = (
    "python",
    "javascript",
    "typescript",
    "go",
    "rust",
    "java",
    "c",
    "cpp",
    "csharp",
    "php",
)
"""Languages `guess_language` tries, in order. Not bash, Ruby or Kotlin: their grammars take
plain words as code ("See the docs for details" parses in Kotlin, "foo bar baz" in Ruby),
so "parses as Ruby" would say nothing about a fragment."""


@dataclass(frozen=True)
class FragmentParse:
    status: str
    """ok, fails or not checked."""
    language: str
    detail: str = ""
    """How it parsed ("as class members"), or the first problem ("line 2: syntax error")."""

    @property
    def ok(self) -> bool:
        return self.status != FAILS

    def summary(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status


def elides(code: str) -> bool:
    """Whether the fragment says it leaves code out (`...`, `// ...`, `# rest unchanged`)."""
    return any(
        _ELLIPSIS_LINE.match(line) or _ELISION_COMMENT.match(line) for line in code.split("\n")
    )


def _mark_elisions(code: str, language: str) -> str:
    """Bare `...` lines become comments; in Python, elision comments become `...`, so a
    block whose body was left out still has a statement."""
    out: list[str] = []
    for line in code.split("\n"):
        ellipsis = _ELLIPSIS_LINE.match(line)
        if language == "python":
            if ellipsis or _ELISION_COMMENT.match(line):
                line = line[: len(line) - len(line.lstrip())] + "..."
        elif ellipsis:
            marker = "#" if language in _HASH_COMMENTS else "//"
            line = f"{ellipsis.group(1)}{marker} ..."
        out.append(line)
    return "\n".join(out)


def _only_open_blocks(problems: Sequence[Problem]) -> bool:
    return bool(problems) and all(p.missing in _CLOSERS for p in problems)


def _python(code: str) -> FragmentParse:
    text = _mark_elisions(textwrap.dedent(code).strip("\n"), "python")
    error = compile_python(text, "<fragment>")
    if error is None:
        return FragmentParse(OK, "python", "as written")
    body = textwrap.indent(text, "    ", lambda line: True)
    for head in ("def _dream_fragment():\n", "async def _dream_fragment():\n"):
        if compile_python(head + body, "<fragment>") is None:
            return FragmentParse(OK, "python", "as a function body")
    return FragmentParse(FAILS, "python", error)


def check_fragment(code: str, language: str) -> FragmentParse:
    """Whether `code` parses in `language` (our language id), as written or in a wrapper."""
    spec = spec_named(language)
    if spec is None:
        detail = f"no parser for {safe_line(language) or 'an unknown language'}"
        return FragmentParse(NOT_CHECKED, language, detail)
    if spec.name == "python":
        return _python(code)
    text = _mark_elisions(textwrap.dedent(code).strip("\n"), spec.name)
    tolerant = elides(code)
    last_line = text.count("\n") + 1
    furthest: tuple[int, str] = (-1, "")
    attempts = WRAPPERS.get(spec.name, ())
    if spec.name not in ("go", "php"):  # a Go or PHP file needs its header
        attempts = (_AS_IS, *attempts)
    for wrapper in attempts:
        problems = tree_problems(spec, wrapper.wrap(text))
        if problems is None:
            return FragmentParse(FAILS, spec.name, TIMEOUT)
        if not problems:
            return FragmentParse(OK, spec.name, wrapper.label)
        if tolerant and _only_open_blocks(problems):
            return FragmentParse(OK, spec.name, f"{wrapper.label}, with elided code")
        # The wrapper that read furthest into the fragment before its first problem is the
        # likeliest reading of it, and its problem the one to show.
        line = problems[0].line - wrapper.line_offset
        if line > furthest[0]:
            # A block left open is missing its end after the fragment: say its last line.
            furthest = (line, problems[0].describe(wrapper.line_offset, last_line))
    return FragmentParse(FAILS, spec.name, furthest[1])


def guess_language(
    code: str, candidates: Sequence[str] = GUESS_ORDER, *, exclude: Sequence[str] = ()
) -> str | None:
    """The first candidate language the fragment parses in, None if it parses in none."""
    for language in candidates:
        if language in exclude:
            continue
        if check_fragment(code, language).status == OK:
            return language
    return None
