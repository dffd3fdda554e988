"""A full disk and a read-only DATA_DIR / DREAMS_DIR while the daemon runs.

Two ways of making the disk fail: fault injection (tests/disk_faults.py: the OS calls the
writers use raise ENOSPC or EROFS under DATA_DIR and DREAMS_DIR, for a while, then stop),
which runs everywhere, and a real small tmpfs filled up or remounted read-only
(tests/test_hardening_disk_tmpfs.py), which needs root and `mount`.

Each test drives the real runner, engine, stores and event-log writer; only the model is a
scripted double (tests/test_cycle_pipeline.py), so a cycle stores a dream in a fraction of
a second. What every test checks: the failure is reported in one line naming the errno's
meaning and the path, no file that existed before is changed, no temp file is left, the
daemon keeps running, and once the fault clears the next cycle stores normally.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from codedreamer.cli.app import run as cli_run
from codedreamer.cli.headless import EngineServices, configure_logging
from codedreamer.config.settings import Settings, load_settings
from codedreamer.engine.engine import Engine
from codedreamer.engine.eventlog import EventLogWriter
from codedreamer.engine.runner import Runner
from codedreamer.events import (
    CycleFinished,
    EngineError,
    Event,
    EventHub,
    EventSink,
    Notice,
    event_from_json,
)
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_store import (
    PREVIOUS_EDGES_FILE,
    graph_files,
    load_graph,
    save_graph,
)
from codedreamer.memory.graph_types import NodeInput, NodeKind, dream_node_id
from codedreamer.memory.trm import TemporalMemory
from codedreamer.storage.atomic import atomic_write_text, create_exclusive
from codedreamer.storage.dream import Status
from codedreamer.storage.store import DreamStore
from tests.disk_faults import DiskFault
from tests.test_cycle_pipeline import DIFF, ScriptedModel, make_repo

FAULTS = {
    errno.ENOSPC: "No space left on device",
    errno.EROFS: "Read-only file system",
}
TEMP_NAME = re.compile(r"^\..*\.tmp$")


def _ids(error: int) -> str:
    return errno.errorcode[error]


# ------------------------------------------------------------------ helpers


def files_in(*roots: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under `roots` with its bytes, except names in `skip` and lock files."""
    found: dict[str, bytes] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root.parent)
            if any(part in skip for part in rel.parts) or not path.is_file():
                continue
            if path.suffix == ".lock":
                continue  # flock files: opened, never written
            found[str(rel)] = path.read_bytes()
    return found


def leftovers(*roots: Path) -> list[str]:
    """Temp files of atomic writes and the graph's kept previous edges, anywhere under roots."""
    return [
        str(path)
        for root in roots
        for path in root.rglob("*")
        if TEMP_NAME.match(path.name) or path.name == PREVIOUS_EDGES_FILE
    ]


def unchanged_since(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Files that existed before and are now changed or gone."""
    return [name for name, data in before.items() if after.get(name) != data]


class _Model(ScriptedModel):
    chat_format = "chatml"

    def load(self) -> None:
        pass


def _settings(
    tmp_path: Path, *, data_dir: Path | None = None, dreams_dir: Path | None = None, **extra: str
) -> Settings:
    environ = {
        "DREAMER_DREAMS_DIR": str(dreams_dir or tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(data_dir or tmp_path / "data"),
        # Cycles run when the test asks (dream now), not on a timer.
        "DREAMER_DREAM_INTERVAL_SEC": "3600",
        **extra,
    }
    return load_settings(env_file=None, environ=environ).settings


def _remove_our_log_handlers() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_codedreamer", False):
            root.removeHandler(handler)
            handler.close()


class Daemon:
    """What `codedreamer daemon` runs (runner, event log, control file, log file), in-process.

    The real Engine and Runner; the model is the scripted double, so every cycle is quick.
    Cycles start when `cycle()` asks for one (DREAM_INTERVAL_SEC is an hour).
    """

    def __init__(
        self,
        root: Path,
        *,
        live_index: bool = False,
        data_dir: Path | None = None,
        dreams_dir: Path | None = None,
    ) -> None:
        repo = root / "repo"
        self.repo = repo if repo.exists() else make_repo(repo)  # a restart keeps the repo
        self.settings = _settings(root, data_dir=data_dir, dreams_dir=dreams_dir)
        self.model = _Model(code=[DIFF], critic=['{"severity": "NONE", "issues": "correct"}'])
        self.hub = EventHub()
        self.subscription = self.hub.subscribe()
        self.events: list[Event] = []
        self.runner = Runner(
            self.settings,
            self.repo,
            self.hub,
            engine_factory=self._engine,
            live_index=live_index,
        )
        self.services: EngineServices | None = None
        self.engine: Engine | None = None

    def _engine(self, settings: Settings, codebase: Path, sink: EventSink) -> Engine:
        engine = Engine(settings, codebase, sink, rng=random.Random(3))
        engine._models = SimpleNamespace(  # type: ignore[assignment]
            reasoning=self.model,
            coder=self.model,
            shared_coder=True,
            check_files=lambda: None,
            close=lambda: None,
        )
        self.engine = engine
        return engine

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def dreams_dir(self) -> Path:
        return self.settings.dreams_dir

    def launch(self) -> None:
        """Start it (the first cycle starts as soon as the index is ready)."""
        _remove_our_log_handlers()
        configure_logging(self.settings)
        self.services = EngineServices(self.settings, self.runner, event_log=True)

    def start(self) -> CycleFinished:
        """Start it and wait for the first cycle."""
        self.launch()
        return self.wait_cycle()

    def wait_for(self, found: Callable[[list[Event]], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not found(self.events):
            assert time.monotonic() < deadline, [type(e).__name__ for e in self.events[-30:]]
            event = self.subscription.get(timeout=0.05)
            if event is not None:
                self.events.append(event)

    def wait_cycle(self) -> CycleFinished:
        seen = len(self.cycles())
        self.wait_for(lambda _events: len(self.cycles()) > seen)
        return self.cycles()[-1]

    def cycle(self) -> tuple[CycleFinished, list[Event]]:
        """Dream now; the cycle's outcome and every event published meanwhile."""
        start = len(self.events)
        self.runner.dream_now()
        finished = self.wait_cycle()
        return finished, self.events[start:]

    def events_now(self) -> list[Event]:
        """Every event so far, including those not yet collected."""
        self.events.extend(self.subscription.drain())
        return self.events

    def cycles(self) -> list[CycleFinished]:
        return [e for e in self.events if isinstance(e, CycleFinished)]

    def errors(self, since: int = 0) -> list[str]:
        return [e.message for e in self.events[since:] if isinstance(e, EngineError)]

    def stop(self) -> None:
        if self.services is not None:
            self.services.stop()
            self.services = None
        _remove_our_log_handlers()

    def snapshot(self) -> dict[str, bytes]:
        """The files a fault must not touch: dreams, graph, trm.json, events.jsonl, attempts."""
        return files_in(
            self.dreams_dir,
            self.data_dir,
            # The index is LanceDB (Rust I/O, untouched by the injected faults); the log
            # file and control file are not written through the patched calls either.
            skip=("index", "codedreamer.log", "control.jsonl"),
        )

    def event_log_lines(self) -> list[str]:
        return (self.data_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path)
    try:
        yield running
    finally:
        running.stop()


# ------------------------------------------------------------------ the daemon, faults on and off


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS], ids=_ids)
def test_the_daemon_reports_keeps_the_last_good_files_and_carries_on(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    words = FAULTS[error]
    first = daemon.start()
    assert first.outcome == "saved", first.reason
    daemon.wait_for(lambda _e: (daemon.data_dir / "events.jsonl").exists())
    time.sleep(0.3)  # the event log writer flushes every 0.1 s
    fault = DiskFault(monkeypatch, [daemon.data_dir, daemon.dreams_dir])

    # 1. Only DATA_DIR fails: the dream is stored, the graph, TRM and event log are not.
    before = daemon.snapshot()
    fault.start(error, roots=[daemon.data_dir])
    stored, events = daemon.cycle()
    assert stored.outcome == "saved", stored.reason
    messages = [e.message for e in events if isinstance(e, EngineError)]
    graph_error = [m for m in messages if m.startswith("knowledge graph not saved")]
    assert (
        graph_error and words in graph_error[0] and str(daemon.settings.graph_dir) in graph_error[0]
    )
    assert "the saved graph is unchanged" in graph_error[0]
    trm_error = [m for m in messages if m.startswith("TRM memory not saved")]
    assert trm_error and words in trm_error[0] and "trm.json" in trm_error[0]
    assert ".tmp" not in trm_error[0], "the error names the real file, not a temp name"
    daemon.wait_for(lambda ev: any("event log" in m for m in daemon.errors()))
    log_error = [m for m in daemon.errors() if m.startswith("event log")]
    assert len(log_error) == 1 and words in log_error[0] and "events.jsonl" in log_error[0]
    kept_dream = stored.dream_id
    assert (daemon.dreams_dir / f"{kept_dream}.md").is_file()
    after = daemon.snapshot()
    assert unchanged_since(before, after) == [], "a fault changed a file that existed"
    assert leftovers(daemon.dreams_dir, daemon.data_dir) == []

    # 2. Both fail: the cycle fails with one clear line, the runner backs off, stays alive.
    before = daemon.snapshot()
    fault.start(error)
    failed, events = daemon.cycle()
    assert failed.outcome == "error"
    assert words in failed.reason and str(daemon.dreams_dir) in failed.reason
    cycle_errors = [m for m in daemon.errors(len(daemon.events) - len(events))]
    assert any(m.startswith("cycle failed:") and "next try in" in m for m in cycle_errors)
    assert all("\n" not in m and "Traceback" not in m for m in daemon.errors())
    assert daemon.runner.is_alive() and daemon.runner.failures == 1
    time.sleep(0.3)  # the event log writer tries (and fails) again meanwhile
    assert unchanged_since(before, daemon.snapshot()) == []
    assert leftovers(daemon.dreams_dir, daemon.data_dir) == []
    assert len([m for m in daemon.errors() if m.startswith("event log")]) == 1, "said once"
    assert fault.failures > 0

    # 3. The fault clears: the next cycle stores normally, and what waited is written.
    fault.stop()
    recovered, _ = daemon.cycle()
    assert recovered.outcome == "saved", recovered.reason
    assert daemon.runner.failures == 0
    store = DreamStore(daemon.dreams_dir)
    assert {kept_dream, recovered.dream_id} <= {d.id for d in store.list().dreams}
    assert store.list().corrupt == []
    graph = load_graph(daemon.settings.graph_dir)
    # The dream stored while the graph could not be saved was kept in memory and is saved now.
    assert dream_node_id(kept_dream) in graph and dream_node_id(recovered.dream_id) in graph
    trm = json.loads((daemon.data_dir / "trm.json").read_text(encoding="utf-8"))
    sources = {m["source"] for m in trm["memories"]}
    assert {kept_dream, recovered.dream_id} <= sources
    daemon.wait_for(lambda _e: any("written again" in e.message for e in _notices(daemon)))
    time.sleep(0.3)
    lines = daemon.event_log_lines()
    parsed = [event_from_json(line) for line in lines]  # every line whole: none torn
    logged_cycles = [e for e in parsed if isinstance(e, CycleFinished)]
    assert [c.outcome for c in logged_cycles] == ["saved", "saved", "error", "saved"]
    assert any(isinstance(e, EngineError) and e.message.startswith("event log") for e in parsed)
    assert leftovers(daemon.dreams_dir, daemon.data_dir) == []
    daemon.stop()
    assert not daemon.runner.is_alive() and daemon.runner.error is None


def _notices(daemon: Daemon) -> list[Notice]:
    return [e for e in daemon.events if isinstance(e, Notice)]


def test_a_fault_from_the_start_of_a_cycle_to_its_end_is_retried_by_the_back_off(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No dream-now: the runner's own back-off brings the next try once space returns."""
    monkeypatch.setattr("codedreamer.engine.runner.BACKOFF_FIRST_SEC", 0.5)
    daemon.settings = daemon.runner.settings = daemon.settings.model_copy(
        update={"dream_interval_sec": 0}
    )
    fault = DiskFault(monkeypatch, [daemon.dreams_dir])
    daemon.dreams_dir.mkdir(parents=True)
    fault.start(errno.ENOSPC)
    first = daemon.start()
    assert first.outcome == "error" and "No space left on device" in first.reason
    fault.stop()
    # Nobody asks for a cycle: the back-off (0.5 s here, 5 s by default) retries by itself.
    saved = daemon.wait_cycle()
    assert saved.outcome == "saved", saved.reason
    assert daemon.runner.failures == 0


# ------------------------------------------------------------------ the writers, one by one


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS], ids=_ids)
def test_atomic_writes_keep_the_old_file_name_the_real_path_and_leave_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old\n")
    fault = DiskFault(monkeypatch, [tmp_path])
    fault.start(error)
    with pytest.raises(OSError) as replaced:
        atomic_write_text(target, "new\n" * 1000)
    with pytest.raises(OSError) as created:
        create_exclusive(tmp_path / "new.txt", "x")
    fault.stop()
    for failure, path in ((replaced.value, target), (created.value, tmp_path / "new.txt")):
        assert failure.errno == error and failure.filename == str(path)
        assert FAULTS[error] in str(failure)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS], ids=_ids)
def test_dream_store_writes_fail_with_one_line_and_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    from codedreamer.errors import StorageError
    from tests.test_cli_dreams import make_dream

    store = DreamStore(tmp_path / "dreams")
    existing = make_dream(1)
    store.save_new(existing)
    store.set_status(existing.id, Status.DEFERRED)  # the lock file exists, as in real use
    before = files_in(tmp_path / "dreams")
    fault = DiskFault(monkeypatch, [tmp_path])
    fault.start(error)
    with pytest.raises(StorageError) as marked:
        store.set_status(existing.id, Status.APPLIED)
    with pytest.raises(StorageError) as saved:
        store.save_new(make_dream(0.5))
    fault.stop()
    for failure in (marked.value, saved.value):
        text = str(failure)
        assert FAULTS[error] in text and "\n" not in text
    assert str(existing.id) in str(marked.value)
    assert "nothing was written" in str(saved.value)
    assert files_in(tmp_path / "dreams") == before
    assert leftovers(tmp_path) == []
    assert store.set_status(existing.id, Status.APPLIED).status is Status.APPLIED


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS], ids=_ids)
def test_dreams_mark_on_a_full_or_read_only_dreams_dir_is_one_line_and_exit_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: int,
) -> None:
    from tests.test_cli_dreams import make_dream

    for key in list(os.environ):
        if key.upper().startswith("DREAMER_"):
            monkeypatch.delenv(key)
    dreams = tmp_path / "dreams"
    monkeypatch.setenv("DREAMER_DREAMS_DIR", str(dreams))
    monkeypatch.chdir(tmp_path)
    dream = make_dream(1)
    DreamStore(dreams).save_new(dream)
    before = files_in(dreams)
    fault = DiskFault(monkeypatch, [dreams])
    fault.start(error)
    code = cli_run(["dreams", "mark", dream.id, "applied", "--reason", "done"])
    fault.stop()
    out, err = capsys.readouterr()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and FAULTS[error] in lines[0]
    assert str(dreams) in lines[0] and "unchanged" in lines[0]
    assert "Traceback" not in out + err and "Marked" not in out
    assert files_in(dreams) == before
    assert leftovers(dreams) == []
    assert cli_run(["dreams", "mark", dream.id, "applied"]) == 0
    assert DreamStore(dreams).load(dream.id).status is Status.APPLIED


def _graph_with(*dream_ids: str) -> KnowledgeGraph:
    graph = KnowledgeGraph()
    for dream_id in dream_ids:
        graph.upsert_node(NodeInput(id=dream_node_id(dream_id), kind=NodeKind.DREAM))
    return graph


def test_a_graph_save_failing_between_its_two_renames_restores_the_old_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codedreamer.errors import GraphError
    from codedreamer.memory import graph_store

    graph = _graph_with("a")
    save_graph(graph, tmp_path)
    before = files_in(tmp_path)
    real_replace = os.replace

    def nodes_rename_fails(src: Any, dst: Any) -> None:
        if str(dst).endswith("nodes.arrow"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))
        real_replace(src, dst)

    graph.upsert_node(NodeInput(id=dream_node_id("b"), kind=NodeKind.DREAM))
    monkeypatch.setattr(graph_store.os, "replace", nodes_rename_fails)
    with pytest.raises(GraphError, match="Read-only file system") as failed:
        save_graph(graph, tmp_path)
    monkeypatch.setattr(graph_store.os, "replace", real_replace)
    assert "nodes.arrow" in str(failed.value) and "unchanged" in str(failed.value)
    # The edges were already replaced when the nodes rename failed: they were put back.
    assert files_in(tmp_path) == before
    assert leftovers(tmp_path) == []
    assert dream_node_id("b") not in load_graph(tmp_path)
    save_graph(graph, tmp_path)
    assert dream_node_id("b") in load_graph(tmp_path)


def test_a_save_killed_between_its_two_renames_still_loads_the_last_whole_save(
    tmp_path: Path,
) -> None:
    """What a kill -9 between the renames leaves: new edges, old nodes, the kept old edges."""
    old = _graph_with("a", "b")
    old.add_edge(dream_node_id("b"), dream_node_id("a"), _refines())
    save_graph(old, tmp_path)
    nodes_path, edges_path = graph_files(tmp_path)
    os.link(edges_path, tmp_path / PREVIOUS_EDGES_FILE)
    newer = tmp_path / "newer"
    new = load_graph(tmp_path)
    new.upsert_node(NodeInput(id=dream_node_id("c"), kind=NodeKind.DREAM))
    save_graph(new, newer)
    os.replace(graph_files(newer)[1], edges_path)  # the first rename happened, then the kill
    loaded = load_graph(tmp_path)
    assert dream_node_id("c") not in loaded and dream_node_id("b") in loaded
    assert len(list(loaded.edges(dream_node_id("b")))) == 1
    # Without the kept edges the pair is reported, not guessed.
    (tmp_path / PREVIOUS_EDGES_FILE).unlink()
    from codedreamer.errors import GraphError

    with pytest.raises(GraphError, match="different save"):
        load_graph(tmp_path)
    assert nodes_path.exists()


def _refines() -> Any:
    from codedreamer.memory.graph_types import EdgeKind

    return EdgeKind.REFINES


def test_a_corrupt_trm_file_that_cannot_be_moved_aside_is_never_saved_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trm.json"
    path.write_text("{not json")
    fault = DiskFault(monkeypatch, [tmp_path])
    fault.start(errno.EROFS)
    memory = TemporalMemory(path)
    assert "left in place" in memory.problem and "Read-only file system" in memory.problem
    memory.add("an insight")
    with pytest.raises(OSError, match="Read-only file system"):
        memory.save()
    fault.stop()
    assert path.read_text() == "{not json"
    memory.save()  # writable again: the corrupt file is moved aside first, then saved
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("trm.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert "an insight" in path.read_text()


# ------------------------------------------------------------------ the event log writer


def _publish(hub: EventHub, *messages: str) -> None:
    for message in messages:
        hub.publish(Notice(message=message))


def test_event_log_on_a_full_disk_tears_no_line_and_writes_the_events_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_path = tmp_path / "events.jsonl"
    hub = EventHub()
    seen = hub.subscribe()
    writer = EventLogWriter(hub, log_path, flush_interval=3600)
    writer.start()
    _publish(hub, "before")
    writer.flush()
    before = log_path.read_bytes()
    fault = DiskFault(monkeypatch, [tmp_path])
    fault.start(errno.ENOSPC)
    _publish(hub, "during 1", "during 2")
    writer.flush()  # the first write goes half-way, the rest fails: the half is cut off
    _publish(hub, "during 3")
    writer.flush()
    assert log_path.read_bytes() == before
    assert writer.pending >= 3 and writer.write_errors == 2
    errors = [e for e in seen.drain() if isinstance(e, EngineError)]
    assert len(errors) == 1, "an outage is reported once"
    assert "No space left on device" in errors[0].message and str(log_path) in errors[0].message
    fault.stop()
    writer.flush()
    writer.stop()
    messages = [
        e.message
        for e in map(event_from_json, log_path.read_text().splitlines())
        if isinstance(e, Notice | EngineError)
    ]
    assert messages[0] == "before"
    assert messages.index("during 1") < messages.index("during 2") < messages.index("during 3")
    assert any("written again" in m and "0 dropped" in m for m in messages)


def test_event_log_overflow_drops_the_oldest_and_says_how_many(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_path = tmp_path / "data" / "events.jsonl"
    hub = EventHub()
    writer = EventLogWriter(hub, log_path, flush_interval=3600, max_pending_bytes=2000)
    fault = DiskFault(monkeypatch, [tmp_path])
    fault.start(errno.EROFS)
    writer.start()  # DATA_DIR cannot even be created: the writer starts anyway
    for batch in range(10):
        _publish(hub, *(f"event {batch}-{i}" for i in range(5)))
        writer.flush()
    assert writer.dropped > 0 and not log_path.exists()
    fault.stop()
    writer.flush()
    writer.stop()
    events = [event_from_json(line) for line in log_path.read_text().splitlines()]
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert "event 9-4" in notices and "event 0-0" not in notices
    recovery = [m for m in notices if "written again" in m]
    assert recovery and f"{writer.dropped} dropped" in recovery[0]


def test_event_log_writes_a_new_line_after_a_tail_it_could_not_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_path = tmp_path / "events.jsonl"
    log_path.write_text('{"type": "Notice", "mess')  # torn by a kill -9
    hub = EventHub()
    writer = EventLogWriter(hub, log_path, flush_interval=3600)
    writer.start()
    _publish(hub, "after")
    writer.flush()
    writer.stop()
    lines = log_path.read_text().splitlines()
    assert lines[0] == '{"type": "Notice", "mess'
    assert [e.message for e in map(event_from_json, lines[1:])] == ["after"]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the log file


class _FullDiskStream(io.StringIO):
    """A log stream on a full disk: every write fails."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_log_file_that_cannot_be_written_never_prints_logging_tracebacks(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    _remove_our_log_handlers()
    try:
        path = configure_logging(settings)
        assert path == settings.data_dir / "codedreamer.log"
        handler = next(h for h in logging.getLogger().handlers if getattr(h, "_codedreamer", 0))
        log = logging.getLogger("codedreamer.test_disk")
        log.warning("written")
        assert isinstance(handler, logging.FileHandler)
        # The disk is full: the open stream fails, and so does every stream opened anew.
        handler.stream = _FullDiskStream()
        handler._open = _FullDiskStream  # type: ignore[method-assign]
        for n in range(5):
            log.warning("lost %d", n)
        log.exception("lost with a traceback")
        _out, err = capfd.readouterr()
        assert "Logging error" not in err and "Traceback" not in err
        assert err.count("\n") == 1 and "No space left on device" in err and str(path) in err
        del handler._open  # space again: the next record reopens the real file
        log.warning("written again")
        handler.flush()
        text = path.read_text()
        assert "written" in text and "6 log records were dropped" in text
        assert "written again" in text and "lost" not in text
        assert capfd.readouterr().err == ""
    finally:
        _remove_our_log_handlers()


def test_a_log_directory_that_cannot_be_created_drops_records_without_tracebacks(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = _settings(tmp_path).model_copy(update={"data_dir": blocker / "data"})
    _remove_our_log_handlers()
    try:
        configure_logging(settings)
        logging.getLogger("codedreamer.test_disk").error("nowhere to go")
        logging.getLogger("codedreamer.test_disk").error("still nowhere")
        err = capfd.readouterr().err
        assert err.count("\n") == 1 and "cannot write the log file" in err
        assert "Traceback" not in err and "Logging error" not in err
    finally:
        _remove_our_log_handlers()


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS], ids=_ids)
def test_a_daemon_started_on_a_full_or_read_only_data_dir_is_one_line_exit_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: int,
) -> None:
    for key in list(os.environ):
        if key.upper().startswith("DREAMER_"):
            monkeypatch.delenv(key)
    repo = make_repo(tmp_path / "repo")
    data = tmp_path / "data"
    monkeypatch.setenv("DREAMER_DATA_DIR", str(data))
    monkeypatch.setenv("DREAMER_DREAMS_DIR", str(tmp_path / "dreams"))
    monkeypatch.chdir(tmp_path)
    fault = DiskFault(monkeypatch, [data])
    fault.start(error)
    try:
        code = cli_run(["daemon", "--codebase", str(repo)])
    finally:
        fault.stop()
        _remove_our_log_handlers()
    out, err = capsys.readouterr()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot create the engine lock")
    assert FAULTS[error] in lines[0] and str(data) in lines[0]
    assert "Traceback" not in out + err and not data.exists()


# ------------------------------------------------------------------ start-up on a bad disk


def test_a_lock_that_cannot_be_written_at_start_is_one_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codedreamer.errors import StorageError

    settings = _settings(tmp_path)

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)  # the holder's name, written after the flock
    runner = Runner(settings, tmp_path, EventHub())
    with pytest.raises(StorageError) as failed:
        runner.start()
    assert str(failed.value) == (
        f"cannot take the engine lock {settings.data_dir / 'engine.lock'}: No space left on device"
    )
    assert not runner.is_alive()


def test_an_index_the_full_disk_stops_at_start_is_retried_until_it_builds(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon waits out a full disk at start instead of exiting; other errors still stop."""
    from codedreamer.index.store import storage_error

    monkeypatch.setattr("codedreamer.engine.runner.BACKOFF_FIRST_SEC", 0.2)
    real_ensure = Engine.ensure_index
    failures = ["No space left on device (os error 28)", "Read-only file system (os error 30)"]

    def ensure_index(engine: Engine, progress: Any = None) -> Any:
        if failures:
            raise storage_error(engine.settings.index_dir, OSError(failures.pop(0)))
        return real_ensure(engine, progress=progress)

    monkeypatch.setattr(Engine, "ensure_index", ensure_index)
    first = daemon.start()
    assert first.outcome == "saved", first.reason
    waits = [m for m in daemon.errors() if m.startswith("index not ready")]
    assert len(waits) == 2 and "No space left on device" in waits[0]
    assert "Read-only file system" in waits[1] and "next try in" in waits[1]
    assert all(not e.fatal for e in daemon.events if isinstance(e, EngineError))


def test_a_damaged_index_at_start_still_stops_the_runner_with_one_line(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codedreamer.index.store import storage_error

    def ensure_index(engine: Engine, progress: Any = None) -> Any:
        raise storage_error(engine.settings.index_dir, RuntimeError("failed to fill whole buffer"))

    monkeypatch.setattr(Engine, "ensure_index", ensure_index)
    daemon.launch()
    assert daemon.runner.join(30)
    fatal = [e for e in daemon.events_now() if isinstance(e, EngineError) and e.fatal]
    assert len(fatal) == 1 and "index --clear" in fatal[0].message
    assert daemon.runner.error is not None


def test_stop_while_waiting_for_disk_space_at_start_ends_promptly(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codedreamer.index.store import storage_error

    def ensure_index(engine: Engine, progress: Any = None) -> Any:
        raise storage_error(engine.settings.index_dir, OSError("No space left on device"))

    monkeypatch.setattr(Engine, "ensure_index", ensure_index)
    daemon.launch()
    daemon.wait_for(lambda _e: any(m.startswith("index not ready") for m in daemon.errors()))
    started = time.monotonic()
    daemon.stop()  # the first back-off is 5 s: a stop must not wait for it
    assert time.monotonic() - started < 3 and not daemon.runner.is_alive()
    assert daemon.runner.error is None


# ------------------------------------------------------------------ the attempts log


def test_attempts_log_on_a_full_disk_tears_no_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codedreamer.storage.attempts import Attempt, AttemptLog

    path = tmp_path / "attempts.jsonl"
    log = AttemptLog(path)
    log.append(Attempt(text="first answer", reason="ungrounded"))
    before = path.read_bytes()
    fault = DiskFault(monkeypatch, [tmp_path])
    fault.start(errno.ENOSPC)
    with pytest.raises(OSError) as raised:  # the first write goes half-way, then fails
        log.append(Attempt(text="a long answer " * 200, reason="truncated"))
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert path.read_bytes() == before, "the half-written line was cut off again"
    fault.stop()
    log.append(Attempt(text="third answer", reason="template_echo"))
    fresh = AttemptLog(path).read()
    assert [a.text for a in fresh] == ["first answer", "third answer"]
