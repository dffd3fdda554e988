"""Claims of absence and presence, checked against the seed code and the index.

A small extractor of sentence patterns, each with a check:
- "`X` is missing / not defined / does not exist", "there is no `X` function": false when X
  is in the seed or the index. "a call to `X` is missing" is about this code only: false
  when the seed uses X.
- "does not check `q <= 0`", "never checks whether `quantity` is negative", "does not
  handle `ValueError`": false when the seed has that comparison (either way round), a test
  of that kind on that name, or an `except`/`catch` of that exception.
- "uses `getattr`", "calls `x()`", "the bare except": false when the seed has no such name
  (or no bare `except:`).

Limits: the patterns are English and literal. Paraphrases ("forgets to look at whether q
is below one") and claims about code outside the seed are not checked; an absence claim
about a name is only checked when the name is written as code (backticks, a call, or an
identifier with `_` or a camelCase hump), because "there is no check" names nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from codedreamer.dream.validation.vocabulary import (
    all_identifiers,
    is_compound,
    strip_comments_and_strings,
)

_NAME = r"`?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?![\w$])(?:\(\))?`?"
_BE = r"(?:is|are|was|were|seems to be|appears to be)"
_KIND = r"(?:function|method|class|helper|variable|constant|attribute|field)"
# Claims that a definition does not exist: false if the seed or the index has the name.
_NOT_DEFINED = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"{_NAME}\s+{_BE}\s+(?:not\s+defined|undefined|never\s+defined|not\s+implemented"
        r"|nowhere\s+to\s+be\s+found)",
        rf"{_NAME}\s+(?:does\s+not|doesn't|do\s+not|don't)\s+exist",
        rf"(?:there\s+is|there's)\s+no\s+(?:such\s+)?{_KIND}\s+(?:called\s+|named\s+)?{_NAME}",
        rf"(?:there\s+is|there's)\s+no\s+{_NAME}\s+{_KIND}",
        rf"\bmissing\s+(?:a\s+|an\s+|the\s+)?{_NAME}\s+{_KIND}",
        rf"\b(?:missing|lacks|lacking|needs)\s+(?:a\s+|an\s+|the\s+)?{_KIND}\s+"
        rf"(?:called\s+|named\s+)?{_NAME}",
    )
)
# Claims that this code lacks something ("`timeout` is missing", "there is no `lock`"):
# false only if the seed has it; the index may well have it elsewhere.
_ABSENT_HERE = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"(?:(?:call|use|usage|invocation|check)\s+(?:to|of|for)\s+(?:the\s+)?)?{_NAME}"
        rf"\s+{_BE}\s+missing",
        rf"(?:there\s+is|there's)\s+no\s+(?!such\b){_NAME}(?!`?\s+{_KIND})",
    )
)
_COMPARISON = r"[\w$.\[\]'\"]+\s*(?:<=|>=|==|!=|<|>|===|!==)\s*[\w$.\-'\"]+"
_NO_CHECK = re.compile(
    r"(?:does\s+not|doesn't|do\s+not|don't|never|fails?\s+to|without|no)\s+"
    r"(?:check|validate|verify|test|guard|handle|catch)\w*\s+(?:against\s+|for\s+|whether\s+"
    r"|if\s+|that\s+)?(?:the\s+)?"
    rf"(?:`(?P<expr>{_COMPARISON})`|(?P<bare>{_COMPARISON})"
    r"|`?(?P<subject>[A-Za-z_$][\w$.]*)`?\s+(?:is|are|being)\s+(?:a\s+)?"
    r"(?P<kind>negative|zero|none|null|empty|positive))",
    re.IGNORECASE,
)
_NO_HANDLE = re.compile(
    r"(?:does\s+not|doesn't|do\s+not|don't|never|fails?\s+to)\s+(?:handle|catch)\w*\s+"
    r"(?:the\s+|a\s+|an\s+|any\s+)?`?([A-Z]\w*(?:Error|Exception))`?"
)
# Builtins whose mere use is a finding ("uses getattr", "calls eval"): worth checking when
# written as plain words.
_TELLING_BUILTINS = "getattr|setattr|hasattr|delattr|eval|exec|globals|locals|compile|__import__"
_USES = re.compile(
    r"\b(?P<subject>(?i:it|code|function|method|class|loop|this)|[\w$]+\(\)|`[^`\n]+`"
    r"|[A-Za-z_$]*[a-z0-9]_[\w$]*|[a-z]+[A-Z][\w$]*)\s+(?:also\s+)?"
    r"(?:uses|calls|relies\s+on|invokes)\s+(?:the\s+|a\s+)?"
    rf"(?P<target>`[^`\n]+`|[A-Za-z_$][\w$.]*\(|(?:{_TELLING_BUILTINS})\b)",
)
_BARE_EXCEPT = re.compile(r"\bbare\s+`?except:?`?", re.IGNORECASE)
_KIND_TESTS: dict[str, tuple[str, ...]] = {
    "negative": (r"{x}\s*<=?\s*0", r"0\s*>=?\s*{x}", r"{x}\s*>=?\s*[01]\b"),
    "positive": (r"{x}\s*>=?\s*0", r"0\s*<=?\s*{x}", r"{x}\s*<=?\s*0"),
    "zero": (r"{x}\s*[=!]==?\s*0", r"{x}\s*<=?\s*0", r"\bnot\s+{x}\b", r"!\s*{x}\b"),
    "none": (r"{x}\s+is\s+(?:not\s+)?None", r"{x}\s*[=!]==?\s*None", r"\bnot\s+{x}\b"),
    "null": (r"{x}\s*[=!]==?\s*(?:null|nil|NULL|nullptr)", r"!\s*{x}\b", r"{x}\s*\?\?"),
    "empty": (
        r"\bnot\s+{x}\b",
        r"len\({x}\)\s*[=<>!]=?\s*[01]",
        r"{x}\.length\s*[=<>!]=*\s*[01]",
        r"!\s*{x}\b",
        r"{x}\s*==\s*(?:\"\"|''|\[\])",
    ),
}
_FLIP = {
    "<": ">",
    ">": "<",
    "<=": ">=",
    ">=": "<=",
    "==": "==",
    "!=": "!=",
    "===": "===",
    "!==": "!==",
}


@dataclass(frozen=True)
class FalseClaim:
    claim: str
    """The sentence fragment that makes the claim."""
    why: str


@dataclass(frozen=True)
class ClaimCheck:
    claimed_missing: frozenset[str]
    """Names the answer says are missing or undefined (whatever the check found)."""
    false: tuple[FalseClaim, ...]


def _written_as_code(raw: str, dotted: str) -> bool:
    """Whether the claim writes the name as code: backticks, a call, or a compound name."""
    return f"`{dotted}" in raw or f"{dotted}()" in raw or is_compound(dotted.split(".")[-1])


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _has_comparison(expr: str, seed_plain: str) -> bool:
    """Whether the seed compares the same operands with the same operator, either way round."""
    match = re.match(r"^\s*(.+?)\s*(<=|>=|===|!==|==|!=|<|>)\s*(.+?)\s*$", expr)
    if match is None:
        return False
    left, op, right = match.groups()
    seed = _squash(seed_plain)
    return _squash(f"{left}{op}{right}") in seed or _squash(f"{right}{_FLIP[op]}{left}") in seed


def _has_kind_test(subject: str, kind: str, seed_plain: str) -> bool:
    name = re.escape(subject)
    return any(
        re.search(pattern.format(x=name), seed_plain) is not None
        for pattern in _KIND_TESTS.get(kind.lower(), ())
    )


def check_claims(
    prose: str, seed_code: str, exists: Callable[[str], bool] | None = None
) -> ClaimCheck:
    """Find absence/presence claims in the prose and the ones the code contradicts."""
    seed_names = all_identifiers(seed_code)
    seed_plain = strip_comments_and_strings(seed_code)
    missing: set[str] = set()
    false: list[FalseClaim] = []

    def defined_anywhere(name: str) -> str:
        if name in seed_names:
            return "the code shown has it"
        if exists is not None and exists(name):
            return "it exists in the codebase"
        return ""

    for pattern in _NOT_DEFINED:
        for match in pattern.finditer(prose):
            raw, dotted = match.group(0), match.group(1)
            name = dotted.split(".")[-1]
            if not _written_as_code(raw, dotted):
                continue
            missing.add(name)
            where = defined_anywhere(name)
            if where:
                why = f"says `{name}` does not exist, but {where}"
                false.append(FalseClaim(raw.strip(), why))

    for pattern in _ABSENT_HERE:
        for match in pattern.finditer(prose):
            raw, dotted = match.group(0), match.group(1)
            name = dotted.split(".")[-1]
            if not _written_as_code(raw, dotted):
                continue
            missing.add(name)
            if name in seed_names:
                why = f"says `{name}` is missing here, but the code has it"
                false.append(FalseClaim(raw.strip(), why))

    for match in _NO_CHECK.finditer(prose):
        expr = match.group("expr") or match.group("bare")
        if expr and _has_comparison(expr, seed_plain):
            false.append(
                FalseClaim(match.group(0).strip(), f"the code does check `{expr.strip()}`")
            )
        subject, kind = match.group("subject"), match.group("kind")
        if subject and kind and subject in seed_names and _has_kind_test(subject, kind, seed_plain):
            false.append(
                FalseClaim(
                    match.group(0).strip(), f"the code does test whether {subject} is {kind}"
                )
            )

    for match in _NO_HANDLE.finditer(prose):
        exception = match.group(1)
        if re.search(rf"(?:except|catch|rescue)\b[^:\n{{]*\b{exception}\b", seed_plain):
            false.append(FalseClaim(match.group(0).strip(), f"the code does handle {exception}"))

    for match in _USES.finditer(prose):
        subject = match.group("subject").strip("`").removesuffix("()")
        if (subject.startswith("`") or is_compound(subject)) and subject not in seed_names:
            continue  # a claim about other code
        target = match.group("target").strip("`").strip()
        head = re.match(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*", target)
        if head is None:
            continue
        name = head.group(0).split(".")[-1]
        if name not in seed_names:
            false.append(FalseClaim(match.group(0).strip(), f"the code does not use `{name}`"))

    if _BARE_EXCEPT.search(prose) and re.search(r"\bexcept\s*:", seed_plain) is None:
        false.append(FalseClaim("bare except", "the code has no bare `except:`"))
    return ClaimCheck(frozenset(missing), tuple(false))
