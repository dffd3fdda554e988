"""Keep the index current while CodeDreamer runs: watchfiles in a thread, polling as fallback.

Only directories that hold indexable files are watched, each non-recursively: a recursive
watch on the root would also register every ignored directory (node_modules, build
output) with inotify, and large trees run out of watches. When a directory appears or
disappears the watch set is recomputed and a full (mtime-gated, cheap) scan catches what
happened in between. Changes are debounced, then hash-checked by the indexer, so editors
that touch files without changing them cost nothing. If watching fails (for example
ENOSPC: inotify watch limit reached) the thread falls back to a periodic scan.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from codedreamer.index.indexer import Indexer, IndexReport
from codedreamer.index.walker import watch_dirs

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings
    from codedreamer.index.store import IndexStore

log = logging.getLogger(__name__)

WatchFn = Callable[..., Iterator[set[tuple[Any, str]]]]
# No change for this long counts as idle: maintenance (compaction, index builds) runs then.
IDLE_MS = 3000
Mode = Literal["starting", "watch", "poll", "stopped"]


class LiveIndexer:
    """Re-indexes changed files in a background thread until `stop()`.

    `on_update` is called (from the thread) with the report of each batch that changed
    the index. `watch_fn` replaces `watchfiles.watch` in tests of the fallback logic.
    """

    def __init__(
        self,
        codebase: Path,
        settings: Settings,
        store: IndexStore,
        *,
        debounce_ms: int = 400,
        poll_interval: float = 30.0,
        on_update: Callable[[IndexReport], None] | None = None,
        watch_fn: WatchFn | None = None,
        include_tests: bool | None = None,
    ) -> None:
        # `include_tests` must match how the index was built, or the catch-up scan would
        # add or remove every test file (None: the INCLUDE_TESTS setting).
        self.indexer = Indexer(codebase, settings, store, workers=1, include_tests=include_tests)
        self.debounce_ms = debounce_ms
        self.poll_interval = poll_interval
        self.on_update = on_update
        self._watch_fn = watch_fn
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mode: Mode = "starting"
        self.errors = 0
        self.watched_dirs = 0
        self._scan_pending = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="codedreamer-live-index", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.mode = "stopped"

    def __enter__(self) -> LiveIndexer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ thread

    def _run(self) -> None:
        try:
            self._watch_loop()
        except Exception as exc:  # any failure of the OS watch: keep the index current anyway
            if self._stop.is_set():
                return
            log.warning(
                "file watching failed (%s); scanning every %.0f s instead", exc, self.poll_interval
            )
            self._poll_loop()

    def _watch_fn_or_default(self) -> WatchFn:
        if self._watch_fn is not None:
            return self._watch_fn
        from watchfiles import watch

        return watch

    def _watch_loop(self) -> None:
        watch = self._watch_fn_or_default()
        while not self._stop.is_set():
            dirs = watch_dirs(self.indexer.codebase, self.indexer.rules)
            self.watched_dirs = len(dirs)
            watched = set(dirs)
            restart = False
            caught_up = False
            for changes in watch(
                *dirs,
                watch_filter=None,
                debounce=self.debounce_ms,
                step=50,
                stop_event=self._stop,
                rust_timeout=IDLE_MS,
                yield_on_timeout=True,
                recursive=False,
                ignore_permission_denied=True,
                raise_interrupt=False,
            ):
                if not caught_up:
                    # The OS watch is live once the first batch (or timeout) arrives; a scan
                    # now catches edits made between start() and then, which no event reports.
                    # The ANN index build (seconds on big tables) waits for idle maintenance,
                    # so edits that arrive meanwhile are not held up behind it.
                    caught_up = True
                    self.mode = "watch"
                    self._catch_up()
                    if not changes:
                        # Start-up is not idleness: maintenance waits for a real quiet spell.
                        continue
                if not changes:
                    # Quiet for IDLE_MS: the moment for index builds and compaction, and for
                    # a catch-up scan that failed (a full disk) to be tried again.
                    if self._scan_pending:
                        self._catch_up()
                    self._maintain()
                    continue
                paths = {Path(raw) for _change, raw in changes}
                restart = any(
                    (p in watched and not p.exists()) or (p not in watched and p.is_dir())
                    for p in paths
                )
                self._apply(p for p in paths if not p.is_dir())
                if restart:
                    break
            if restart and not self._stop.is_set():
                # New or removed directories: catch up on what happened before the re-watch.
                self._catch_up()
            elif not restart:
                return

    def _catch_up(self) -> None:
        """Scan for changes no event reported. A failed scan (a full disk, say) is not a
        failed OS watch: it is logged and tried again at the next quiet moment."""
        try:
            self._report(self.indexer.run(build_ann=False))
            self._scan_pending = False
        except Exception as exc:
            self._scan_pending = True
            self.errors += 1
            log.warning("live index scan failed (retried when quiet): %s", exc)

    def _poll_loop(self) -> None:
        self.mode = "poll"
        while not self._stop.wait(self.poll_interval):
            try:
                self._report(self.indexer.run())
            except Exception as exc:  # keep polling; one bad scan must not end live indexing
                self.errors += 1
                log.warning("live index scan failed: %s", exc)

    def _maintain(self) -> None:
        try:
            self.indexer.store.maintain()
        except Exception as exc:  # maintenance is retried at the next quiet moment
            self.errors += 1
            log.warning("index maintenance failed: %s", exc)

    def _apply(self, paths: Iterable[Path]) -> None:
        todo = list(paths)
        if not todo:
            return
        try:
            self._report(self.indexer.update_paths(todo, maintain=False))
        except Exception as exc:  # a failed batch is retried by the next change or scan
            self.errors += 1
            log.warning("live index update failed: %s", exc)

    def _report(self, report: IndexReport) -> None:
        changed = report.files_indexed or report.files_removed
        if changed and self.on_update is not None:
            self.on_update(report)
