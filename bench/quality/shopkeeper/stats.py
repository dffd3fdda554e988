"""Live visit statistics, updated by the web server's worker threads."""

from __future__ import annotations

import threading


class VisitCounter:
    def __init__(self) -> None:
        self.count = 0
        self.by_page: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, page: str) -> None:
        self.count += 1
        self.by_page[page] = self.by_page.get(page, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.by_page)
