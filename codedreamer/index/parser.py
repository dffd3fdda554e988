"""The one place that talks to tree-sitter: parse source, run a query, nothing else.

Everything else sees nodes through the small `SyntaxNode` protocol, so a move to another
tree-sitter binding (the API changed in 0.22 and again in 0.25) touches only this file.
Parsers are cached per thread because a tree-sitter parser must not be shared between threads.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Any, Protocol

from codedreamer.index.languages import LanguageSpec

# A parse that takes longer than this is a pathological input, not code worth waiting for.
PARSE_TIMEOUT_MICROS = 5_000_000


class SyntaxNode(Protocol):
    """The part of a syntax-tree node the chunker uses."""

    @property
    def type(self) -> str: ...
    @property
    def is_named(self) -> bool: ...
    @property
    def start_point(self) -> tuple[int, int]: ...
    @property
    def end_point(self) -> tuple[int, int]: ...
    @property
    def start_byte(self) -> int: ...
    @property
    def end_byte(self) -> int: ...
    @property
    def children(self) -> Sequence[SyntaxNode]: ...
    @property
    def named_children(self) -> Sequence[SyntaxNode]: ...
    def child_by_field_name(self, name: str, /) -> SyntaxNode | None: ...


class ParseTimeout(Exception):
    """tree-sitter gave up on a file (it took longer than PARSE_TIMEOUT_MICROS)."""


_local = threading.local()
_languages: dict[str, Any] = {}
_queries: dict[str, Any] = {}
_lock = threading.Lock()


def _language(grammar: str) -> Any:
    with _lock:
        language = _languages.get(grammar)
        if language is None:
            from tree_sitter_languages import get_language

            with warnings.catch_warnings():
                # tree-sitter 0.21 warns Language(path, name) is deprecated; the pin is on purpose.
                warnings.simplefilter("ignore", FutureWarning)
                language = get_language(grammar)
            _languages[grammar] = language
        return language


def _parser(grammar: str) -> Any:
    cache: dict[str, Any] | None = getattr(_local, "parsers", None)
    if cache is None:
        cache = _local.parsers = {}
    parser = cache.get(grammar)
    if parser is None:
        from tree_sitter import Parser

        parser = Parser()
        parser.set_language(_language(grammar))
        parser.set_timeout_micros(PARSE_TIMEOUT_MICROS)
        cache[grammar] = parser
    return parser


def parse(spec: LanguageSpec, source: bytes) -> SyntaxNode:
    """Parse `source` and return the root node; raise ParseTimeout if tree-sitter gives up."""
    parser = _parser(spec.grammar)
    tree = parser.parse(source)
    if tree is None:
        parser.reset()
        raise ParseTimeout(spec.name)
    root: SyntaxNode = tree.root_node
    return root


def captures(
    spec: LanguageSpec,
    query_text: str,
    node: SyntaxNode,
    start_point: tuple[int, int] | None = None,
    end_point: tuple[int, int] | None = None,
) -> list[tuple[SyntaxNode, str]]:
    """(node, capture name) pairs of a query, in document order, optionally within rows."""
    key = f"{spec.grammar}\0{query_text}"
    with _lock:
        query = _queries.get(key)
    if query is None:
        query = _language(spec.grammar).query(query_text)
        with _lock:
            _queries[key] = query
    if start_point is not None and end_point is not None:
        found: list[tuple[SyntaxNode, str]] = query.captures(
            node, start_point=start_point, end_point=end_point
        )
    else:
        found = query.captures(node)
    return found
