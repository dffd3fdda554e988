"""Grounding: the answer's prose names code that is specific to the seed.

Ordinary words and builtins (`list`, `name`, `line`, `order`, `env`, `file`) name nothing:
they occur in every codebase and every English sentence. A name counts when it is specific
(snake_case, camelCase, a name the seed defines, the seed's own symbol) and the prose uses
it. A plain one-word name the seed defines (`total`) counts only when the prose writes it as
code (backticks or a call), since as a word it may just be English. A name the answer says
is missing does not count: saying `parse_header` does not exist is not being about it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from codedreamer.dream.validation.vocabulary import (
    code_identifiers,
    defined_names,
    is_compound,
    is_generic,
    symbol_parts,
)


@dataclass(frozen=True)
class Grounding:
    names: tuple[str, ...]
    """Seed-specific names the prose uses, sorted."""

    @property
    def grounded(self) -> bool:
        return bool(self.names)

    @property
    def detail(self) -> str:
        return "mentions " + ", ".join(self.names[:5]) if self.names else "names nothing specific"


def specific_names(seed_code: str, symbols: Sequence[str] = ()) -> dict[str, bool]:
    """Names specific to the seed -> whether the prose must write them as code to count."""
    defined = defined_names(seed_code) | symbol_parts(symbols)
    names: dict[str, bool] = {}
    for name in code_identifiers(seed_code) | defined:
        if is_generic(name):
            continue
        if is_compound(name):
            names[name] = False
        elif name in defined:
            names[name] = True
    return names


def _as_code(name: str, prose: str) -> bool:
    escaped = re.escape(name)
    return (
        re.search(rf"`[^`\n]*(?<![\w$]){escaped}(?![\w$])[^`\n]*`", prose) is not None
        or re.search(rf"(?<![\w$]){escaped}\(", prose) is not None
    )


def ground(
    prose: str,
    seed_code: str,
    symbols: Sequence[str] = (),
    *,
    claimed_missing: Collection[str] = (),
) -> Grounding:
    """Which seed-specific names the prose uses (names claimed missing excluded)."""
    used: list[str] = []
    for name, needs_code in specific_names(seed_code, symbols).items():
        if name in claimed_missing:
            continue
        if re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", prose) is None:
            continue
        if needs_code and not _as_code(name, prose):
            continue
        used.append(name)
    return Grounding(tuple(sorted(used)))
