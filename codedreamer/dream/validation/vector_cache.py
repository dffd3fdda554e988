"""Vectors of earlier dreams' texts, kept between cycles: a cycle embeds only its own answer.

Validation compares every answer with every earlier dream by embedding similarity
(novelty.nearest); re-embedding 1,000 earlier texts took 0.1-0.35 s a cycle. The earlier
texts do not change between cycles, so their vectors are kept, keyed by the dream's id with
a hash of the exact text that was embedded (cleaned of the template and of the seed's
lines, so it can differ by seed) and the embedder's identity (its `model_id`): a changed
text, or another embedder, is embedded again. A cache is bound to one embedder, so vectors
of two embedders never mix. At most `max_entries` vectors are kept; the least recently
used go first.

A cache can be saved to and loaded from one `.npz` file (written atomically, read without
pickle); a file that is unreadable or from another embedder gives an empty cache, since
every vector in it can be computed again.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from codedreamer.storage.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from codedreamer.dream.validation.novelty import Embed, Vectors

MAX_ENTRIES = 20_000
"""About 20 MB of 256-dimension vectors; more earlier dreams than this are embedded again."""
FILE_NAME = "validation-vectors.npz"
_FORMAT = 1


class NamedEmbedder(Protocol):
    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class VectorCache:
    """Earlier texts' vectors for one embedder; see the module docstring."""

    def __init__(self, embed: Embed, identity: str, max_entries: int = MAX_ENTRIES) -> None:
        if not identity:
            raise ValueError("a vector cache needs the embedder's identity")
        self.embed = embed
        self.identity = identity
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self.problem = ""
        """Why a saved cache could not be used ("" when it was, or there was none)."""
        self._entries: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def for_embedder(cls, embedder: NamedEmbedder, max_entries: int = MAX_ENTRIES) -> VectorCache:
        return cls(embedder.embed, embedder.model_id, max_entries)

    def __len__(self) -> int:
        return len(self._entries)

    def vectors(self, items: Sequence[tuple[str, str]]) -> Vectors:
        """One row per (dream id, text): cached rows where id and text match, the rest
        embedded in one batch and kept. An empty id is embedded and not kept."""
        digests = [text_digest(text) for _, text in items]
        rows: list[Any] = [None] * len(items)
        missing: list[int] = []
        with self._lock:
            for i, ((key, _), digest) in enumerate(zip(items, digests, strict=True)):
                entry = self._entries.get(key) if key else None
                if entry is not None and entry[0] == digest:
                    self._entries.move_to_end(key)
                    rows[i] = entry[1]
                else:
                    missing.append(i)
            self.hits += len(items) - len(missing)
            self.misses += len(missing)
        if missing:
            fresh = self.embed([items[i][1] for i in missing])
            with self._lock:
                for row, i in zip(fresh, missing, strict=True):
                    rows[i] = row
                    key = items[i][0]
                    if key:
                        self._entries[key] = (digests[i], row)
                        self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        if not rows:
            return self.embed([])
        stacked: Vectors = np.stack(rows)
        return stacked

    def save(self, path: Path) -> None:
        """Write every kept vector to `path` atomically (a reader sees the old or new file)."""
        with self._lock:
            keys = list(self._entries)
            digests = [self._entries[key][0] for key in keys]
            vectors = [self._entries[key][1] for key in keys]
        buffer = io.BytesIO()
        np.savez(
            buffer,
            format=np.array(_FORMAT),
            identity=np.array(self.identity),
            keys=np.array(keys, dtype=str),
            digests=np.array(digests, dtype=str),
            vectors=np.stack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(
        cls, path: Path, embedder: NamedEmbedder, max_entries: int = MAX_ENTRIES
    ) -> VectorCache:
        """The cache saved at `path` for this embedder; empty (with `problem` set) when the
        file is missing, unreadable or from another embedder."""
        cache = cls.for_embedder(embedder, max_entries)
        if not path.exists():
            return cache
        try:
            with np.load(path, allow_pickle=False) as saved:
                if int(saved["format"]) != _FORMAT:
                    cache.problem = f"{path.name}: format {int(saved['format'])}, not {_FORMAT}"
                    return cache
                identity = str(saved["identity"])
                if identity != cache.identity:
                    cache.problem = f"{path.name}: vectors of {identity}, not {cache.identity}"
                    return cache
                keys, digests = saved["keys"].tolist(), saved["digests"].tolist()
                vectors = saved["vectors"].astype(np.float32, copy=False)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            # A torn or foreign file: the cache is only a cache, every vector can be redone.
            cache.problem = f"{path.name}: unreadable ({type(exc).__name__}: {exc})"
            return cache
        if not (len(keys) == len(digests) == len(vectors)):
            cache.problem = f"{path.name}: inconsistent lengths"
            return cache
        for key, digest, vector in zip(keys, digests, vectors, strict=True):
            cache._entries[str(key)] = (str(digest), vector)
        while len(cache._entries) > max_entries:
            cache._entries.popitem(last=False)
        return cache


_shared: dict[str, VectorCache] = {}
_shared_lock = threading.Lock()


def shared_cache(embedder: NamedEmbedder) -> VectorCache:
    """One in-memory cache per embedder identity for this process (the engine's cycles
    share it); built on first use."""
    with _shared_lock:
        cache = _shared.get(embedder.model_id)
        if cache is None:
            cache = _shared[embedder.model_id] = VectorCache.for_embedder(embedder)
        return cache
