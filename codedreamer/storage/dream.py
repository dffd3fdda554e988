"""The `Dream` record: one improvement suggestion and everything known about how it was made."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    DEFERRED = "deferred"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNRANKED = "unranked"


DREAM_ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")


def new_dream_id(now: datetime | None = None) -> str:
    """A sortable id that is safe as a file name: `YYYYMMDD-HHMMSS-<8 hex>`.

    The random suffix makes collisions within one second vanishingly unlikely; the store
    still creates files exclusively so a collision can never overwrite a dream.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def is_dream_id(text: str) -> bool:
    # fullmatch, not match: `$` also matches before a trailing newline, and an id ending in
    # "\n" must not become a file name.
    return isinstance(text, str) and DREAM_ID_PATTERN.fullmatch(text) is not None


@dataclass
class Dream:
    """One dream. Front matter fields first, then the readable sections."""

    id: str
    created: datetime
    category: str
    source_path: str
    line_start: int
    line_end: int
    title: str = ""
    focus: str = ""
    language: str = ""
    priority: Priority = Priority.UNRANKED
    priority_reason: str = ""
    status: Status = Status.PENDING
    status_reason: str = ""
    novelty: float = 0.0
    drill_level: int = 0
    parent: str | None = None
    symbols: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    validation: dict[str, str] = field(default_factory=dict)
    insight: str = ""
    plan: str = ""
    code: str = ""
    critique: str = ""
    seed_code: str = ""
