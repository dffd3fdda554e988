"""The dream filter typed after `/`: words, `status:`, `category:`, `priority:` terms.

`status:pending cache` keeps pending dreams that mention "cache" in their title, insight,
category, path or symbols. A bare word that names a status (`applied`, `rejected`, ...)
also filters by status. Terms combine with AND; matching ignores case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codedreamer.storage.dream import Dream, Priority, Status
from codedreamer.storage.query import parse_priority, parse_status

_STATUS_NAMES = {status.value for status in Status}
_KEYS = {"status": "status", "s": "status", "category": "category", "cat": "category"}
_KEYS |= {"c": "category", "priority": "priority", "p": "priority"}


@dataclass(frozen=True)
class DreamFilter:
    text: str = ""
    statuses: frozenset[Status] = frozenset()
    categories: frozenset[str] = frozenset()
    priorities: frozenset[Priority] = frozenset()
    words: tuple[str, ...] = field(default=())

    @property
    def active(self) -> bool:
        return bool(self.statuses or self.categories or self.priorities or self.words)

    def matches(self, dream: Dream) -> bool:
        if self.statuses and dream.status not in self.statuses:
            return False
        if self.priorities and dream.priority not in self.priorities:
            return False
        if self.categories and not any(c in dream.category.lower() for c in self.categories):
            return False
        if self.words:
            haystack = " ".join(
                [
                    dream.title,
                    dream.category,
                    dream.source_path,
                    dream.insight,
                    " ".join(dream.symbols),
                ]
            ).lower()
            return all(word in haystack for word in self.words)
        return True


def parse_filter(text: str) -> DreamFilter:
    """The filter `text` describes; UsageError for an unknown status or priority."""
    statuses: set[Status] = set()
    categories: set[str] = set()
    priorities: set[Priority] = set()
    words: list[str] = []
    for term in text.split():
        key, sep, value = term.partition(":")
        name = _KEYS.get(key.lower()) if sep else None
        if name == "status" and value:
            statuses.update(parse_status(v) for v in value.split(","))
        elif name == "priority" and value:
            priorities.update(parse_priority(v) for v in value.split(","))
        elif name == "category" and value:
            categories.add(value.lower())
        elif term.lower() in _STATUS_NAMES:
            statuses.add(Status(term.lower()))
        else:
            words.append(term.lower())
    return DreamFilter(
        text=" ".join(text.split()),
        statuses=frozenset(statuses),
        categories=frozenset(categories),
        priorities=frozenset(priorities),
        words=tuple(words),
    )
