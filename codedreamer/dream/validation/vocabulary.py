"""Which names are code, which are ordinary words, and which exist without the codebase.

Shared by the grounding, invented-name and claim rules, so they agree on what "a name of
this code" is.
"""

from __future__ import annotations

import builtins
import keyword
import re
import sys
from collections.abc import Iterable

from codedreamer.index.languages import LANGUAGES

IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a literal, as a set (for long word lists)."""
    return frozenset(text.split())


# Names a language provides: they exist without being in the codebase.
PYTHON_KNOWN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls"}
JS_GLOBALS = word_set(
    "console require module exports process Buffer Promise Error TypeError RangeError "
    "JSON Math Object Array String Number Boolean Date RegExp Map Set WeakMap Symbol "
    "parseInt parseFloat isNaN setTimeout clearTimeout setInterval clearInterval fetch "
    "window document globalThis undefined NaN Infinity this arguments"
)
LANGUAGE_KEYWORDS = frozenset().union(*(spec.keywords for spec in LANGUAGES))
STDLIB_MODULES = frozenset(sys.stdlib_module_names)
NODE_MODULES = word_set(
    "fs path os crypto http https url util events stream child_process net zlib assert"
)
ALWAYS_KNOWN = PYTHON_KNOWN | JS_GLOBALS | LANGUAGE_KEYWORDS
# Keywords common to most languages (per-language keyword lists would drop real names:
# Kotlin's `open` is Python's `open()`).
KEYWORDS = frozenset(keyword.kwlist) | word_set(
    "function const let var void public private protected static int str true false null "
    "none this new func package import export"
)

# Words that are identifiers in nearly every codebase and ordinary words in every answer:
# naming one of them does not show the answer is about this code.
GENERIC_NAMES = word_set(
    "list dict set map file files line lines name names order env value values key keys "
    "item items data result results text string number count index size length type "
    "kind id path paths config settings options args kwargs params param error errors "
    "message msg input output self cls this obj object info state status mode flag "
    "node nodes tree root parent child children user users time date start end first "
    "last next prev current total sum max min new old tmp temp buf buffer code func "
    "function method class module call calls init main run get put post load save read "
    "write open close add remove delete update create check test handle handler process "
    "parse format query request response client server url host port token tokens "
    "stream body header headers content source target event events callback cb fn "
    "row rows col column columns field fields record records entry entries table "
    "part parts chunk chunks block blocks step steps task tasks job jobs log logger "
    "level levels lock cache default defaults x y z i j k n m a b c d e f s t v w"
)

# Comments and string literals hold English words ("are", "following") that would make
# any prose look grounded; strip them (approximately, for every language) first.
_NON_CODE = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|/\*[\s\S]*?\*/'
    r'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`[^`]*`'
    r"|(?<![:\w])#[^\n]*|//[^\n]*"
)
_DEFINITION = re.compile(
    r"\b(?:def|class|function|func|fn|interface|struct|enum|trait|type|module|macro)\s+"
    r"\*?\s*([A-Za-z_$][\w$]*)"
)
_ASSIGNED_FUNCTION = re.compile(
    r"\b([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)"
)
_COMPOUND = re.compile(r"_[A-Za-z0-9]|[a-z0-9][A-Z]|[A-Z]{2,}[a-z]|[A-Za-z][0-9]")


def strip_comments_and_strings(code: str) -> str:
    return _NON_CODE.sub(" ", code)


def code_identifiers(code: str) -> set[str]:
    """Identifiers in code (comments and strings removed), three characters or longer, not
    keywords. Builtins stay: whether they are specific is for the caller to judge."""
    return {
        name
        for name in IDENTIFIER.findall(strip_comments_and_strings(code))
        if len(name) >= 3 and name not in KEYWORDS
    }


def all_identifiers(code: str) -> set[str]:
    """Every identifier in code, comments and strings removed (short ones included)."""
    return set(IDENTIFIER.findall(strip_comments_and_strings(code)))


def defined_names(code: str) -> set[str]:
    """Names the code defines (functions, classes, ...), by pattern, in any language."""
    found = set(_DEFINITION.findall(code)) | set(_ASSIGNED_FUNCTION.findall(code))
    return {name for name in found if name not in ALWAYS_KNOWN}


def is_compound(name: str) -> bool:
    """snake_case, camelCase, PascalCase with two humps, or letters with digits."""
    return _COMPOUND.search(name) is not None


def is_generic(name: str) -> bool:
    core = name.strip("_$")
    return not core or core.lower() in GENERIC_NAMES or name in ALWAYS_KNOWN


def symbol_parts(symbols: Iterable[str]) -> set[str]:
    """Every dotted part of the seed's symbols (`Inventory.add_item` -> both names)."""
    return {part for symbol in symbols if symbol for part in symbol.split(".") if part}
