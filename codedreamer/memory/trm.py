"""TRM, the temporal recursive memory: insights from earlier cycles, fed back into prompts.

Each memory has a salience in [0, 1] that decays exponentially with the time since it was
last updated (half-life `half_life_sec`) and is reinforced when a cycle uses it. Recall
picks the most salient memories with diversity: a memory injected in one of the last
`rest_rounds` recalls waits, and one too similar (word Jaccard) to a memory already picked
is skipped, so the same few insights are not injected forever. Persisted as one JSON file
written atomically; a corrupt file is moved aside and reported, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from codedreamer.storage.atomic import atomic_write_text

HALF_LIFE_SEC = 12 * 3600.0
BOOST = 0.3
CAPACITY = 300
REST_ROUNDS = 2
SIMILAR = 0.5
FORGET_BELOW = 0.02
_WORD = re.compile(r"\w+")


@dataclass
class Memory:
    id: str
    text: str
    salience: float
    updated: float
    """When `salience` was last brought up to date (seconds since the epoch)."""
    created: float
    source: str = ""
    uses: int = 0
    last_round: int = -1_000


def decayed(salience: float, since: float, now: float, half_life_sec: float) -> float:
    return salience * math.exp(-math.log(2) * max(0.0, now - since) / half_life_sec)


def reinforced(salience: float, boost: float = BOOST) -> float:
    """Move salience `boost` of the way to 1: repeated use saturates, never exceeds 1."""
    return salience + boost * (1.0 - salience)


def _words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text) if len(w) > 2)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class TemporalMemory:
    def __init__(
        self,
        path: Path | None,
        *,
        half_life_sec: float = HALF_LIFE_SEC,
        rest_rounds: int = REST_ROUNDS,
    ) -> None:
        self.path = path
        self.half_life_sec = half_life_sec
        self.rest_rounds = rest_rounds
        self.items: dict[str, Memory] = {}
        self.round = 0
        self.problem = ""
        # A corrupt file that could not be moved aside (read-only DATA_DIR): never saved over.
        self._corrupt_in_place = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.round = int(data.get("round", 0))
            for raw in data["memories"]:
                memory = Memory(**raw)
                self.items[memory.id] = memory
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            self.items = {}
            try:
                aside = self._move_aside(path)
            except OSError as move_error:
                self._corrupt_in_place = True
                self.problem = (
                    f"{path}: unreadable TRM memory ({exc}); left in place, not saved over "
                    f"until it can be moved aside ({move_error.strerror or move_error})"
                )
                return
            self.problem = f"{path}: unreadable TRM memory ({exc}); kept as {aside}, starting empty"

    @staticmethod
    def _move_aside(path: Path) -> Path:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        path.rename(aside)
        return aside

    def salience(self, memory: Memory, now: float) -> float:
        return decayed(memory.salience, memory.updated, now, self.half_life_sec)

    def add(self, text: str, *, source: str = "", now: float | None = None) -> str:
        """Remember an insight; restating a known one reinforces it instead of adding."""
        now = time.time() if now is None else now
        key = hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:16]
        existing = self.items.get(key)
        if existing is not None:
            self._reinforce(existing, now)
            return key
        self.items[key] = Memory(key, text, 1.0, now, now, source)
        self._forget(now)
        return key

    def _reinforce(self, memory: Memory, now: float) -> None:
        memory.salience = reinforced(self.salience(memory, now))
        memory.updated = now

    def reinforce(self, ids: list[str], now: float | None = None) -> None:
        now = time.time() if now is None else now
        for key in ids:
            if key in self.items:
                self._reinforce(self.items[key], now)

    def recall(self, k: int, now: float | None = None) -> list[Memory]:
        """Up to `k` salient, mutually different memories not injected in the last rounds.

        Recalling is using: the chosen memories are reinforced and marked with this round.
        """
        now = time.time() if now is None else now
        self.round += 1
        ranked = sorted(self.items.values(), key=lambda m: -self.salience(m, now))
        chosen: list[Memory] = []
        chosen_words: list[frozenset[str]] = []
        for resting_allowed in (False, True):
            for memory in ranked:
                if len(chosen) >= k:
                    break
                if memory in chosen:
                    continue
                if not resting_allowed and self.round - memory.last_round <= self.rest_rounds:
                    continue
                words = _words(memory.text)
                if any(_similarity(words, other) >= SIMILAR for other in chosen_words):
                    continue
                chosen.append(memory)
                chosen_words.append(words)
        for memory in chosen:
            memory.uses += 1
            memory.last_round = self.round
            self._reinforce(memory, now)
        return chosen

    def _forget(self, now: float) -> None:
        faded = [m.id for m in self.items.values() if self.salience(m, now) < FORGET_BELOW]
        for key in faded:
            del self.items[key]
        if len(self.items) > CAPACITY:
            ranked = sorted(self.items.values(), key=lambda m: self.salience(m, now))
            for memory in ranked[: len(self.items) - CAPACITY]:
                del self.items[memory.id]

    def save(self) -> None:
        """Write the memories atomically; OSError (naming the file) if it cannot be written.

        A failed save changes nothing on disk; the memories stay here and the next save
        writes them all.
        """
        if self.path is None:
            return
        if self._corrupt_in_place and self.path.exists():
            self._move_aside(self.path)  # raises while it still cannot be moved
        self._corrupt_in_place = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"round": self.round, "memories": [asdict(m) for m in self.items.values()]}
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, indent=0))
