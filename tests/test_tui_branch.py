"""The TUI's `b`: verify the selected dream and commit it on branch dream/<id>, on a real repo."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot
from tui_data import settings_for
from verify_repo import GOOD_DIFF, Repo, git, make_repo

from codedreamer.events import EventHub
from codedreamer.storage.dream import Status
from codedreamer.storage.store import DreamStore
from codedreamer.tui.app import DreamerApp
from codedreamer.tui.session import TuiSession


def _run(app: DreamerApp, keys: list[str]) -> None:
    async def main() -> None:
        async with app.run_test(size=(100, 32)) as pilot:
            await _settle(pilot)
            for key in keys:
                await pilot.press(key)
                await _settle(pilot)

    asyncio.run(main())


async def _settle(pilot: Pilot[None]) -> None:
    await pilot.pause(0.1)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


def _app(tmp_path: Path, repo: Repo) -> DreamerApp:
    settings = settings_for(tmp_path, DREAMER_DREAMS_DIR=str(repo.store.dreams_dir))
    session = TuiSession(settings, EventHub(), "viewer", codebase=repo.root)
    return DreamerApp(session, refresh_dreams_every=0)  # type: ignore[arg-type]


def test_b_verifies_and_lands_the_selected_dream_on_its_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    dream_id = repo.dream(diff=GOOD_DIFF)
    before = repo.state()
    _run(_app(tmp_path, repo), ["b"])
    dream = DreamStore(repo.store.dreams_dir).load(dream_id)
    assert dream.status == Status.APPLIED and dream.branch == f"dream/{dream_id}"
    assert dream.verification["status"] == "verified"
    assert "return width * height" in git(repo.root, "show", f"dream/{dream_id}:shapes.py")
    assert repo.state() == before  # the user's checkout, index and branch untouched


def test_b_on_a_dream_whose_patch_does_not_apply_leaves_it_pending(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    dream_id = repo.dream(diff=GOOD_DIFF.replace("total = 0", "total = 1"))
    _run(_app(tmp_path, repo), ["b"])
    dream = DreamStore(repo.store.dreams_dir).load(dream_id)
    assert dream.status == Status.PENDING and not dream.branch
    assert dream.verification["status"] == "failed"
    assert f"dream/{dream_id}" not in git(repo.root, "branch", "--list")
