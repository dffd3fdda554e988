"""Typed events the engine emits while it works.

The console printer, the TUI and the daemon log all consume these same events; none of
them reaches into the engine's state. Events are immutable values, safe to hand across
threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Stage = Literal["index", "select", "think", "code", "critic", "validate", "store", "reflect"]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every engine event."""

    timestamp: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class CycleStarted(Event):
    cycle: int


@dataclass(frozen=True, kw_only=True)
class ChunkSelected(Event):
    path: str
    start_line: int
    end_line: int
    symbol: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class StageStarted(Event):
    stage: Stage
    model_name: str = ""
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class TokenStreamed(Event):
    stage: Stage
    text: str


@dataclass(frozen=True, kw_only=True)
class StageFinished(Event):
    stage: Stage
    completion_tokens: int = 0
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    finish_reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DreamSaved(Event):
    dream_id: str
    path: str
    title: str
    novelty: float


@dataclass(frozen=True, kw_only=True)
class DreamRejected(Event):
    reason: str
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class GraphChanged(Event):
    nodes: int
    edges: int


@dataclass(frozen=True, kw_only=True)
class EngineError(Event):
    message: str


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """A line of information (model loaded, chat format used, index refreshed)."""

    message: str


EventSink = Callable[[Event], None]


def discard_event(event: Event) -> None:
    """An EventSink that ignores everything, for callers that want no output."""
