"""The `Dream` record: one improvement suggestion and everything known about how it was made."""

# `front(...)` and `section(...)` return dataclasses.field objects, which RUF009 cannot see.
# ruff: noqa: RUF009

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from codedreamer.storage.fields import (
    encode_created,
    enum_of,
    enum_value,
    front,
    mapping_of,
    optional,
    section,
    show_fraction,
    show_items,
    show_level,
    show_list,
    show_parts,
    show_record,
    show_score,
    show_seconds,
    to_bool,
    to_created,
    to_integer,
    to_number,
    to_string,
    to_string_list,
)


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


def to_dream_id(value: Any) -> str:
    text = to_string(value)
    if not is_dream_id(text):
        raise ValueError(f"{text!r} is not a dream id (YYYYMMDD-HHMMSS-xxxxxxxx)")
    return text


def show_created(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


def show_yes(value: bool) -> str:
    return "yes" if value else ""


@dataclass(kw_only=True)
class Dream:
    """One dream. Front matter fields first, then the readable sections.

    This declaration is the dream file format: field order is the order of the front
    matter and of the sections; each field's FieldSpec says how it is read, written and
    shown. Fields without a default must be in every file; the others fall back to their
    defaults, so files written before a field existed still load.
    """

    id: str = front(convert=to_dream_id, label="Id")
    created: datetime = front(
        convert=to_created, encode=encode_created, label="Created", show=show_created
    )
    title: str = front("", convert=to_string)
    category: str = front(convert=to_string, label="Category")
    focus: str = front("", convert=to_string, label="Focus")
    priority: Priority = front(
        Priority.UNRANKED, convert=enum_of(Priority), encode=enum_value, label="Priority"
    )
    priority_reason: str = front("", convert=to_string)
    status: Status = front(
        Status.PENDING, convert=enum_of(Status), encode=enum_value, label="Status"
    )
    status_reason: str = front("", convert=to_string)
    novelty: float = front(0.0, convert=to_number, label="Novelty", show=show_fraction)
    score: float = front(0.0, convert=to_number, label="Score", show=show_score)
    score_parts: dict[str, float] = front(
        convert=mapping_of(to_number), label="Score parts", show=show_parts, factory=dict
    )
    drill_level: int = front(0, convert=to_integer, label="Drill level", show=show_level)
    parent: str | None = front(None, convert=optional(to_dream_id), label="Parent")
    source_path: str = front(convert=to_string)
    line_start: int = front(convert=to_integer)
    line_end: int = front(convert=to_integer)
    language: str = front("", convert=to_string, label="Language")
    symbols: list[str] = front(
        convert=to_string_list, label="Symbols", show=show_list, factory=list
    )
    themes: list[str] = front(convert=to_string_list, label="Themes", show=show_list, factory=list)
    critic_severity: str = front("", convert=to_string, label="Critic")
    refined: bool = front(False, convert=to_bool, label="Refined", show=show_yes)
    models: dict[str, str] = front(
        convert=mapping_of(to_string), label="Models", show=show_items, factory=dict
    )
    timings: dict[str, float] = front(
        convert=mapping_of(to_number), label="Timings", show=show_seconds, factory=dict
    )
    validation: dict[str, str] = front(
        convert=mapping_of(to_string), label="Validation", show=show_items, factory=dict
    )
    code_checks: dict[str, str] = front(
        convert=mapping_of(to_string), label="Code checks", show=show_items, factory=dict
    )
    verification: dict[str, str] = front(
        convert=mapping_of(to_string), label="Verification", show=show_record, factory=dict
    )
    branch: str = front("", convert=to_string, label="Branch")
    insight: str = section("Insight")
    plan: str = section("Plan")
    code: str = section("Code", fence="language")
    diff: str = section("Diff", fence="diff")
    critique: str = section("Critique")
    draft_code: str = section("Draft code", fence="language")
    seed_code: str = section("Seed code", fence="language")
