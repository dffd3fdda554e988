"""Momentum math: exponential decay, activation and tiers, as pure vectorised functions.

Momentum is a number in [0, 1] saying how much a node is "on the mind". It decays
exponentially with the time since that node's *last decay* — never since its creation or
last access — so decaying over [t0, t1] and then [t1, t2] gives exactly what one decay
over [t0, t2] gives; how often the decay runs does not change the result. Activation (a
node used in a prompt, or referenced by a new dream) moves momentum a fixed fraction of the
way towards 1, so it can never leave [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from codedreamer.memory.graph_types import Tier

FloatArray = npt.NDArray[np.float64]

HOT_THRESHOLD = 0.8
WARM_THRESHOLD = 0.4

# A node nobody touches halves its momentum every day: a fresh dream (1.0) stays HOT for
# about 7.7 h and WARM for about 32 h; CODE synced at 0.5 turns COLD after about 7.7 h.
DEFAULT_HALF_LIFE_SEC = 24 * 3600.0

# One activation closes half of the gap to 1: COLD 0.2 -> 0.6 (WARM) -> 0.8 (HOT).
DEFAULT_ACTIVATION_BOOST = 0.5

TIER_CODES: tuple[Tier, ...] = (Tier.COLD, Tier.WARM, Tier.HOT)


def decay_rate(half_life_sec: float) -> float:
    """λ in `exp(-λ·Δt)` for a half-life in seconds."""
    if not half_life_sec > 0 or not math.isfinite(half_life_sec):
        raise ValueError(f"half-life must be a positive number of seconds (got {half_life_sec!r})")
    return math.log(2.0) / half_life_sec


def decay_factor(elapsed_sec: FloatArray, half_life_sec: float) -> FloatArray:
    """`exp(-λ·Δt)` per element; negative spans (a clock that went back) do not decay."""
    return np.exp(-decay_rate(half_life_sec) * np.maximum(elapsed_sec, 0.0))


def decayed(
    momentum: FloatArray, last_decay: FloatArray, now: float, half_life_sec: float
) -> FloatArray:
    """Momentum at time `now` for nodes last decayed at `last_decay` (a new array)."""
    result: FloatArray = momentum * decay_factor(now - last_decay, half_life_sec)
    return result


def activated(momentum: FloatArray, boost: float = DEFAULT_ACTIVATION_BOOST) -> FloatArray:
    """Momentum after one activation: `m + boost·(1 − m)`, which stays inside [0, 1]."""
    if not 0.0 <= boost <= 1.0:
        raise ValueError(f"activation boost must be in [0, 1] (got {boost!r})")
    result: FloatArray = momentum + boost * (1.0 - momentum)
    return result


def tier_codes(momentum: FloatArray) -> npt.NDArray[np.int8]:
    """0 = COLD, 1 = WARM, 2 = HOT per element (index into `TIER_CODES`)."""
    codes = (momentum >= WARM_THRESHOLD).astype(np.int8)
    codes += momentum >= HOT_THRESHOLD
    return codes


def tier_of(momentum: float) -> Tier:
    if momentum >= HOT_THRESHOLD:
        return Tier.HOT
    if momentum >= WARM_THRESHOLD:
        return Tier.WARM
    return Tier.COLD
