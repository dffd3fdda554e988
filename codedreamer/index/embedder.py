"""Embedders behind one interface: a fast lexical default and a GGUF model via llama.cpp.

Every embedder returns float32 rows of unit length, so cosine similarity is a dot product,
and names itself with a `model_id` that the store keeps in its table metadata: changing
the embedder (or its dimension) rebuilds the index instead of mixing vector spaces.

The default (`LexicalEmbedder`) hashes split identifiers into a fixed-size vector. It was
chosen over pooled embeddings of the bundled chat model by `bench/bench_index_embedders.py`
(see docs/benchmarks.md): better recall on code retrieval and thousands of times faster.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from codedreamer.index.tokens import IDENTIFIER, identifier_terms

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings

Vectors = npt.NDArray[np.float32]

# English words that carry no meaning for code search; identifiers are split before this.
STOP_WORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have"),
        *("in", "into", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was"),
        *("were", "will", "with", "if", "not", "no", "yes", "do", "does", "so", "than", "then"),
        *("there", "these", "those", "we", "you", "can", "may", "should", "would", "could"),
    }
)


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension."""

    @property
    def model_id(self) -> str:
        """Names the vector space; stored with the index so a change triggers a rebuild."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """The vector of a search query (a 1-D array)."""
        ...

    def close(self) -> None: ...


def normalise_rows(matrix: npt.NDArray[np.floating[Any]]) -> Vectors:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    out = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    scaled: Vectors = (out / norms).astype(np.float32, copy=False)
    return scaled


class _Vocabulary:
    """Identifier -> row of a CSR table of its hashed terms; grows on first sight of names.

    New names are added a batch at a time (`ids`): one Python loop over the new names, then
    one slice assignment per array, instead of numpy element stores per term. About 110k
    distinct names occur in CPython's standard library, and every index worker builds its
    own vocabulary.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.rows: dict[str, int] = {}
        # Arrays with spare capacity (doubled when full); `ptr[len(rows)]` entries are used.
        self.ptr = np.zeros(1024, dtype=np.int64)
        self.cols = np.zeros(4096, dtype=np.int64)
        self.signs = np.zeros(4096, dtype=np.float64)
        # Sub-words repeat across names far more than names do: hash each one once.
        self._codes: dict[str, int] = {}

    def ids(self, names: list[str]) -> npt.NDArray[np.int64]:
        """The row of every name (adding the unseen ones), aligned with `names`."""
        rows = self.rows
        missing = set(names).difference(rows)
        if missing:
            self._add(missing)
        if len(names) < 2:  # itemgetter of one key returns the value, not a tuple
            return np.fromiter(map(rows.__getitem__, names), dtype=np.int64, count=len(names))
        # One C call for every look-up: about a third faster than a map into fromiter.
        return np.array(itemgetter(*names)(rows), dtype=np.int64)

    def _add(self, names: Iterable[str]) -> None:
        rows, codes = self.rows, self._codes
        first = len(rows)
        used = int(self.ptr[first])
        found: list[int] = []
        ends: list[int] = []
        for name in names:
            rows[name] = len(rows)
            for term in identifier_terms(name):
                if len(term) > 1 and term not in STOP_WORDS:
                    code = codes.get(term)
                    if code is None:
                        code = codes[term] = zlib.crc32(term.encode("utf-8", "surrogatepass"))
                    found.append(code)
            ends.append(used + len(found))
        hashed = np.asarray(found, dtype=np.int64)
        self.ptr = _fit(self.ptr, len(rows) + 1)
        self.ptr[first + 1 : len(rows) + 1] = ends
        self.cols = _fit(self.cols, used + len(found))
        self.signs = _fit(self.signs, used + len(found))
        self.cols[used : used + len(found)] = hashed % self.dim
        # The sign comes from the top bit of the CRC, the column from the rest (mod dim).
        self.signs[used : used + len(found)] = np.where((hashed >> 31) & 1, 1.0, -1.0)


def _fit(array: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    """`array`, or a copy at least twice as long when it is shorter than `size`."""
    if size <= len(array):
        return array
    grown = np.zeros(max(size, 2 * len(array)), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


_values = methodcaller("values")


class LexicalEmbedder:
    """Signed feature hashing of split identifiers, weighted 1 + log(count) per identifier.

    Pure Python and numpy, picklable (index worker processes build their own vectors),
    deterministic across processes (CRC32, not Python's salted `hash`). The per-chunk work
    is a few numpy calls: identifiers map to cached rows of hashed terms.
    """

    VERSION = 1

    def __init__(self, dim: int = 256) -> None:
        if dim < 16:
            raise ValueError("dim must be at least 16")
        self._dim = dim
        self._vocab = _Vocabulary(dim)

    @property
    def model_id(self) -> str:
        return f"lexical-hash-v{self.VERSION}-d{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def __getstate__(self) -> dict[str, Any]:
        return {"dim": self._dim}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._dim = int(state["dim"])
        self._vocab = _Vocabulary(self._dim)

    def embed_counts(
        self, names: Sequence[Mapping[str, int]], extra_terms: Sequence[Iterable[str]]
    ) -> Vectors:
        """Vectors from identifier counts (as the chunker produces them) plus extra terms each."""
        n = len(names)
        if n == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        extras = [list(extra) for extra in extra_terms]
        if len(extras) != n:
            raise ValueError("one list of extra terms per chunk is needed")
        # All chunks' identifiers, then all their extra terms (count 1 each; repeats add up).
        # bincount sums each (row, column) cell in input order, and every row still sees its
        # identifiers before its extra terms, so the sums match a chunk-by-chunk build.
        flat_names = [*chain.from_iterable(names), *chain.from_iterable(extras)]
        name_lengths = np.fromiter(map(len, names), dtype=np.int64, count=n)
        extra_lengths = np.fromiter(map(len, extras), dtype=np.int64, count=n)
        named = int(name_lengths.sum())
        counts_flat = np.ones(len(flat_names), dtype=np.float64)
        counts_flat[:named] = np.fromiter(
            chain.from_iterable(map(_values, names)), dtype=np.float64, count=named
        )
        vocab = self._vocab
        ids = vocab.ids(flat_names)
        row_numbers = np.arange(n, dtype=np.int64)
        rows_of_name = np.concatenate(
            [np.repeat(row_numbers, name_lengths), np.repeat(row_numbers, extra_lengths)]
        )
        weights = 1.0 + np.log(np.maximum(counts_flat, 1.0))
        starts = vocab.ptr[ids]
        spans = vocab.ptr[ids + 1] - starts
        total = int(spans.sum())
        # Expand each identifier into its hashed terms without a Python loop.
        offsets = np.repeat(starts - np.cumsum(spans) + spans, spans) + np.arange(total)
        cols = vocab.cols[offsets]
        vals = vocab.signs[offsets] * np.repeat(weights, spans)
        rows = np.repeat(rows_of_name, spans)
        dense = np.bincount(rows * self._dim + cols, weights=vals, minlength=n * self._dim)
        # bincount with weights is already float64 (asarray: no copy, only the type for mypy).
        return normalise_rows(np.asarray(dense, dtype=np.float64).reshape(n, self._dim))

    def embed(self, texts: Sequence[str]) -> Vectors:
        counts = [Counter(IDENTIFIER.findall(text)) for text in texts]
        return self.embed_counts(counts, [() for _ in texts])

    def embed_query(self, text: str) -> Vectors:
        row: Vectors = self.embed([text])[0]
        return row

    def close(self) -> None:
        self._vocab = _Vocabulary(self._dim)


def _file_fingerprint(path: Path) -> str:
    """Name plus a digest of size and the first MiB: identifies a model file cheaply."""
    size = path.stat().st_size
    digest = hashlib.blake2b(digest_size=8)
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
    digest.update(str(size).encode())
    return f"{path.name}:{digest.hexdigest()}"


class GgufEmbedder:
    """Mean-pooled embeddings from a GGUF model run by llama.cpp.

    llama.cpp's `embed()` silently cuts input at `n_batch` tokens, so `n_batch` (and
    `n_ubatch`, `n_ctx`) are set to `max_tokens`, each text is tokenised first, and a text
    that is still longer is cut here on purpose and counted in `truncated`.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_tokens: int = 2048,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        env_var: str = "DREAMER_EMBED_MODEL_PATH",
    ) -> None:
        from codedreamer.models.gguf import check_model_file
        from codedreamer.models.quiet import stderr_to_file

        check_model_file(path, env_var)
        import llama_cpp

        self._max_tokens = max_tokens
        self._lock = threading.Lock()
        self.truncated = 0
        # llama.cpp logs the model load straight to fd 2, which would smear a TUI.
        with stderr_to_file():
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                embedding=True,
                n_ctx=max_tokens,
                n_batch=max_tokens,
                n_ubatch=max_tokens,
                n_threads=n_threads,
                n_gpu_layers=n_gpu_layers,
                pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                verbose=False,
            )
        self._dim = int(self._llm.n_embd())
        self._model_id = f"gguf:{_file_fingerprint(path)}:mean:d{self._dim}"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def _fit(self, text: str) -> str:
        tokens = self._llm.tokenize(text.encode("utf-8", "replace"), add_bos=True, special=False)
        if len(tokens) <= self._max_tokens:
            return text
        self.truncated += 1
        # Leave room for the BOS token the library adds back.
        if tokens and tokens[0] == self._llm.token_bos():
            tokens = tokens[1:]
        kept = tokens[: self._max_tokens - 1]
        return bytes(self._llm.detokenize(kept)).decode("utf-8", "ignore")

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._lock:
            fitted = [self._fit(text) if text.strip() else " " for text in texts]
            raw = self._llm.embed(fitted, normalize=False, truncate=False)
        return normalise_rows(np.asarray(raw, dtype=np.float32).reshape(len(texts), self._dim))

    def embed_query(self, text: str) -> Vectors:
        row: Vectors = self.embed([text])[0]
        return row

    def close(self) -> None:
        with self._lock:
            close = getattr(self._llm, "close", None)
            if close is not None:
                close()


def build_embedder(settings: Settings) -> Embedder:
    """The configured GGUF embedding model, or the lexical default when none is set."""
    if settings.embed_model_path is None:
        return LexicalEmbedder()
    return GgufEmbedder(
        settings.embed_model_path,
        n_threads=settings.effective_threads,
        n_gpu_layers=settings.n_gpu_layers,
    )
