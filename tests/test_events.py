"""The event wire format and the fan-out hub."""

from __future__ import annotations

import threading

import pytest

from codedreamer.events import (
    ChunkSelected,
    CycleFinished,
    DreamRejected,
    EngineError,
    Event,
    EventHub,
    GraphChanged,
    HotNode,
    IndexProgress,
    ModelLoaded,
    RunnerStateChanged,
    RunnerStopped,
    StageFinished,
    TokenStreamed,
    event_from_json,
    event_to_json,
)

SAMPLES: list[Event] = [
    TokenStreamed(stage="think", text="x = [bold]1[/] \x1b[31m red", cycle=3),
    ChunkSelected(
        path="a/\x1b]0;owned\x07.py",
        start_line=1,
        end_line=9,
        symbol="f",
        reason="new",
        language="python",
        code="def f():\n    return '[@click=app.quit]'\n",
    ),
    StageFinished(stage="critic", completion_tokens=12, seconds=1.5, tokens_per_second=8.0),
    CycleFinished(outcome="rejected", seconds=2.0, reason="ungrounded"),
    DreamRejected(reason="duplicate", detail="same as 20261129-000000-deadbeef"),
    GraphChanged(
        nodes=3,
        edges=2,
        avg_entanglement=0.25,
        tiers={"hot": 1, "warm": 1, "cold": 1},
        hot=(
            HotNode(
                node_id="code:a.py",
                kind="code",
                label="a.py",
                momentum=0.9,
                tier="hot",
                entanglement=0.3,
                edges=2,
            ),
        ),
    ),
    IndexProgress(state="indexing", files_done=3, files_total=10, chunks=40, seconds=0.5),
    ModelLoaded(role="reasoning", model_name="SmolLM2", seconds=0.4, chat_format="chatml"),
    RunnerStateChanged(state="waiting", next_cycle_at=1_800_000_000.0),
    RunnerStateChanged(state="paused"),
    RunnerStopped(reason="stopped"),
    EngineError(message="disk full", fatal=False),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_one_json_line(event: Event) -> None:
    line = event_to_json(event)
    assert "\n" not in line
    # Control bytes travel escaped, so a log line can never carry a raw ESC.
    assert "\x1b" not in line and "\x07" not in line
    assert event_from_json(line) == event


def test_every_event_class_is_registered_for_decoding() -> None:
    names = {type(e).__name__ for e in SAMPLES}
    assert names <= set(Event.registry)
    assert "CycleStarted" in Event.registry and "Notice" in Event.registry


@pytest.mark.parametrize(
    "line",
    [
        "",
        "not json",
        "[1, 2]",
        '{"type": "Nope"}',
        '{"no_type": 1}',
        '{"type": "TokenStreamed", "stage": "dance", "text": "x"}',
        '{"type": "TokenStreamed", "stage": "think", "text": 5}',
        '{"type": "TokenStreamed", "stage": "think"}',
        '{"type": "TokenStreamed", "stage": "think", "text": "x", "evil": 1}',
        '{"type": "CycleFinished", "outcome": "saved", "seconds": true}',
        '{"type": "RunnerStateChanged", "state": "flying"}',
    ],
)
def test_a_bad_line_is_a_value_error_not_a_crash(line: str) -> None:
    with pytest.raises(ValueError):
        event_from_json(line)


def test_hub_gives_each_subscriber_every_event_in_order_across_threads() -> None:
    hub = EventHub()
    first, second = hub.subscribe(), hub.subscribe()

    def emit(stage: str) -> None:
        for i in range(500):
            hub.publish(TokenStreamed(stage=stage, text=str(i)))  # type: ignore[arg-type]

    threads = [threading.Thread(target=emit, args=(s,)) for s in ("think", "code")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sub in (first, second):
        events = sub.drain()
        assert len(events) == 1000
        for stage in ("think", "code"):
            texts = [e.text for e in events if isinstance(e, TokenStreamed) and e.stage == stage]
            assert texts == [str(i) for i in range(500)]
    first.close()
    hub.publish(TokenStreamed(stage="think", text="after"))
    assert first.drain() == [] and len(second.drain()) == 1
