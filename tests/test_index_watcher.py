"""The live indexer with real inotify watches (watchfiles), and its polling fallback."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from test_index_indexer import _age, _write, make_settings

from codedreamer.index.indexer import IndexReport, index_codebase, open_index
from codedreamer.index.store import IndexStore
from codedreamer.index.watcher import LiveIndexer


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return time.monotonic() - started


def _found(store: IndexStore, words: str) -> bool:
    return bool(store.search(words, k=1, mode="text"))


def test_edits_new_directories_and_deletes_reach_the_index(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _age(_write(root, "src/a.py", "def alpha():\n    return 1\n"))
    _write(root, ".gitignore", "generated/\n")
    settings = make_settings(tmp_path)
    store = open_index(settings)
    index_codebase(root, settings, store=store)
    updates: list[IndexReport] = []
    with LiveIndexer(root, settings, store, debounce_ms=200, on_update=updates.append) as live:
        _wait(lambda: live.mode == "watch")
        time.sleep(0.3)
        assert live.watched_dirs == 2  # the root and src/, not generated/
        _write(
            root, "src/a.py", "def alpha():\n    return 1\n\n\ndef zebraQuokkaFinder():\n    pass\n"
        )
        assert _wait(lambda: _found(store, "zebra quokka")) < 5
        _write(root, "newpkg/b.py", "def bravoLimaThing():\n    pass\n")
        _wait(lambda: _found(store, "bravo lima"))
        _write(root, "generated/c.py", "def ignoredCharlieThing():\n    pass\n")
        (root / "src/a.py").unlink()
        _wait(lambda: not store.chunks_for_path("src/a.py"))
    assert not _found(store, "ignored charlie")
    assert live.mode == "stopped" and live.errors == 0
    assert sum(r.files_indexed for r in updates) >= 2


def test_a_touch_without_change_is_hash_checked_not_reindexed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    path = _write(root, "a.py", "def alpha():\n    return 1\n")
    settings = make_settings(tmp_path)
    store = open_index(settings)
    index_codebase(root, settings, store=store)
    live = LiveIndexer(root, settings, store)
    report = live.indexer.update_paths([path])
    assert (report.files_indexed, report.files_unchanged) == (0, 1)


def test_falls_back_to_polling_when_watches_run_out(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _age(_write(root, "a.py", "def alpha():\n    return 1\n"))
    settings = make_settings(tmp_path)
    store = open_index(settings)
    index_codebase(root, settings, store=store)

    def exhausted(*paths: Any, **options: Any) -> Iterator[set[tuple[Any, str]]]:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")
        yield set()  # pragma: no cover - makes this a generator like watchfiles.watch

    with LiveIndexer(root, settings, store, poll_interval=0.2, watch_fn=exhausted) as live:
        _wait(lambda: live.mode == "poll")
        _age(_write(root, "b.py", "def pollingFoundThis():\n    pass\n"), 5)
        _wait(lambda: _found(store, "polling found"))


def test_a_failed_catch_up_scan_is_retried_and_watching_goes_on(tmp_path: Path) -> None:
    """A full disk during the start-up scan used to switch live indexing to 30-second
    polling for the rest of the run."""
    root = tmp_path / "repo"
    _age(_write(root, "a.py", "def alpha():\n    return 1\n"))
    settings = make_settings(tmp_path)
    store = open_index(settings)
    index_codebase(root, settings, store=store)
    # Changed before the watcher starts: no event will report it, only the catch-up scan.
    _age(_write(root, "b.py", "def caughtUpLater():\n    pass\n"), 5)
    live = LiveIndexer(root, settings, store, debounce_ms=200)
    real_run = live.indexer.run
    failures = [OSError(errno.ENOSPC, "No space left on device")]

    def run_once_failing(*args: Any, **kwargs: Any) -> IndexReport:
        if failures:
            raise failures.pop()
        return real_run(*args, **kwargs)

    live.indexer.run = run_once_failing  # type: ignore[method-assign]
    with live:
        _wait(lambda: live.errors == 1)
        assert live.mode == "watch"
        _wait(lambda: _found(store, "caught up later"), timeout=15)  # at the next quiet spell
        assert live.mode == "watch"
