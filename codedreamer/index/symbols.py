"""The code index's structure queries: definitions, references, callers, callees, imports.

One place answers "what does this code define and who uses it", for proactive context,
grounding of dreams and the dead-code focus alike. Build once per index version and query
many times; every query is a dictionary or array look-up, never a scan of the tables::

    from codedreamer.index.symbols import symbols_for

    symbols = symbols_for(store)               # cached until either table gets a new version
    symbols.definitions("cookie")              # bare or qualified name -> [SymbolDef]
    symbols.definitions("res.cookie")
    symbols.references("cookie")               # -> [SymbolLocation], definition lines left out
    symbols.reference_count("cookie")          # -> int, the same without reading any text
    symbols.exists("parseHTTPResponse")        # the identifier occurs anywhere in the index
    symbols.callers(d), symbols.callees(d)     # d: a SymbolDef or a name -> [SymbolDef]
    symbols.imports("net/client.py")           # -> indexed files that file imports
    symbols.imported_definitions("net/client.py", chunk_id=None)  # -> [SymbolDef] it uses
    symbols.unreferenced()                     # -> [SymbolDef] used nowhere but where defined
    symbols.owner(chunk_id)                    # -> the SymbolDef a chunk belongs to
    symbols.definition_at("net/client.py", 12) # -> innermost SymbolDef covering a line
    symbols.line_count("net/client.py")        # -> lines of an indexed file, or None

What the answers mean (name-based, like every tool that works across languages without a
type checker):
- A *definition* is a named chunk group: function, method, class, interface, enum, trait,
  type, macro, property or named module (`KINDS_WITH_NAMES`), split parts merged into one
  `SymbolDef`. A file's top-level code is one `SymbolDef` of kind "module" whose `name` and
  `qualified_name` are "" (it calls things, so it can be a caller).
- A *reference* to name N is an occurrence of the identifier N in any indexed chunk (code,
  comments, strings, docs) other than the one occurrence that defines it, which is the first
  occurrence in the first chunk of a definition named N.
- *Callers* of D (named N) are the definitions whose chunks reference N and from where N
  resolves to D; *callees* of D are the definitions the names in D's own chunks resolve to.
  N resolves, seen from file P, to the definitions of N in P; else to those in the files P
  imports (resolved by `imports.py`); else to the one definition of N in the whole index;
  a name defined several times elsewhere and not imported is ambiguous and resolves to none.
- *Unreferenced* definitions have no reference outside their own chunks (a class's own
  chunks include its members'). This is deliberately conservative: any mention anywhere,
  even in a string or a README, counts as use, so what it reports is really unused in the
  indexed code. Files excluded from the index (tests, by default) are not seen, so code
  used only by tests is reported; dunder names are never reported.

`SymbolIndex.build` is pure: it takes `SymbolChunk`s (a chunk's location and text),
resolved imports and file line counts, and keeps only names and counts; the text of a
chunk is fetched again (through `load`) only when `references` needs line numbers.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from codedreamer.index.chunk import KINDS_WITH_NAMES, Chunk, SymbolLocation
from codedreamer.index.languages import spec_named
from codedreamer.index.tokens import IDENTIFIER

if TYPE_CHECKING:
    from codedreamer.index.store import IndexStore

UNREFERENCED_KINDS = ("function", "method", "class")
"""What `unreferenced()` reports by default: the things "remove dead code" is about."""

Loader = Callable[[Sequence[str]], Sequence[Chunk]]


@dataclass(frozen=True)
class SymbolChunk:
    """What `SymbolIndex.build` needs of one chunk (its text is read, then dropped)."""

    id: str
    path: str
    language: str
    kind: str
    symbol: str
    qualified_name: str
    start_line: int
    end_line: int
    content: str | None
    """None: the chunk is unchanged since `previous` (given to `build`); reuse its names."""


class SymbolDef(NamedTuple):
    """A definition (or a file's top-level code) and the chunks that hold it.

    A named tuple rather than a frozen dataclass: an index holds one per definition (60k
    on the CPython standard library) and a tuple is built several times faster.
    """

    name: str
    """The bare name (`cookie`); "" for a file's top-level code."""
    qualified_name: str
    """As the chunker names it (`res.cookie`, `Parser.parse`); "" for top-level code."""
    kind: str
    path: str
    start_line: int
    end_line: int
    """1-based, inclusive; a class spans its members too."""
    chunk_ids: tuple[str, ...]
    """Its own chunks in line order (a class: its header and body code, not its members)."""


Csr = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32]]
"""A sparse matrix by rows: (row start offsets, column ids, counts)."""

_CALLABLE_KINDS = frozenset({"function", "method", "module"})


class _Vocab(dict[str, int]):
    """Identifier -> id; a new identifier is numbered on first use and ids never change."""

    def __missing__(self, word: str) -> int:
        value = self[word] = len(self)
        return value


def _key(definition: SymbolDef) -> tuple[str, str, str]:
    """What identifies a definition within one index version."""
    return (definition.path, definition.kind, definition.qualified_name)


def _is_named(kind: str, symbol: str) -> bool:
    return bool(symbol) and kind in KINDS_WITH_NAMES


@dataclass
class _Grouped:
    """Definitions grouped from chunks in (path, line) order."""

    defs: list[SymbolDef]
    own: list[list[int]]
    """Each definition's own chunk rows; a class's include its members' rows."""
    owner: npt.NDArray[np.int32]
    """Chunk row -> the definition it belongs to."""
    first_of: dict[int, str]
    """Row of each definition's first chunk -> the defined name."""


def _group(ordered: Sequence[SymbolChunk]) -> _Grouped:
    groups: dict[tuple[str, str, str], list[int]] = {}
    for row, chunk in enumerate(ordered):
        if _is_named(chunk.kind, chunk.symbol):
            key = (chunk.path, chunk.kind, chunk.qualified_name)
        else:
            # Module code, text windows and code of unnamed owners: the file's top level.
            key = (chunk.path, "module", "")
        groups.setdefault(key, []).append(row)
    defs: list[SymbolDef] = []
    rows_of: list[list[int]] = []
    owner = [0] * len(ordered)
    first_of: dict[int, str] = {}
    scopes: dict[tuple[str, str], int] = {}
    for (path, kind, qualified), rows in sorted(groups.items()):
        first = ordered[rows[0]]
        name = first.symbol if qualified else ""
        index = len(defs)
        for row in rows:
            owner[row] = index
        if name:
            first_of[rows[0]] = name
            scopes.setdefault((path, qualified), index)
        # Rows are in line order, so the first row starts the definition.
        end = max([ordered[r].end_line for r in rows]) if len(rows) > 1 else first.end_line
        defs.append(
            SymbolDef(
                name,
                qualified,
                kind,
                path,
                first.start_line,
                end,
                tuple(ordered[r].id for r in rows),
            )
        )
        rows_of.append(rows)
    # A class-like definition owns its members (`A.f` inside `A`, same file): their rows
    # count as its own, and its span reaches their last line.
    own = [list(rows) for rows in rows_of]
    ends = [d.end_line for d in defs]
    for index, definition in enumerate(defs):
        scope = definition.qualified_name
        while "." in scope:
            scope = scope.rsplit(".", 1)[0]
            parent = scopes.get((definition.path, scope))
            if parent is not None and defs[parent].kind not in _CALLABLE_KINDS:
                own[parent].extend(rows_of[index])
                ends[parent] = max(ends[parent], definition.end_line)
    defs = [
        d if ends[i] == d.end_line else d._replace(end_line=ends[i]) for i, d in enumerate(defs)
    ]
    return _Grouped(defs, own, np.asarray(owner, dtype=np.int32), first_of)


def _count_names(
    ordered: Sequence[SymbolChunk], first_of: Mapping[int, str], previous: SymbolIndex | None
) -> tuple[_Vocab, Csr, npt.NDArray[np.int32]]:
    """Identifier counts of every chunk (rows over a vocabulary), reusing `previous`'s rows."""
    vocab = _Vocab(previous._vocab) if previous is not None else _Vocab()
    keywords_of: dict[str, frozenset[str]] = {}
    lengths = np.zeros(len(ordered), dtype=np.int64)
    parts: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]] = []
    new_names: list[int] = []
    new_counts: list[int] = []
    reused: list[tuple[int, int]] = []  # (row, row in previous)

    def flush_new() -> None:
        if new_names:
            parts.append((np.asarray(new_names, np.int32), np.asarray(new_counts, np.int32)))
            new_names.clear()
            new_counts.clear()

    def flush_reused() -> None:
        if not reused:
            return
        assert previous is not None
        old = np.asarray([o for _, o in reused], dtype=np.int64)
        starts = previous._chunk_ptr[old]
        sizes = previous._chunk_ptr[old + 1] - starts
        # Every entry of the old rows, gathered in one vectorised step.
        gather = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())
        parts.append((previous._chunk_names[gather], previous._chunk_counts[gather]))
        lengths[[row for row, _ in reused]] = sizes
        reused.clear()

    for row, chunk in enumerate(ordered):
        if chunk.content is None and previous is not None:
            old_row = previous._chunk_index.get(chunk.id)
            if old_row is not None:
                flush_new()
                reused.append((row, old_row))
                continue
        flush_reused()
        keywords = keywords_of.get(chunk.language)
        if keywords is None:
            spec = spec_named(chunk.language)
            keywords = spec.keywords if spec is not None else frozenset()
            keywords_of[chunk.language] = keywords
        found = Counter(IDENTIFIER.findall(chunk.content or ""))
        for word in keywords.intersection(found):
            found.pop(word)
        defined = first_of.get(row)
        if defined is not None:
            # The defining occurrence is counted even where the text spells the name
            # differently (a C++ `operator+`), so `exists` and the adjustment agree.
            found.setdefault(defined, 1)
        new_names.extend(map(vocab.__getitem__, found))
        new_counts.extend(found.values())
        lengths[row] = len(found)
    flush_new()
    flush_reused()
    ptr = np.zeros(len(ordered) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    empty = np.zeros(0, dtype=np.int32)
    names = np.concatenate([n for n, _ in parts]) if parts else empty
    counts = np.concatenate([c for _, c in parts]) if parts else empty
    first_def_name = np.full(len(ordered), -1, dtype=np.int32)
    for row, name in first_of.items():
        first_def_name[row] = vocab[name]
    return vocab, (ptr, names, counts), first_def_name


def _transpose(by_row: Csr, columns: int) -> Csr:
    """The chunk -> names matrix as name -> chunks, chunk rows ascending per name."""
    ptr, names, counts = by_row
    row_of = np.repeat(np.arange(len(ptr) - 1, dtype=np.int32), np.diff(ptr))
    order = np.argsort(names, kind="stable")
    col_ptr = np.zeros(columns + 1, dtype=np.int64)
    np.cumsum(np.bincount(names, minlength=columns), out=col_ptr[1:])
    return col_ptr, row_of[order], counts[order]


class SymbolIndex:
    """Definitions and identifier occurrences of one index version. Build with `build`."""

    def __init__(
        self,
        ordered: Sequence[SymbolChunk],
        grouped: _Grouped,
        counted: tuple[_Vocab, Csr, npt.NDArray[np.int32]],
        imports: Mapping[str, Sequence[str]],
        line_counts: Mapping[str, int],
        load: Loader | None,
    ) -> None:
        self._defs = grouped.defs
        self._own = [frozenset(rows) for rows in grouped.own]
        self._owner = grouped.owner
        self._chunk_ids = [c.id for c in ordered]
        self._chunk_paths = [c.path for c in ordered]
        self._chunk_index = {cid: row for row, cid in enumerate(self._chunk_ids)}
        self._vocab, by_chunk, self._first_def_name = counted
        self._words = list(self._vocab)
        self._chunk_ptr, self._chunk_names, self._chunk_counts = by_chunk
        self._name_ptr, self._name_chunks, self._name_counts = _transpose(
            by_chunk, len(self._vocab)
        )
        self._imports = {path: list(targets) for path, targets in imports.items()}
        self._line_counts = dict(line_counts)
        self._load = load
        # name -> path -> definitions, so resolving a name from a file is two look-ups.
        self._by_name: dict[str, dict[str, list[int]]] = defaultdict(dict)
        self._by_qualified: dict[str, list[int]] = defaultdict(list)
        self._by_path: dict[str, list[int]] = defaultdict(list)
        for index, definition in enumerate(self._defs):
            if definition.name:
                self._by_name[definition.name].setdefault(definition.path, []).append(index)
                self._by_qualified[definition.qualified_name].append(index)
            self._by_path[definition.path].append(index)
        self._index_of = {_key(d): index for index, d in enumerate(self._defs)}

    @classmethod
    def build(
        cls,
        chunks: Iterable[SymbolChunk],
        imports: Mapping[str, Sequence[str]] | None = None,
        line_counts: Mapping[str, int] | None = None,
        load: Loader | None = None,
        previous: SymbolIndex | None = None,
    ) -> SymbolIndex:
        """Index `chunks`; `imports` maps a file to the indexed files it imports (resolved).

        `load` fetches chunks by id for `references`. With `previous` (the index of an
        earlier version), a chunk whose `content` is None takes its identifier counts from
        there: chunk ids change with their content, so after an edit only the changed
        chunks are read and counted again.
        """
        ordered = sorted(chunks, key=lambda c: (c.path, c.start_line, c.id))
        grouped = _group(ordered)
        counted = _count_names(ordered, grouped.first_of, previous)
        return cls(ordered, grouped, counted, imports or {}, line_counts or {}, load)

    def knows_chunk(self, chunk_id: str) -> bool:
        """Whether `build(previous=self)` can reuse this chunk's identifier counts."""
        return chunk_id in self._chunk_index

    # ---------------------------------------------------------------- basic look-ups

    @property
    def all_definitions(self) -> Sequence[SymbolDef]:
        """Every named definition and every file's top-level code, by path and line."""
        return self._defs

    def definitions(self, name: str) -> list[SymbolDef]:
        """Definitions named `name`: a bare name (`cookie`) or a qualified one (`res.cookie`)."""
        found = set(self._by_qualified.get(name, ()))
        for indices in self._by_name.get(name, {}).values():
            found.update(indices)
        return [self._defs[i] for i in sorted(found)]

    def exists(self, name: str) -> bool:
        """Whether the identifier occurs anywhere in the index (defined or used)."""
        name_id = self._vocab.get(name)
        return name_id is not None and self._name_ptr[name_id + 1] > self._name_ptr[name_id]

    def line_count(self, path: str) -> int | None:
        """Lines of an indexed file (for checking cited line ranges), or None if not indexed."""
        return self._line_counts.get(path)

    def owner(self, chunk_id: str) -> SymbolDef | None:
        """The definition (or top-level code) a chunk belongs to."""
        row = self._chunk_index.get(chunk_id)
        return None if row is None else self._defs[int(self._owner[row])]

    def definition_at(self, path: str, line: int) -> SymbolDef | None:
        """The innermost named definition covering `line` of `path`, else its top-level code."""
        best: SymbolDef | None = None
        top: SymbolDef | None = None
        for index in self._by_path.get(path, ()):
            definition = self._defs[index]
            if not definition.name:
                top = definition
            elif definition.start_line <= line <= definition.end_line and (
                best is None
                or definition.end_line - definition.start_line < best.end_line - best.start_line
            ):
                best = definition
        return best if best is not None else top

    # ---------------------------------------------------------------- references

    def _postings(self, name: str) -> npt.NDArray[np.int32]:
        """Rows of the chunks that reference `name` (the defining occurrences taken out)."""
        name_id = self._vocab.get(name)
        if name_id is None:
            return np.zeros(0, dtype=np.int32)
        lo, hi = self._name_ptr[name_id], self._name_ptr[name_id + 1]
        rows = self._name_chunks[lo:hi]
        counts = self._name_counts[lo:hi] - (self._first_def_name[rows] == name_id)
        found: npt.NDArray[np.int32] = rows[counts > 0]
        return found

    def reference_count(self, name: str) -> int:
        """Occurrences of `name` across the index, not counting the ones that define it."""
        name_id = self._vocab.get(name)
        if name_id is None:
            return 0
        lo, hi = self._name_ptr[name_id], self._name_ptr[name_id + 1]
        rows = self._name_chunks[lo:hi]
        return int(self._name_counts[lo:hi].sum() - (self._first_def_name[rows] == name_id).sum())

    def references(self, name: str) -> list[SymbolLocation]:
        """Each line that uses the identifier `name`, definition lines left out.

        Reads the text of the chunks that mention it (through the loader given at build).
        """
        rows = self._postings(name)
        if not len(rows) or self._load is None:
            return []
        name_id = self._vocab[name]
        loaded = {c.id: c for c in self._load([self._chunk_ids[int(r)] for r in rows])}
        pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
        found: list[SymbolLocation] = []
        for row in rows:
            chunk = loaded.get(self._chunk_ids[int(row)])
            if chunk is None:
                continue
            skip_first = bool(self._first_def_name[row] == name_id)
            for offset, line in enumerate(chunk.content.split("\n")):
                if not pattern.search(line):
                    continue
                if skip_first:
                    skip_first = False
                    continue
                found.append(
                    SymbolLocation(chunk.path, chunk.start_line + offset, name, "reference")
                )
        return sorted(found, key=lambda loc: (loc.path, loc.line))

    # ---------------------------------------------------------------- call graph

    def _resolve(self, name: str, from_path: str) -> list[int]:
        """The definitions `name` means in `from_path`: same file, imported files, or unique."""
        by_path = self._by_name.get(name)
        if not by_path:
            return []
        here = by_path.get(from_path)
        if here:
            return here
        there = [i for path in self._imports.get(from_path, ()) for i in by_path.get(path, ())]
        if there:
            return there
        if len(by_path) == 1:
            (only,) = by_path.values()
            if len(only) == 1:
                return only
        return []

    def _targets(self, symbol: SymbolDef | str) -> list[int]:
        if isinstance(symbol, SymbolDef):
            index = self._index_of.get(_key(symbol))
            return [] if index is None else [index]
        return [self._index_of[_key(d)] for d in self.definitions(symbol)]

    def callers(self, symbol: SymbolDef | str) -> list[SymbolDef]:
        """Definitions (or files' top-level code) that use `symbol` where it resolves to it."""
        found: set[int] = set()
        for target in self._targets(symbol):
            name = self._defs[target].name
            own = self._own[target]
            for row in map(int, self._postings(name)):
                if row not in own and target in self._resolve(name, self._chunk_paths[row]):
                    found.add(int(self._owner[row]))
        return [self._defs[i] for i in sorted(found)]

    def callees(self, symbol: SymbolDef | str) -> list[SymbolDef]:
        """Definitions that the names used in `symbol`'s own chunks resolve to."""
        found: set[int] = set()
        for target in self._targets(symbol):
            definition = self._defs[target]
            for name in self._names_in(definition.chunk_ids):
                if name != definition.name:
                    found.update(i for i in self._resolve(name, definition.path) if i != target)
        return [self._defs[i] for i in sorted(found)]

    def _names_in(self, chunk_ids: Iterable[str]) -> set[str]:
        """Defined names that these chunks reference (defining occurrences left out)."""
        names: set[str] = set()
        for cid in chunk_ids:
            row = self._chunk_index.get(cid)
            if row is None:
                continue
            lo, hi = self._chunk_ptr[row], self._chunk_ptr[row + 1]
            ids = self._chunk_names[lo:hi]
            counts = self._chunk_counts[lo:hi] - (ids == self._first_def_name[row])
            for name_id in ids[counts > 0]:
                word = self._words[int(name_id)]
                if word in self._by_name:
                    names.add(word)
        return names

    # ---------------------------------------------------------------- imports

    def imports(self, path: str) -> list[str]:
        """The indexed files that `path` imports."""
        return list(self._imports.get(path, ()))

    def imported_definitions(self, path: str, chunk_id: str | None = None) -> list[SymbolDef]:
        """Definitions in the files `path` imports that the file (or one chunk of it) uses."""
        imported = self._imports.get(path, ())
        if not imported:
            return []
        if chunk_id is not None:
            chunk_ids: list[str] = [chunk_id]
        else:
            chunk_ids = [
                cid for i in self._by_path.get(path, ()) for cid in self._defs[i].chunk_ids
            ]
        found: set[int] = set()
        for name in self._names_in(chunk_ids):
            by_path = self._by_name[name]
            for target in imported:
                found.update(by_path.get(target, ()))
        return [self._defs[i] for i in sorted(found)]

    # ---------------------------------------------------------------- dead code

    def unreferenced(self, kinds: Sequence[str] = UNREFERENCED_KINDS) -> list[SymbolDef]:
        """Definitions of these kinds whose name is referenced nowhere outside their own chunks.

        Dunder names (`__init__`, `__eq__`) are called by the language, never reported.
        """
        wanted = set(kinds)
        found: list[SymbolDef] = []
        for index, definition in enumerate(self._defs):
            name = definition.name
            if definition.kind not in wanted or not name or name.startswith("__"):
                continue
            own = self._own[index]
            if all(int(row) in own for row in self._postings(name)):
                found.append(definition)
        return found


# ------------------------------------------------------------------ the store's cache

_cache: weakref.WeakKeyDictionary[IndexStore, tuple[object, SymbolIndex]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def symbols_for(store: IndexStore) -> SymbolIndex:
    """The `SymbolIndex` of the store's current version, built on first use and cached.

    The cache key is the store's `version_key()`: a commit to either table (an edit the
    live watcher re-indexed) makes the next call rebuild, reading the text of new chunks
    only; calls in between are look-ups. Safe to call from several threads.
    """
    key = store.version_key()
    with _cache_lock:
        cached = _cache.get(store)
        if cached is not None and cached[0] == key:
            return cached[1]
        previous = cached[1] if cached is not None else None
        symbols = SymbolIndex.build(
            store.symbol_chunks(previous.knows_chunk if previous is not None else None),
            imports=store.file_imports(),
            line_counts=store.line_counts(),
            load=store.chunks_by_ids,
            previous=previous,
        )
        _cache[store] = (key, symbols)
        return symbols
