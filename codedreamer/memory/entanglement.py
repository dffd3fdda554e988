"""Entanglement: how connected a node is, from its weighted degree, in one vectorised pass.

    strength(v)     = sum of the weights of every edge touching v (in or out)
    entanglement(v) = 1 − exp(−strength(v) / SATURATION)

Direction is ignored on purpose: a function that many dreams are *about* is as entangled
as a dream that is about many functions. The saturating map keeps the value in [0, 1)
and independent of graph size, unlike degree/(N − 1), which shrinks as the graph grows.
docs/graph_edges.md argues the choice against PageRank and other centralities.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Strength at which entanglement reaches 1 − 1/e ≈ 0.63: roughly a function in a file
# (0.5), imported twice (2 × 0.7) and with one close neighbour (≈ 0.9) plus one dream.
SATURATION = 3.0


def strength(src: IntArray, dst: IntArray, weight: FloatArray, size: int) -> FloatArray:
    """Weighted degree of nodes 0..size-1 for the edges (src[i], dst[i], weight[i])."""
    outgoing = np.bincount(src, weights=weight, minlength=size)[:size]
    incoming = np.bincount(dst, weights=weight, minlength=size)[:size]
    total: FloatArray = (outgoing + incoming).astype(np.float64, copy=False)
    return total


def entanglement_from_strength(values: FloatArray, saturation: float = SATURATION) -> FloatArray:
    result: FloatArray = -np.expm1(-values / saturation)
    return result


def entanglement(
    src: IntArray, dst: IntArray, weight: FloatArray, size: int, saturation: float = SATURATION
) -> FloatArray:
    """Entanglement in [0, 1) of nodes 0..size-1."""
    return entanglement_from_strength(strength(src, dst, weight, size), saturation)
