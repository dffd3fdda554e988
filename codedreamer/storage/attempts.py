"""Rejected attempts, kept so a rejected answer cannot come back later as "new".

One JSON object per line in `<DATA_DIR>/attempts.jsonl`, appended with a single write
(O_APPEND), so concurrent writers never interleave inside a line and a crash leaves at
most one torn last line, which the reader skips. Only the newest `MAX_KEPT` are read.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from codedreamer.storage.atomic import append_whole_lines

MAX_KEPT = 500
"""Newest attempts compared with each new answer: validation embeds them every cycle."""
MAX_TEXT = 4000


@dataclass(frozen=True)
class Attempt:
    text: str
    reason: str
    title: str = ""
    symbol: str = ""
    category: str = ""
    path: str = ""
    created: float = 0.0


class AttemptLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: list[Attempt] | None = None

    def append(self, attempt: Attempt) -> None:
        line = json.dumps({**asdict(attempt), "text": attempt.text[:MAX_TEXT]}, ensure_ascii=True)
        append_whole_lines(self.path, (line + "\n").encode("ascii"))
        if self._cache is not None:
            self._cache = [*self._cache[-(MAX_KEPT - 1) :], attempt]

    def read(self) -> list[Attempt]:
        """The newest attempts, oldest first; unreadable lines are skipped."""
        if self._cache is not None:
            return list(self._cache)
        attempts: list[Attempt] = []
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        for line in lines[-MAX_KEPT:]:
            try:
                attempts.append(Attempt(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        self._cache = attempts
        return list(attempts)
