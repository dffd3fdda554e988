"""Momentum math: decay that never compounds, activation inside [0, 1], tier boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codedreamer.memory import momentum as mm
from codedreamer.memory.entanglement import entanglement, strength
from codedreamer.memory.graph_types import Tier

DAY = 86400.0
unit = st.floats(min_value=0.0, max_value=1.0)
span = st.floats(min_value=0.0, max_value=30 * DAY)


def test_half_life_halves_momentum() -> None:
    out = mm.decayed(np.array([1.0, 0.5]), np.array([0.0, 0.0]), DAY, half_life_sec=DAY)
    np.testing.assert_allclose(out, [0.5, 0.25])


@given(m=unit, first=span, second=span)
def test_decay_over_split_intervals_equals_one_decay(m: float, first: float, second: float) -> None:
    start = np.array([m])
    t0 = np.array([1000.0])
    once = mm.decayed(start, t0, 1000.0 + first + second, mm.DEFAULT_HALF_LIFE_SEC)
    halfway = mm.decayed(start, t0, 1000.0 + first, mm.DEFAULT_HALF_LIFE_SEC)
    twice = mm.decayed(halfway, t0 + first, 1000.0 + first + second, mm.DEFAULT_HALF_LIFE_SEC)
    np.testing.assert_allclose(twice, once, rtol=1e-12, atol=1e-15)


def test_many_small_decays_equal_one_big_decay_unlike_the_original() -> None:
    # Hourly decays for a day: the original subtracted the *total* age each hour.
    m, last = np.array([1.0]), np.array([0.0])
    for hour in range(1, 25):
        m = mm.decayed(m, last, hour * 3600.0, DAY)
        last = np.array([hour * 3600.0])
    assert m[0] == pytest.approx(0.5, rel=1e-12)


def test_a_clock_that_goes_back_does_not_decay() -> None:
    out = mm.decayed(np.array([0.7]), np.array([100.0]), 50.0, DAY)
    assert out[0] == 0.7


@given(m=unit, boost=unit)
def test_activation_moves_towards_one_and_stays_in_range(m: float, boost: float) -> None:
    out = float(mm.activated(np.array([m]), boost)[0])
    assert m - 1e-12 <= out <= 1.0
    assert out == pytest.approx(m + boost * (1 - m))


def test_repeated_activation_reaches_hot() -> None:
    m = np.array([0.1])
    m = mm.activated(m)
    assert mm.tier_of(float(m[0])) is Tier.WARM
    m = mm.activated(mm.activated(m))
    assert mm.tier_of(float(m[0])) is Tier.HOT


def test_tier_boundaries() -> None:
    values = np.array([0.0, 0.399999, 0.4, 0.799999, 0.8, 1.0])
    expected = [Tier.COLD, Tier.COLD, Tier.WARM, Tier.WARM, Tier.HOT, Tier.HOT]
    assert [mm.tier_of(float(v)) for v in values] == expected
    assert [mm.TIER_CODES[c] for c in mm.tier_codes(values)] == expected


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="half-life"):
        mm.decay_rate(0.0)
    with pytest.raises(ValueError, match="half-life"):
        mm.decay_rate(math.inf)
    with pytest.raises(ValueError, match="boost"):
        mm.activated(np.array([0.5]), 1.5)


def test_entanglement_is_weighted_degree_saturated() -> None:
    # 0 -> 1 (0.5), 2 -> 0 (1.0): node 0 touches both, direction ignored.
    src, dst, w = np.array([0, 2]), np.array([1, 0]), np.array([0.5, 1.0])
    np.testing.assert_allclose(strength(src, dst, w, 4), [1.5, 0.5, 1.0, 0.0])
    ent = entanglement(src, dst, w, 4, saturation=3.0)
    np.testing.assert_allclose(ent, 1 - np.exp(-np.array([1.5, 0.5, 1.0, 0.0]) / 3.0))
    assert ent[3] == 0.0 and np.all(ent < 1.0)
