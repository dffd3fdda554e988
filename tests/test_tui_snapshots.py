"""SVG snapshots of the main screen at 80×24 (an SSH terminal) and 160×50, and of a dream.

The data is real (dream files, a saved graph summarised at a fixed time, the engine's
events) and fixed, and the app's clock is fixed, so a snapshot changes only when the
screen does. Update after a deliberate change with `pytest tests/test_tui_snapshots.py
--snapshot-update`, and look at the new SVGs before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_data import (
    FIXED_NOW,
    build_graph,
    finished_stage,
    graph_event,
    live_events,
    settings_for,
    write_dreams,
)

from codedreamer.events import EventHub
from codedreamer.tui.app import DreamerApp
from codedreamer.tui.session import TuiSession

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dream times are shown in local time: pin it."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def dashboard(tmp_path: Path) -> tuple[DreamerApp, Callable[[Pilot[Any]], Any]]:
    settings = settings_for(tmp_path)
    dreams = write_dreams(settings)
    graph = build_graph(settings, dreams)
    hub = EventHub()
    app = DreamerApp(
        TuiSession(settings, hub, "local"),
        clock=lambda: FIXED_NOW,
        refresh_dreams_every=0,
        load_graph_files=False,
    )

    async def feed(pilot: Pilot[Any]) -> None:
        for event in live_events():
            hub.publish(event)
        hub.publish(graph_event(graph))
        hub.publish(finished_stage(23.5))
        await pilot.pause(0.2)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)

    return app, feed


def test_dashboard_80x24(tmp_path: Path, snap_compare: SnapCompare) -> None:
    app, feed = dashboard(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=feed)


def test_dashboard_160x50(tmp_path: Path, snap_compare: SnapCompare) -> None:
    app, feed = dashboard(tmp_path)
    assert snap_compare(app, terminal_size=(160, 50), run_before=feed)


def test_dream_detail_80x24(tmp_path: Path, snap_compare: SnapCompare) -> None:
    app, feed = dashboard(tmp_path)

    async def open_top_dream(pilot: Pilot[Any]) -> None:
        await feed(pilot)
        await pilot.press("enter")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_top_dream)
