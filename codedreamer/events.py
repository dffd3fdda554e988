"""Typed events the engine emits while it works, their JSON-lines codec, and the hub.

The console printer, the TUI, the daemon log and attached viewers all consume these same
events; none of them reaches into the engine's state. Events are immutable values, safe
to hand across threads.

The thread contract:

- Any thread may emit: the runner's cycle thread (stages, tokens, dreams), the live
  index watcher thread (index updates) and the UI thread (nothing yet). Emitting is
  `EventHub.publish`, which only appends to each subscriber's queue: it never blocks on a
  slow view and never calls view code on the emitting thread.
- Each view subscribes once and drains its own `Subscription` from its own thread (the
  TUI drains on a timer at <= 30 Hz, the console printer and the event-log writer from
  a thread of their own). A subscription sees every event published after it subscribed,
  in publish order.
- `cycle` is stamped by the runner on every event of a cycle (0 outside cycles). Fields
  that hold code, paths or model text are untrusted: views render them as plain text.
- On the wire (the event log that attached viewers tail) each event is one JSON object
  per line, `{"type": "<ClassName>", ...fields}`; `event_from_json` rebuilds it and
  rejects unknown types and bad fields with `ValueError`.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

Stage = Literal["index", "select", "think", "code", "critic", "validate", "store", "reflect"]
RunnerState = Literal["starting", "indexing", "dreaming", "waiting", "paused", "stopping"]
IndexState = Literal["checking", "indexing", "ready", "updated"]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every engine event."""

    timestamp: float = field(default_factory=time.time)
    cycle: int = 0

    registry: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Event.registry[cls.__name__] = cls


@dataclass(frozen=True, kw_only=True)
class CycleStarted(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class CycleFinished(Event):
    """The end of one cycle: `outcome` is saved, rejected or error."""

    outcome: Literal["saved", "rejected", "error"]
    seconds: float
    dream_id: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ChunkSelected(Event):
    path: str
    start_line: int
    end_line: int
    symbol: str
    reason: str
    language: str = ""
    code: str = ""


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
class HotNode:
    """One node of the graph pane: what it is, how hot, how connected."""

    node_id: str
    kind: str
    label: str
    momentum: float
    tier: str
    entanglement: float
    edges: int


@dataclass(frozen=True, kw_only=True)
class GraphChanged(Event):
    nodes: int
    edges: int
    avg_entanglement: float = 0.0
    tiers: dict[str, int] = field(default_factory=dict)
    hot: tuple[HotNode, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IndexProgress(Event):
    """Indexing the codebase: `state` says where it is; counts are files."""

    state: IndexState
    files_done: int = 0
    files_total: int = 0
    chunks: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ModelLoaded(Event):
    role: str
    model_name: str
    seconds: float
    chat_format: str = ""


@dataclass(frozen=True, kw_only=True)
class RunnerStateChanged(Event):
    """The runner's state; `next_cycle_at` (epoch seconds) is set while waiting."""

    state: RunnerState
    next_cycle_at: float | None = None


@dataclass(frozen=True, kw_only=True)
class RunnerStopped(Event):
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class EngineError(Event):
    """Something went wrong; `fatal` when it stopped the runner (shown once, by the caller)."""

    message: str
    fatal: bool = False


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """A line of information (model loaded, chat format used, index refreshed)."""

    message: str


EventSink = Callable[[Event], None]


def discard_event(event: Event) -> None:
    """An EventSink that ignores everything, for callers that want no output."""


# --- wire format -------------------------------------------------------------------------


def event_to_dict(event: Event) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    data["type"] = type(event).__name__
    return data


def event_to_json(event: Event) -> str:
    """One line of JSON; `ensure_ascii` keeps control bytes escaped on the wire."""
    return json.dumps(event_to_dict(event), ensure_ascii=True, separators=(",", ":"))


def event_from_json(line: str) -> Event:
    """The event a line of `event_to_json` describes; ValueError for anything else."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    kind = data.pop("type", None)
    cls = Event.registry.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    event: Event = _build(cls, data)
    return event


def _build(cls: type[Any], data: dict[str, Any]) -> Any:  # an Event or a HotNode
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    if cls is GraphChanged and "hot" in data:
        data = {**data, "hot": tuple(_build(HotNode, dict(h)) for h in data["hot"])}
    for name, value in data.items():
        _check_field(cls, name, known[name].type, value)
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"{cls.__name__}: {exc}") from exc


_SIMPLE: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
}


def _check_field(cls: type[Any], name: str, annotation: Any, value: Any) -> None:
    """Type-check the scalar fields, so a garbled line cannot smuggle in odd values."""
    text = str(annotation)
    if text.startswith(("Stage", "RunnerState", "IndexState", "Literal")):
        allowed = _literal_values(text)
        if allowed and value not in allowed:
            raise ValueError(f"{cls.__name__}.{name}: {value!r} is not one of {allowed}")
        return
    optional = text.endswith("| None")
    base = text.removesuffix(" | None")
    expected = _SIMPLE.get(base)
    if expected is None or (optional and value is None):
        return
    if isinstance(value, bool) and base != "bool":
        raise ValueError(f"{cls.__name__}.{name}: expected {base}, got a boolean")
    if not isinstance(value, expected):
        raise ValueError(f"{cls.__name__}.{name}: expected {base}, got {type(value).__name__}")


def _literal_values(annotation: str) -> tuple[str, ...]:
    aliases: dict[str, Any] = {
        "Stage": Stage,
        "RunnerState": RunnerState,
        "IndexState": IndexState,
    }
    if annotation in aliases:
        return tuple(get_args(aliases[annotation]))
    if annotation.startswith("Literal["):
        inner = annotation[len("Literal[") : -1]
        return tuple(part.strip().strip("'\"") for part in inner.split(","))
    return ()


# --- fan-out ---------------------------------------------------------------------------


class Subscription:
    """One view's queue of events. Drained by that view's thread only."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def put(self, event: Event) -> None:
        self._queue.put(event)

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to `timeout` seconds; None if none came."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self, limit: int = 10_000) -> list[Event]:
        """Every event waiting now (at most `limit`), without blocking."""
        events: list[Event] = []
        while len(events) < limit:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return events

    def close(self) -> None:
        self._hub.unsubscribe(self)


class EventHub:
    """Publishes each event to every subscription; callable, so it is an EventSink."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: tuple[Subscription, ...] = ()

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        with self._lock:
            self._subscriptions = (*self._subscriptions, subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)

    def publish(self, event: Event) -> None:
        # The tuple is replaced, never mutated, so iterating it needs no lock.
        for subscription in self._subscriptions:
            subscription.put(event)

    __call__ = publish


# --- dream cycle detail (appended by the dream-cycle engineer) ------------------------


@dataclass(frozen=True, kw_only=True)
class ContextAssembled(Event):
    """The prompt's proactive context: one label per kept section (where it came from)."""

    sources: tuple[str, ...] = ()
    prompt_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class DrillStarted(Event):
    """This cycle continues `parent_id` one level deeper (1 Framework .. 3 Code)."""

    level: int
    parent_id: str
    title: str = ""


@dataclass(frozen=True, kw_only=True)
class RankChanged(Event):
    """A stored dream's score or priority changed (reflection, feedback, graph)."""

    dream_id: str
    score: float
    previous_score: float
    priority: str = ""
