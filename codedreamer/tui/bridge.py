"""Engine events into the UI thread: one subscription, drained on a timer, tokens batched.

The runner's thread publishes thousands of token events a minute. Calling into the UI for
each would throttle generation to UI speed (`call_from_thread` blocks until the UI ran the
callback), so the app drains its subscription from a timer on its own thread at
`FLUSH_HZ` and applies a whole batch per frame: consecutive tokens of one stage become one
`TokenBatch`, everything else passes through in publish order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from codedreamer.events import Event, Stage, Subscription, TokenStreamed

FLUSH_HZ = 30
"""Frames per second at most that the app spends applying events."""
MAX_EVENTS_PER_FLUSH = 5000
"""A backlog (an attached view reading the log's recent past) is applied over a few frames."""


@dataclass(frozen=True)
class TokenBatch:
    """Tokens streamed in a row by one stage of one cycle."""

    stage: Stage
    text: str
    pieces: int
    """How many token events were merged (exact in-process; a daemon's log pre-merges)."""
    cycle: int
    first_timestamp: float
    timestamp: float


ViewItem = Event | TokenBatch


def batch_events(events: Iterable[Event]) -> list[ViewItem]:
    """`events` with each run of same-stage, same-cycle tokens merged into one TokenBatch."""
    items: list[ViewItem] = []
    for event in events:
        last = items[-1] if items else None
        if isinstance(event, TokenStreamed):
            if isinstance(last, TokenBatch) and (last.stage, last.cycle) == (
                event.stage,
                event.cycle,
            ):
                items[-1] = TokenBatch(
                    stage=last.stage,
                    text=last.text + event.text,
                    pieces=last.pieces + 1,
                    cycle=last.cycle,
                    first_timestamp=last.first_timestamp,
                    timestamp=event.timestamp,
                )
            else:
                items.append(
                    TokenBatch(
                        stage=event.stage,
                        text=event.text,
                        pieces=1,
                        cycle=event.cycle,
                        first_timestamp=event.timestamp,
                        timestamp=event.timestamp,
                    )
                )
        else:
            items.append(event)
    return items


class EventBridge:
    """The app's end of the event hub: `drain()` once per frame, on the UI thread."""

    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription
        self.events_seen = 0

    def drain(self) -> list[ViewItem]:
        events = self._subscription.drain(MAX_EVENTS_PER_FLUSH)
        self.events_seen += len(events)
        return batch_events(events)

    def close(self) -> None:
        self._subscription.close()
