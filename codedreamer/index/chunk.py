"""The records the code index hands to the rest of CodeDreamer.

`Chunk` is a piece of one file (a function, a method, a class header, module-level code or a
line window); `CodeEntity` is a chunk's identity without its text, for the knowledge graph;
`SymbolLocation` is where a name is defined or used, for grounding and dead-code checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

KINDS_WITH_NAMES = frozenset(
    {
        "function",
        "method",
        "class",
        "interface",
        "enum",
        "trait",
        "type",
        "module",
        "macro",
        "property",
    }
)


@dataclass(frozen=True)
class Chunk:
    """One indexed piece of a file; lines are 1-based and inclusive."""

    id: str
    path: str
    """POSIX path relative to the codebase root."""
    language: str
    kind: str
    """"function", "method", "class", "module", "window", ..."""
    symbol: str
    qualified_name: str
    start_line: int
    end_line: int
    content: str
    content_hash: str


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float
    """Higher is better; comparable only within one search."""


@dataclass(frozen=True)
class CodeEntity:
    """A file, class, function or method: what the knowledge graph links dreams to."""

    path: str
    kind: str
    qualified_name: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class SymbolLocation:
    """Where a name is defined or referenced (line is 1-based)."""

    path: str
    line: int
    symbol: str
    kind: str
    """The definition kind, or "reference"."""


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str
    qualified_name: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class ParsedFile:
    """Everything the index keeps about one file, before embedding."""

    path: str
    language: str
    line_count: int
    chunks: Sequence[Chunk]
    chunk_names: Sequence[Mapping[str, int]]
    """Identifier counts of each chunk (no keywords), parallel to `chunks`."""
    path_terms: Sequence[str] = ()
    """Search terms from the file's path, shared by all its chunks."""
    definitions: Sequence[Definition] = ()
    names: Mapping[str, int] = field(default_factory=dict)
    """Every identifier of the file and how many of its chunks mention it (definitions too)."""
    imports: Sequence[str] = ()
    """Import targets as written (module names, relative paths)."""
    truncated_chunks: int = 0
    parse_errors: bool = False


def content_hash(data: bytes | str) -> str:
    """The content hash used for files and chunks (BLAKE2b, 128 bits, hex)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def chunk_id(path: str, start_line: int, end_line: int, chunk_hash: str) -> str:
    """A stable id from the file, the span and the content: same code, same place, same id."""
    key = f"{path}\0{start_line}\0{end_line}\0{chunk_hash}"
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
