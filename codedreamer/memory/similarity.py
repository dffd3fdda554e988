"""Nearest neighbours by cosine similarity, in blocks of matrix products (no Python pair loop).

Used to create `similar` edges from stored embeddings: for each vector its top-k most similar
other vectors above a threshold, returned as unordered pairs (i < j), each pair once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Cap on the similarity block held at once (rows × n entries of float32): about 64 MB.
BLOCK_ENTRIES = 1 << 24


def normalised_rows(vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (float32); all-zero or non-finite rows become zero."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D matrix of vectors, got shape {matrix.shape}")
    matrix = np.where(np.isfinite(matrix), matrix, 0.0).astype(np.float32, copy=False)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    safe = np.where(norms > 0, norms, 1.0)
    result: npt.NDArray[np.float32] = (matrix / safe).astype(np.float32, copy=False)
    return result


def top_k_pairs(
    vectors: npt.ArrayLike, k: int, threshold: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Unordered pairs (i, j, cosine) with i < j where j is among i's k nearest or vice versa.

    Only pairs with cosine >= threshold are kept. Work is O(n² · d) in BLAS matrix
    products of at most BLOCK_ENTRIES entries each, plus O(n · k) bookkeeping.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    unit = normalised_rows(vectors)
    n = unit.shape[0]
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
    if n < 2:
        return empty
    k = min(k, n - 1)
    rows_per_block = max(1, min(n, BLOCK_ENTRIES // n))
    found_i: list[npt.NDArray[np.int64]] = []
    found_j: list[npt.NDArray[np.int64]] = []
    found_s: list[npt.NDArray[np.float32]] = []
    for start in range(0, n, rows_per_block):
        stop = min(n, start + rows_per_block)
        sims = unit[start:stop] @ unit.T
        local = np.arange(stop - start)
        sims[local, start + local] = -np.inf  # never your own neighbour
        if k < n - 1:
            cols = np.argpartition(sims, n - k, axis=1)[:, n - k :]
        else:
            cols = np.broadcast_to(np.arange(n), sims.shape)
        best = np.take_along_axis(sims, cols, axis=1)
        keep = best >= threshold
        rows = np.broadcast_to(local[:, None] + start, cols.shape)
        found_i.append(rows[keep].astype(np.int64))
        found_j.append(cols[keep].astype(np.int64))
        found_s.append(best[keep].astype(np.float32))
    if not found_i:
        return empty
    i = np.concatenate(found_i)
    j = np.concatenate(found_j)
    s = np.concatenate(found_s)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    _, first = np.unique(lo * n + hi, return_index=True)
    return lo[first], hi[first], s[first]
