"""Code, paths and model text are shown literally: never markup, never escape sequences.

Every untrusted field the TUI shows carries `[bold]`, `[/]`, `[@click=app.quit]` and a raw
ESC byte (tui_data.HOSTILE). If any of it were parsed as Rich or Textual markup the text
would change (and "quit" would become a link that quits); if the ESC reached the terminal
it could repaint or retitle it. The screen must show the text as typed, with the ESC made
visible as `\\x1b`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Markdown
from tui_data import (
    FIXED_NOW,
    HOSTILE,
    live_events,
    settings_for,
)
from tui_data import (
    hostile_dream as write_hostile_dream,
)

from codedreamer.events import (
    DreamRejected,
    EngineError,
    EventHub,
    GraphChanged,
    HotNode,
    ModelLoaded,
    Notice,
)
from codedreamer.tui.app import DreamerApp
from codedreamer.tui.screens.dream_detail import DreamScreen
from codedreamer.tui.session import TuiSession

LITERAL = "[@click=app.quit]quit[/]"


def hostile_events() -> list[object]:
    events: list[object] = [
        ModelLoaded(role="reasoning", model_name=f"model{HOSTILE}", seconds=0.1),
        *live_events(code=f"x = '{HOSTILE}'\n", text=f"{HOSTILE}\n"),
        DreamRejected(reason=f"reason{HOSTILE}", detail=HOSTILE),
        GraphChanged(
            nodes=1,
            edges=0,
            tiers={"HOT": 1},
            hot=(
                HotNode(
                    node_id=f"code:{HOSTILE}",
                    kind="CODE",
                    label=f"label{HOSTILE}",
                    momentum=1.0,
                    tier="HOT",
                    entanglement=0.0,
                    edges=0,
                ),
            ),
        ),
        EngineError(message=f"error{HOSTILE}"),
        Notice(message=f"notice{HOSTILE}"),
    ]
    return events


def check_screen(svg: str) -> None:
    assert "\x1b" not in svg, "a raw ESC byte reached the screen"
    assert LITERAL in svg, "markup was interpreted instead of shown"
    assert "\\x1b[31mred\\x1b[0m" in svg, "the ESC byte was not made visible"


def test_hostile_text_in_every_pane_is_shown_literally_and_does_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    hostile = write_hostile_dream(settings)
    hub = EventHub()
    app = DreamerApp(
        TuiSession(settings, hub, "local"),
        clock=lambda: FIXED_NOW,
        refresh_dreams_every=0,
        load_graph_files=False,
    )

    async def main() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            for event in hostile_events():
                hub.publish(event)  # type: ignore[arg-type]
            await settle(pilot)
            main_svg = app.export_screenshot()
            check_screen(main_svg)
            for pane in ("label", "reason"):
                assert f"{pane}[bold]x[/]" in main_svg.replace("&#160;", " ")
            # The notifications (error and notice) carry the text as it was, too.
            messages = [n.message for n in app._notifications]
            assert any(LITERAL in m and "\\x1b" in m and "\x1b" not in m for m in messages)

            # Click where "quit" is drawn, and where it would be if the markup had been
            # parsed: a link to app.quit would end the app.
            stream = app.thoughts.query_one("#stream")
            for x in (2, 29):
                await pilot.click(stream, offset=(x, 1))
            await pilot.pause(0.1)
            assert app.is_running and not app.quitting

            app.open_dream(hostile.id)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, DreamScreen)
            source = screen.query_one(Markdown).source
            assert LITERAL in source and "\x1b" not in source
            check_screen(app.export_screenshot())
            await pilot.press("escape")

    asyncio.run(main())


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause(0.1)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.05)
