"""A short run of the kill -9 soak in its storing mode (bench/soak.py): real daemon processes,
real files and a real git repo, SIGKILLed inside the dream-save and verification windows.

The full soak (50 kills per mode) is `python -m bench.soak`; this runs three kills so a
change that breaks crash safety of a stored or verified dream fails in the test suite.
"""

from __future__ import annotations

from argparse import Namespace

import pytest

from bench.soak import run_mode, window_group, window_lengths
from bench.soak_model import ScriptedModel, seed_names, think_answer


@pytest.mark.slow
def test_three_kills_in_the_storing_mode_lose_and_leave_nothing() -> None:
    result = run_mode("storing", Namespace(kills=3, marks=8, tui_marks=2, seed=3))
    assert result.ok, result.checks
    assert [k.target for k in result.kills] == ["store", "verify", "store"]
    # Each kill waited for its window to open: none landed before the first cycle. After
    # it, the engine verifies dreams an earlier kill left unverified: a bare "scratch".
    after_first_cycle = ("cycle", "idle", "maintain", "graph", "scratch")
    assert all(k.phase.startswith(after_first_cycle) for k in result.kills), [
        k.phase for k in result.kills
    ]
    assert any(window_group(k.phase) in ("dream-save", "verify") for k in result.kills), [
        k.phase for k in result.kills
    ]
    # The clean run after the kills stored and verified a dream, so the mode really stores.
    assert result.stats["engine_dreams"] >= 1 and result.stats["verified"] >= 1
    assert result.checks["CLI marks whose last status was lost"].startswith("0 ")
    assert result.checks["TUI marks whose last status was lost"].startswith("0 ")


def test_window_lengths_are_read_from_the_phase_log() -> None:
    lines = [
        (1.0, "cycle"),
        (1.5, "cycle/store"),
        (1.52, "cycle/store/dream_file"),
        (1.6, "cycle/store"),
        (1.7, "cycle"),
        (1.8, "cycle/verify"),
        (2.1, "cycle"),
        (3.0, "cycle/store"),  # still open when killed: not a complete window
    ]
    assert [round(x, 3) for x in window_lengths(lines, "cycle/store")] == [0.2]
    assert [round(x, 3) for x in window_lengths(lines, "cycle/verify")] == [0.3]


def test_scripted_answers_name_the_seed_and_differ_every_time() -> None:
    prompt = (
        "Code from inventory.py, lines 13-19 (Inventory.remove_item):\n```python\n"
        "def remove_item(self, name, quantity):\n    current = self.items[name]\n```"
    )
    assert seed_names(prompt) == ["remove_item"]
    model = ScriptedModel(seconds_per_piece=0.0, seed=1)
    first, second = (think_answer(prompt, model.rng) for _ in range(2))
    assert "`remove_item`" in first and "`remove_item`" in second
    assert first != second
    assert first.startswith("TITLE: ") and "\nINSIGHT: " in first and "\nPLAN: 1. " in first
