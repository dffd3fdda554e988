"""Mark dreams through the TUI's own code path while the soak's daemon writes.

    python -m bench.soak_tui_marker JOBS_JSON PACE_SECONDS

The real `DreamerApp` in viewer mode, headless (Textual's test driver), marks each
`[dream_id, status]` of JOBS_JSON in order with `DreamerApp.mark`, the method the a/r/d/u
keys end in: a worker thread calls `DreamStore.set_status` and posts `DreamMarked`. Each
mark is waited for before the next, as a user's key presses are. Between marks it waits a
random 0..2×PACE_SECONDS, so marks spread over the soak. Prints one JSON line per mark:
`{"id": ..., "status": ..., "result": "ok" | <error text>}`.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from typing import Any


def _result_of(app: Any, dream_id: str, status: str) -> str:
    """ "ok" when the app shows the dream with its new status (a failed mark is only a
    notification in the app, so the status shown is what tells)."""
    shown = app.dream_by_id(dream_id)
    if shown is None:
        return "not shown"
    value = str(shown.status.value)
    return "ok" if value == status else f"shown as {value}, not {status}"


async def run(jobs: list[tuple[str, str]], pace: float) -> list[dict[str, str]]:
    from codedreamer.config.settings import load_settings
    from codedreamer.events import EventHub
    from codedreamer.storage.dream import Status
    from codedreamer.tui.app import DreamerApp
    from codedreamer.tui.session import TuiSession

    settings = load_settings(env_file=None).settings
    session = TuiSession(settings, EventHub(), "viewer")
    app = DreamerApp(session, refresh_dreams_every=1.0, load_graph_files=False)
    rng = random.Random()
    results: list[dict[str, str]] = []
    async with app.run_test(headless=True, size=(100, 32)) as pilot:
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        for dream_id, status in jobs:
            await asyncio.sleep(rng.uniform(0, 2 * pace))
            app.mark(dream_id, Status(status))
            await app.workers.wait_for_complete()
            await pilot.pause(0.02)  # let DreamMarked be handled
            results.append(
                {"id": dream_id, "status": status, "result": _result_of(app, dream_id, status)}
            )
    return results


def main(argv: list[str]) -> int:
    jobs = [(str(a), str(b)) for a, b in json.loads(argv[0])]
    pace = float(argv[1]) if len(argv) > 1 else 0.0
    for result in asyncio.run(run(jobs, pace)):
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
