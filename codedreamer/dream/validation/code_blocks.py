"""Code blocks in an answer are in the seed's language and parse.

The language comes from the fence's info string (```js in a Python seed is another
language). A block with no info string, or the seed's language, must parse: Python with
`ast.parse` (after dedenting, so a method body is fine), every other indexed language with
its tree-sitter grammar, where any ERROR or MISSING node fails it. A fragment that is a
class member (a JavaScript method, a Java method) is retried inside a class, a Go fragment
with a package clause. Text-like blocks (diff, output, shell, SQL, JSON, ...) are not code of
the seed and are neither language- nor parse-checked.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from codedreamer.dream.validation.answer import CodeBlock, code_blocks
from codedreamer.dream.validation.vocabulary import word_set

ALIASES = {
    "py": "python",
    "py3": "python",
    "python3": "python",
    "js": "javascript",
    "jsx": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "node": "javascript",
    "nodejs": "javascript",
    "ts": "typescript",
    "golang": "go",
    "rs": "rust",
    "c++": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "h": "c",
    "cs": "csharp",
    "c#": "csharp",
    "rb": "ruby",
    "kt": "kotlin",
    "kts": "kotlin",
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
}
# Not code of any seed: a suggestion may show a diff, a command, a query or output.
NEUTRAL = word_set(
    "text txt plain plaintext diff patch udiff output console log terminal sql json jsonc "
    "yaml yml toml ini cfg env dotenv markdown md bash shell-session http csv xml html"
)
# Languages a block may use in a seed of another: TypeScript seeds take JavaScript, etc.
COMPATIBLE = {
    "typescript": {"javascript", "tsx"},
    "tsx": {"javascript", "typescript"},
    "javascript": {"typescript", "tsx"},
    "cpp": {"c"},
    "c": {"cpp"},
}
_CLASS_WRAPPED = {"javascript", "typescript", "tsx", "java", "csharp", "kotlin", "php"}


@dataclass(frozen=True)
class BlockProblem:
    block: CodeBlock
    reason: str
    """wrong_language or unparseable_code."""
    detail: str


def canonical_language(name: str) -> str:
    name = name.lower().strip()
    return ALIASES.get(name, name)


def parses(code: str, language: str) -> bool:
    """Whether the code parses in the language; True for a language we cannot parse."""
    language = canonical_language(language)
    if language == "python":
        try:
            ast.parse(textwrap.dedent(code))
        except (SyntaxError, ValueError):
            return False
        return True
    from codedreamer.index.languages import spec_named
    from codedreamer.index.parser import parse

    spec = spec_named(language)
    if spec is None:
        return True
    attempts = [code]
    if language in _CLASS_WRAPPED:
        attempts.append(f"class DreamFragment {{\n{code}\n}}")
    if language == "go":
        attempts.append(f"package dream\n{code}")
        attempts.append(f"package dream\nfunc dreamFragment() {{\n{code}\n}}")
    if language == "php" and "<?php" not in code:
        attempts = [f"<?php\n{attempt}" for attempt in attempts]
    for attempt in attempts:
        root = parse(spec, attempt.encode("utf-8"))
        if not bool(getattr(root, "has_error", False)):
            return True
    return False


def block_problems(blocks: Iterable[CodeBlock], language: str) -> list[BlockProblem]:
    """Blocks in another language than `language`, or that do not parse."""
    seed_language = canonical_language(language)
    problems: list[BlockProblem] = []
    for block in blocks:
        if not block.code.strip():
            continue
        info = canonical_language(block.info)
        if info in NEUTRAL:
            continue
        if info and info != seed_language and info not in COMPATIBLE.get(seed_language, ()):
            detail = f"a {info} block in {seed_language} code"
            problems.append(BlockProblem(block, "wrong_language", detail))
            continue
        if not parses(block.code, info or seed_language):
            detail = f"a {info or seed_language} block that does not parse"
            problems.append(BlockProblem(block, "unparseable_code", detail))
    return problems


def strip_bad_blocks(text: str, language: str) -> tuple[str, list[BlockProblem]]:
    """The text without the blocks `block_problems` finds (for callers that keep the prose)."""
    problems = block_problems(code_blocks(text), language)
    drop: set[int] = set()
    last = text.count("\n")
    for problem in problems:
        end = problem.block.end_line if problem.block.end_line is not None else last
        drop.update(range(problem.block.start_line, end + 1))
    lines = [line for number, line in enumerate(text.split("\n")) if number not in drop]
    return "\n".join(lines), problems
