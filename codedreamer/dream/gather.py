"""Proactive context: what the model will need to judge the seed, fetched before it asks.

For the selected chunk: the definitions its file imports and it uses (resolved through the
index), its callers and its callees (index/symbols.py), and hybrid-search neighbours. Each
piece is labelled with where it came from and given a priority; the prompt budgeter keeps
the most important ones within the model's context (models/budget.py). EXTENDED_CONTEXT
raises the character cap and adds an overview of the codebase's files and definitions.
All look-ups are dictionary queries or one search: no scan of the index per cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from codedreamer.dream.context import CycleContext
from codedreamer.dream.prompts import fence_for

PRIORITY_CALLEES = 60
PRIORITY_IMPORTS = 55
PRIORITY_CALLERS = 50
PRIORITY_NEIGHBOURS = 40
PRIORITY_OVERVIEW = 30
PER_KIND = 3
SNIPPET_LINES = 24
OVERVIEW_FILES = 30


@dataclass(frozen=True)
class Piece:
    source: str
    """Where it came from, shown to the model and the user: "callee: util.py::parse"."""
    text: str
    priority: int


def snippet(content: str, max_lines: int = SNIPPET_LINES) -> str:
    lines = content.split("\n")
    if len(lines) <= max_lines:
        return content
    return "\n".join([*lines[:max_lines], f"... ({len(lines) - max_lines} more lines)"])


def render(piece: Piece, language: str) -> str:
    fence = fence_for(piece.text)
    return f"Context ({piece.source}):\n{fence}{language}\n{piece.text}\n{fence}"


def within_budget(pieces: Sequence[Piece], max_chars: int) -> list[Piece]:
    """The highest-priority pieces whose text fits in `max_chars`, in priority order."""
    kept: list[Piece] = []
    used = 0
    for piece in sorted(pieces, key=lambda p: -p.priority):
        if used + len(piece.text) > max_chars:
            continue
        kept.append(piece)
        used += len(piece.text)
    return kept


def _label(definition: Any) -> str:
    name = definition.qualified_name or definition.name or "(top level)"
    return f"{definition.path}::{name}"


EXPLICIT_IMPORTS = frozenset({"python", "javascript", "typescript", "tsx", "ruby", "rust"})
"""Languages where code in one file can use another file's names only by importing it."""


def linked(definition: Any, user_path: str, imported: Sequence[str], language: str) -> bool:
    """Whether code in `user_path` can really mean `definition` when it uses its name.

    The symbol tables resolve by name: `x.close()` in urllib/request.py resolved to
    ftplib's `FTP.close` because the file imports ftplib, and a variable named `local` to
    `_threading_local.local` because that name is unique. Such context misleads the model.
    Kept: the same file; a top-level definition in a file the user imports; in languages
    without file imports (C, Go, Java, ...), any top-level definition. A method or nested
    definition elsewhere is reached through an object whose type the index does not know.
    """
    if definition.path == user_path:
        return True
    if "." in (definition.qualified_name or ""):
        return False
    if language in EXPLICIT_IMPORTS:
        return definition.path in imported
    return True


def collect(
    chunk: Any,
    symbols: Any | None,
    texts_of: Callable[[list[Any]], list[str]],
    search: Callable[[str, int], Sequence[Any]] | None,
) -> list[Piece]:
    """Every candidate piece for `chunk`. `texts_of` reads definitions' code in one batch."""
    chosen: list[tuple[str, Any, int]] = []
    seen = {(chunk.path, chunk.start_line)}

    def add(kind: str, definitions: Sequence[Any], priority: int) -> None:
        for definition in list(definitions)[:PER_KIND]:
            key = (definition.path, definition.start_line)
            if key not in seen:
                seen.add(key)
                chosen.append((kind, definition, priority))

    if symbols is not None:
        owner = symbols.owner(chunk.id) if hasattr(symbols, "owner") else None
        target: Any = owner if owner is not None else (chunk.qualified_name or chunk.symbol)
        language = chunk.language
        imported = symbols.imports(chunk.path)

        def used_here(definitions: Sequence[Any]) -> list[Any]:
            return [d for d in definitions if linked(d, chunk.path, imported, language)]

        def users_of_this(definitions: Sequence[Any]) -> list[Any]:
            # The caller's file must be able to reach the seed (the same test, reversed).
            seed = owner if owner is not None else chunk
            return [
                d for d in definitions if linked(seed, d.path, symbols.imports(d.path), language)
            ]

        if target:
            add("callee", used_here(symbols.callees(target)), PRIORITY_CALLEES)
        add(
            "import",
            used_here(symbols.imported_definitions(chunk.path, chunk.id)),
            PRIORITY_IMPORTS,
        )
        if target:
            add("caller", users_of_this(symbols.callers(target)), PRIORITY_CALLERS)
    pieces = [
        Piece(f"{kind}: {_label(definition)}", snippet(text), priority)
        for (kind, definition, priority), text in zip(
            chosen, texts_of([d for _, d, _ in chosen]), strict=True
        )
        if text
    ]
    if search is not None:
        query = " ".join(filter(None, [chunk.qualified_name or chunk.symbol, chunk.path]))
        neighbours = 0
        for hit in search(query or chunk.content[:200], PER_KIND + 2):
            other = hit.chunk
            if (other.path, other.start_line) in seen or other.id == chunk.id:
                continue
            seen.add((other.path, other.start_line))
            label = f"{other.path}::{other.qualified_name or other.symbol or 'lines'}"
            pieces.append(
                Piece(f"search neighbour: {label}", snippet(other.content), PRIORITY_NEIGHBOURS)
            )
            neighbours += 1
            if neighbours >= PER_KIND:
                break
    return pieces


def overview(definitions: Sequence[Any], max_files: int = OVERVIEW_FILES) -> str:
    """One line per file: its top-level definitions (EXTENDED_CONTEXT's codebase map)."""
    by_path: dict[str, list[str]] = {}
    for definition in definitions:
        name = definition.qualified_name or definition.name
        if name and "." not in name:
            by_path.setdefault(definition.path, []).append(name)
    lines = [
        f"{path}: {', '.join(names[:8])}" + (" ..." if len(names) > 8 else "")
        for path, names in sorted(by_path.items())[:max_files]
    ]
    return "\n".join(lines)


def gather_step(context: CycleContext) -> None:
    chunk = context.chunk
    if chunk is None:
        return
    services = context.services
    settings = context.settings
    symbols = services.symbols()
    index = services.index()

    def texts_of(definitions: list[Any]) -> list[str]:
        # One look-up by chunk id for every definition: no per-definition file scan.
        wanted = [cid for d in definitions for cid in d.chunk_ids[:2]]
        by_id = {c.id: c for c in index.chunks_by_ids(wanted)} if wanted else {}
        return [
            "\n".join(by_id[cid].content for cid in d.chunk_ids[:2] if cid in by_id)
            for d in definitions
        ]

    def search(query: str, k: int) -> Sequence[Any]:
        return index.search(query, k)

    pieces = collect(chunk, symbols, texts_of, search)
    if settings.extended_context and symbols is not None:
        definitions = getattr(symbols, "all_definitions", None)
        if definitions is not None:
            pieces.append(Piece("codebase overview", overview(definitions), PRIORITY_OVERVIEW))
    limit = (
        settings.extended_context_limit
        if settings.extended_context
        else settings.prompt_context_limit
    )
    for piece in within_budget(pieces, limit):
        context.context_sections.append(
            (piece.source, render(piece, chunk.language), piece.priority)
        )
