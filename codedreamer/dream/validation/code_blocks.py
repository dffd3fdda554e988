"""Code blocks in an answer are in the seed's language and parse.

The language comes from the fence's info string (```js in a Python seed is another
language). A block with no info string, or the seed's language, must parse as a fragment
of it (verify/fragment.py: Python compiled, every other indexed language by its tree-sitter
grammar with no ERROR or MISSING node, a partial snippet tried as class members, a function
body, struct fields, ...). A block that does not parse but does parse in another language
is reported as that language (wrong_language), else as unparseable_code. Text-like blocks
(diff, output, shell, SQL, JSON, ...) are not code of the seed and are neither language-
nor parse-checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from codedreamer.dream.validation.answer import CodeBlock, code_blocks
from codedreamer.dream.validation.vocabulary import word_set
from codedreamer.verify.fragment import check_fragment, guess_language

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
    "c_sharp": "csharp",
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


@dataclass(frozen=True)
class BlockProblem:
    block: CodeBlock
    reason: str
    """wrong_language or unparseable_code."""
    detail: str


def canonical_language(name: str) -> str:
    name = name.lower().strip()
    return ALIASES.get(name, name)


def allowed_languages(language: str) -> frozenset[str]:
    """The seed's language and those its code may be shown in (TypeScript takes JavaScript)."""
    seed = canonical_language(language)
    return frozenset({seed, *COMPATIBLE.get(seed, ())})


def parses(code: str, language: str) -> bool:
    """Whether the code parses in the language; True for a language we cannot parse."""
    return check_fragment(code, canonical_language(language)).ok


def block_problem(code: str, info: str, language: str) -> tuple[str, str] | None:
    """(reason, detail) if code labelled `info` ("" for none) does not belong in a seed in
    `language`: another language, or code that does not parse; None if it does."""
    seed_language = canonical_language(language)
    allowed = allowed_languages(seed_language)
    label = canonical_language(info)
    if label and label not in allowed:
        return "wrong_language", f"a {label} block in {seed_language} code"
    claimed = label or seed_language
    result = check_fragment(code, claimed)
    if result.ok:
        return None
    other = guess_language(code, exclude=[claimed])
    if other is not None and other in allowed:
        return None  # unlabelled TypeScript in a JavaScript seed, say
    if other is not None:
        shown = f"labelled {label}" if label else "without a language"
        return "wrong_language", f"a block {shown} that is {other}, not {seed_language}"
    return "unparseable_code", f"a {claimed} block that does not parse ({result.detail})"


def block_problems(blocks: Iterable[CodeBlock], language: str) -> list[BlockProblem]:
    """Blocks in another language than `language`, or that do not parse."""
    problems: list[BlockProblem] = []
    for block in blocks:
        if not block.code.strip() or canonical_language(block.info) in NEUTRAL:
            continue
        found = block_problem(block.code, block.info, language)
        if found is not None:
            problems.append(BlockProblem(block, *found))
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
