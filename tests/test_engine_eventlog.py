"""The daemon's event log and control file, read and written as viewers and daemons do."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from codedreamer.engine.control import ControlClient, ControlFileReader
from codedreamer.engine.eventlog import EventLogTail, EventLogWriter, merge_tokens
from codedreamer.events import (
    CycleFinished,
    Event,
    EventHub,
    Notice,
    TokenStreamed,
    event_to_json,
)


def _wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_tokens_of_one_stage_and_cycle_merge_and_nothing_else_does() -> None:
    events: list[Event] = [
        TokenStreamed(stage="think", text="a", cycle=1),
        TokenStreamed(stage="think", text="b", cycle=1),
        TokenStreamed(stage="code", text="c", cycle=1),
        Notice(message="n"),
        TokenStreamed(stage="code", text="d", cycle=1),
        TokenStreamed(stage="code", text="e", cycle=2),
    ]
    merged = merge_tokens(events)
    texts = [e.text if isinstance(e, TokenStreamed) else "|" for e in merged]
    assert texts == ["ab", "c", "|", "d", "e"]


def test_a_viewer_receives_what_the_daemon_published(tmp_path: Path) -> None:
    daemon_hub, viewer_hub = EventHub(), EventHub()
    log = tmp_path / "events.jsonl"
    writer = EventLogWriter(daemon_hub, log, flush_interval=0.02)
    writer.start()
    seen = viewer_hub.subscribe()
    tail = EventLogTail(log, viewer_hub, poll_interval=0.02)
    tail.start()
    try:
        for piece in ("de", "f ", "x"):
            daemon_hub.publish(TokenStreamed(stage="think", text=piece, cycle=1))
        daemon_hub.publish(CycleFinished(outcome="saved", seconds=1.0, dream_id="d1", cycle=1))
        got: list[Event] = []
        _wait_for(
            lambda: any(isinstance(e, CycleFinished) for e in got) or got.extend(seen.drain())
        )
    finally:
        tail.stop()
        writer.stop()
    text = "".join(e.text for e in got if isinstance(e, TokenStreamed))
    assert text == "def x"
    assert got[-1] == CycleFinished(
        outcome="saved", seconds=1.0, dream_id="d1", cycle=1, timestamp=got[-1].timestamp
    )


def test_a_torn_last_line_is_skipped_and_the_next_event_starts_clean(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text(event_to_json(Notice(message="one")) + "\n" + '{"type": "Notice", "mess')
    hub = EventHub()
    writer = EventLogWriter(hub, log)
    writer.start()
    hub.publish(Notice(message="two"))
    writer.stop()
    viewer = EventHub()
    seen = viewer.subscribe()
    tail = EventLogTail(log, viewer)
    tail.poll()
    assert [e.message for e in seen.drain() if isinstance(e, Notice)] == ["one", "two"]
    assert tail.bad_lines == 1


def test_rotation_is_followed_and_the_backlog_starts_on_a_whole_line(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    lines = [event_to_json(Notice(message=f"old {i}")) for i in range(200)]
    log.write_text("\n".join(lines) + "\n")
    viewer = EventHub()
    seen = viewer.subscribe()
    tail = EventLogTail(log, viewer, backlog_bytes=500)
    tail.poll()
    backlog = [e.message for e in seen.drain() if isinstance(e, Notice)]
    assert backlog and backlog[-1] == "old 199" and len(backlog) < 200
    assert tail.bad_lines == 0

    hub = EventHub()
    writer = EventLogWriter(hub, log, max_bytes=1)  # anything in the file forces a rotation
    writer.start()
    hub.publish(Notice(message="new"))
    writer.stop()
    assert (tmp_path / "events.jsonl.1").exists()
    tail.poll()
    assert [e.message for e in seen.drain() if isinstance(e, Notice)] == ["new"]


class _RecordingRunner:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")

    def dream_now(self) -> None:
        self.calls.append("now")


def test_control_commands_reach_the_daemon_and_old_ones_are_ignored(tmp_path: Path) -> None:
    client = ControlClient(tmp_path)
    client.pause()  # before the daemon started: history, not an order
    runner = _RecordingRunner()
    reader = ControlFileReader(tmp_path, runner)  # type: ignore[arg-type]
    client.dream_now()
    client.toggle_pause()  # the client thinks it is paused, so this resumes
    with (tmp_path / "control.jsonl").open("a") as handle:
        handle.write("garbage\n" + json.dumps({"command": "rm -rf"}) + "\n")
    assert reader.poll() == 2
    assert runner.calls == ["now", "resume"]


def test_a_control_file_created_after_the_daemon_started_is_read_whole(tmp_path: Path) -> None:
    runner = _RecordingRunner()
    reader = ControlFileReader(tmp_path, runner)  # type: ignore[arg-type]
    assert reader.poll() == 0  # no file yet
    ControlClient(tmp_path).dream_now()  # the first command creates the file
    assert reader.poll() == 1 and runner.calls == ["now"]
