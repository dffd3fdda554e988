"""Blocked top-k cosine neighbours agree with a brute-force reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from codedreamer.memory import similarity
from codedreamer.memory.similarity import normalised_rows, top_k_pairs


def brute_force(vectors: np.ndarray, k: int, threshold: float) -> set[tuple[int, int]]:
    unit = normalised_rows(vectors).astype(np.float64)
    n = len(unit)
    sims = unit @ unit.T
    pairs: set[tuple[int, int]] = set()
    for i in range(n):
        others = sorted((j for j in range(n) if j != i), key=lambda j: -sims[i, j])[:k]
        for j in others:
            if sims[i, j] >= threshold:
                pairs.add((min(i, j), max(i, j)))
    return pairs


@pytest.mark.parametrize(("k", "threshold"), [(1, 0.0), (3, 0.2), (5, -1.0), (50, 0.5)])
def test_matches_brute_force_across_blocks(
    monkeypatch: pytest.MonkeyPatch, k: int, threshold: float
) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    monkeypatch.setattr(similarity, "BLOCK_ENTRIES", 40 * 7)  # blocks of 7 rows
    lo, hi, sims = top_k_pairs(vectors, k, threshold)
    assert set(zip(lo.tolist(), hi.tolist(), strict=True)) == brute_force(vectors, k, threshold)
    assert np.all(lo < hi)
    unit = normalised_rows(vectors)
    np.testing.assert_allclose(sims, np.einsum("ij,ij->i", unit[lo], unit[hi]), rtol=1e-5)


def test_each_pair_once_and_zero_vectors_never_match() -> None:
    vectors = np.array([[1, 0], [1, 0], [0, 0], [np.nan, 1]], dtype=np.float32)
    lo, hi, sims = top_k_pairs(vectors, 3, 0.5)
    pairs = list(zip(lo.tolist(), hi.tolist(), strict=True))
    assert (0, 1) in pairs and len(pairs) == len(set(pairs))
    assert all(2 not in pair for pair in pairs)
    assert sims.dtype == np.float32


def test_degenerate_inputs() -> None:
    assert top_k_pairs(np.zeros((1, 4)), 3, 0.0)[0].size == 0
    with pytest.raises(ValueError, match="k must be"):
        top_k_pairs(np.zeros((3, 4)), 0, 0.0)
    with pytest.raises(ValueError, match="2-D"):
        top_k_pairs(np.zeros(3), 1, 0.0)
    # All pairs requested: every pair above the threshold exactly once.
    lo, hi, _ = top_k_pairs(np.ones((4, 2)), 10, 0.9)
    assert set(zip(lo.tolist(), hi.tolist(), strict=True)) == set(
        itertools.combinations(range(4), 2)
    )
