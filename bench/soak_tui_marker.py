"""Mark dreams through the TUI's own code path while the soak's daemon writes.

    python -m bench.soak_tui_marker JOBS_JSON PACE_SECONDS

The real `DreamerApp` in viewer mode, headless (Textual's test driver), marks each
`[dream_id, status]` of JOBS_JSON in order with `DreamerApp.mark`, the method the a/r/d/u
keys end in: a worker thread calls `DreamStore.set_status` and posts `DreamMarked`. Each
mark is waited for before the next, as a user's key presses are. Between marks it waits a
random 0..2×PACE_SECONDS, so marks spread over the soak. Prints one JSON line per mark:
`{"id": ..., "status": ..., "result": ...}`: "ok" when, once the app has handled the mark,
it shows the new status throughout the next two reloads of the dream files; "stale view:
..." when a reload showed an older status in between (the file was right, the view was
not, until the reload after); else what went wrong.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from typing import Any

REFRESH_SEC = 1.0
"""How often the app re-reads the dream files (the app's default is 5 s)."""


def _shown(app: Any, dream_id: str) -> str:
    shown = app.dream_by_id(dream_id)
    return str(shown.status.value) if shown is not None else "not shown"


async def run(jobs: list[tuple[str, str]], pace: float) -> list[dict[str, str]]:
    from codedreamer.config.settings import load_settings
    from codedreamer.events import EventHub
    from codedreamer.storage.dream import Status
    from codedreamer.tui.app import DreamerApp, DreamMarked
    from codedreamer.tui.session import TuiSession

    handled: list[str] = []

    class App(DreamerApp):
        def on_dream_marked(self, message: DreamMarked) -> None:
            super().on_dream_marked(message)
            handled.append(message.dream.id)

    settings = load_settings(env_file=None).settings
    session = TuiSession(settings, EventHub(), "viewer")
    app = App(session, refresh_dreams_every=REFRESH_SEC, load_graph_files=False)
    rng = random.Random()
    results: list[dict[str, str]] = []
    async with app.run_test(headless=True, size=(100, 32)) as pilot:
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        for dream_id, status in jobs:
            await asyncio.sleep(rng.uniform(0, 2 * pace))
            handled.clear()
            app.mark(dream_id, Status(status))
            await app.workers.wait_for_complete()
            for _ in range(500):  # the app handles DreamMarked (or never: a failed mark)
                if dream_id in handled:
                    break
                await asyncio.sleep(0.01)
            if dream_id not in handled:
                result = f"no DreamMarked; shown as {_shown(app, dream_id)}"
            else:
                # Watch the view for two reload periods: it must keep showing the mark.
                seen = []
                for _ in range(int(2 * REFRESH_SEC / 0.05)):
                    seen.append(_shown(app, dream_id))
                    await asyncio.sleep(0.05)
                wrong = [s for s in seen if s != status]
                if not wrong:
                    result = "ok"
                elif seen[-1] == status:
                    result = f"stale view: showed {wrong[0]} after the mark, then {status}"
                else:
                    result = f"shown as {seen[-1]}, not {status}"
            results.append({"id": dream_id, "status": status, "result": result})
    return results


def main(argv: list[str]) -> int:
    jobs = [(str(a), str(b)) for a, b in json.loads(argv[0])]
    pace = float(argv[1]) if len(argv) > 1 else 0.0
    for result in asyncio.run(run(jobs, pace)):
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
