"""DreamStore on a real directory: exclusive creation, corrupt files, locked concurrent updates."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from codedreamer.errors import StorageError, UsageError
from codedreamer.storage.dream import Dream, Priority, Status, new_dream_id
from codedreamer.storage.dream_file import dream_to_markdown
from codedreamer.storage.query import actionable, group_by_priority, insight_preview
from codedreamer.storage.store import LOCK_DIR_NAME, DreamIdTaken, DreamStore, ListResult

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def make_dream(created: datetime = NOW, **changes: object) -> Dream:
    dream = Dream(
        id=new_dream_id(created),
        created=created,
        category="bugs",
        source_path="pkg/mod.py",
        line_start=1,
        line_end=9,
        title="A dream",
        insight="Something to fix.",
    )
    return dataclasses.replace(dream, **changes)  # type: ignore[arg-type]


def test_save_new_then_load_round_trips(tmp_path: Path) -> None:
    store = DreamStore(tmp_path / "dreams" / "nested")  # created on first save
    dream = make_dream(code="print('hi')\n", language="python")
    path = store.save_new(dream)
    assert path == tmp_path / "dreams" / "nested" / f"{dream.id}.md"
    assert store.load(dream.id) == dream


def test_colliding_id_raises_and_keeps_the_first_dream(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    first = make_dream(title="first")
    store.save_new(first)
    before = store.path_for(first.id).read_bytes()
    with pytest.raises(DreamIdTaken, match="already exists"):
        store.save_new(dataclasses.replace(first, title="second"))
    assert store.path_for(first.id).read_bytes() == before


def test_save_new_rejects_bad_id_without_writing(tmp_path: Path) -> None:
    store = DreamStore(tmp_path / "d")
    with pytest.raises(StorageError, match="not a dream id"):
        store.save_new(make_dream(id="../escape"))
    assert not (tmp_path / "d").exists()
    assert not (tmp_path / "escape.md").exists()


@pytest.mark.parametrize(
    "bad_id", ["nope", "../20250601-120000-0123abcd", "20250601-120000-0123ABCD"]
)
def test_load_malformed_id_is_usage_error(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(UsageError, match="not a dream id"):
        DreamStore(tmp_path).load(bad_id)


def test_load_unknown_id_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no dream 20250601-120000-0123abcd"):
        DreamStore(tmp_path).load("20250601-120000-0123abcd")


def test_list_is_newest_first_by_created_front_matter(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    # File names (ids) sort the other way round from `created`: the front matter decides.
    old = make_dream(created=NOW - timedelta(days=2), id="20990101-000000-00000001")
    new = make_dream(created=NOW, id="20000101-000000-00000002")
    middle = make_dream(created=NOW - timedelta(days=1))
    for dream in (old, new, middle):
        store.save_new(dream)
    assert [d.id for d in store.list().dreams] == [new.id, middle.id, old.id]


def test_list_of_missing_directory_is_empty(tmp_path: Path) -> None:
    listed = DreamStore(tmp_path / "none").list()
    assert listed.dreams == [] and listed.corrupt == []


def test_corrupt_files_are_reported_skipped_and_left_untouched(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    good = make_dream()
    store.save_new(good)
    other = make_dream()
    corrupt_contents = {
        "20250601-120000-aaaaaaaa.md": b"not a dream at all",
        "20250601-120000-bbbbbbbb.md": b"",
        "20250601-120000-cccccccc.md": b"\xff\xfe\x00binary",
        # Parses, but the id inside is another dream's: rewriting it would clobber that one.
        "20250601-120000-dddddddd.md": dream_to_markdown(other).encode(),
        "notes.md": b"# my notes",
    }
    for name, data in corrupt_contents.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / ".20250601-120000-eeeeeeee.md.abc.tmp").write_bytes(b"partial")

    listed = store.list()
    assert [d.id for d in listed.dreams] == [good.id]
    reasons = {entry.path.name: entry.reason for entry in listed.corrupt}
    assert set(reasons) == set(corrupt_contents)
    assert "no front matter" in reasons["20250601-120000-aaaaaaaa.md"]
    assert "empty" in reasons["20250601-120000-bbbbbbbb.md"]
    assert "UTF-8" in reasons["20250601-120000-cccccccc.md"]
    assert "does not match the file name" in reasons["20250601-120000-dddddddd.md"]
    assert "not <dream id>.md" in reasons["notes.md"]
    path, reason = listed.corrupt[0]  # a (path, reason) pair
    assert isinstance(path, Path) and reason

    # Trying to change a corrupt dream fails and leaves the bytes as they were.
    with pytest.raises(StorageError):
        store.set_status("20250601-120000-aaaaaaaa", Status.APPLIED)
    with pytest.raises(StorageError):
        store.load("20250601-120000-dddddddd")
    for name, data in corrupt_contents.items():
        assert (tmp_path / name).read_bytes() == data


def test_set_status_rewrites_only_that_dream(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    target, bystander = make_dream(), make_dream()
    store.save_new(target)
    store.save_new(bystander)
    bystander_bytes = store.path_for(bystander.id).read_bytes()

    updated = store.set_status(target.id, "Applied", reason="merged in #12")
    assert updated.status == Status.APPLIED and updated.status_reason == "merged in #12"
    assert store.load(target.id) == dataclasses.replace(
        target, status=Status.APPLIED, status_reason="merged in #12"
    )
    assert store.path_for(bystander.id).read_bytes() == bystander_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{target.id}.md", f"{bystander.id}.md", LOCK_DIR_NAME]
    )


def test_set_status_rejects_bad_status_and_unknown_id(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    dream = make_dream()
    store.save_new(dream)
    before = store.path_for(dream.id).read_bytes()
    with pytest.raises(UsageError, match="'done' is not a dream status"):
        store.set_status(dream.id, "done")
    with pytest.raises(UsageError, match="no dream"):
        store.set_status("20250601-120000-00000000", Status.APPLIED)
    assert store.path_for(dream.id).read_bytes() == before


def test_update_sees_in_place_mutation_and_forbids_id_change(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    dream = make_dream()
    store.save_new(dream)

    def add_symbol(d: Dream) -> Dream:
        d.symbols.append("pkg.mod.f")  # mutating in place must still be written
        return d

    assert store.update(dream.id, add_symbol).symbols == ["pkg.mod.f"]
    assert store.load(dream.id).symbols == ["pkg.mod.f"]
    with pytest.raises(StorageError, match="may not change the dream id"):
        store.update(dream.id, lambda d: dataclasses.replace(d, id=new_dream_id()))
    assert store.load(dream.id).symbols == ["pkg.mod.f"]


def test_lock_timeout_is_a_clear_error(tmp_path: Path) -> None:
    import fcntl

    store = DreamStore(tmp_path, lock_timeout=0.2)
    dream = make_dream()
    store.save_new(dream)
    lock_dir = tmp_path / LOCK_DIR_NAME
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"{dream.id}.lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(StorageError, match="locked by another process"):
            store.set_status(dream.id, Status.REJECTED)
        assert time.monotonic() - started < 5
    assert store.load(dream.id).status == Status.PENDING


def test_recent_uses_created_not_file_times(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    fresh = make_dream(created=NOW - timedelta(hours=2))
    stale = make_dream(created=NOW - timedelta(hours=30))
    store.save_new(fresh)
    store.save_new(stale)  # both files have a brand-new mtime
    assert [d.id for d in store.recent(12, now=NOW).dreams] == [fresh.id]
    assert [d.id for d in store.recent(48, now=NOW).dreams] == [fresh.id, stale.id]
    with pytest.raises(UsageError, match="--hours must be positive"):
        store.recent(0)


def test_threads_updating_different_fields_lose_nothing(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    dream = make_dream()
    store.save_new(dream)
    rounds = 25

    def bump(key: str) -> None:
        for _ in range(rounds):
            store.update(
                dream.id,
                lambda d: dataclasses.replace(
                    d, timings={**d.timings, key: d.timings.get(key, 0) + 1}
                ),
            )

    threads = [threading.Thread(target=bump, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.load(dream.id).timings == {f"t{i}": rounds for i in range(4)}


# Each process walks all dreams several times (one forwards, one backwards, so they meet on
# the same dream), changing its own fields and bumping its own counter. A lost update shows
# as a counter short of the number of rounds.
CONCURRENT_WORKER = r"""
import dataclasses, sys, time
from pathlib import Path
from codedreamer.storage.dream import Priority, Status
from codedreamer.storage.store import DreamStore

dreams_dir, role, rounds, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = DreamStore(dreams_dir)
ids = sorted(p.stem for p in dreams_dir.glob("*.md"))
if role == "b":
    ids.reverse()
(dreams_dir.parent / f"ready-{role}").touch()
while not go.exists():
    time.sleep(0.001)
statuses = [Status.APPLIED, Status.REJECTED, Status.DEFERRED, Status.PENDING]
for r in range(rounds):
    for i, dream_id in enumerate(ids):
        if role == "a":
            store.set_status(dream_id, statuses[(r + i) % 4], reason=f"a round {r}")
            store.update(dream_id, lambda d: dataclasses.replace(
                d, timings={**d.timings, "a": d.timings.get("a", 0) + 1}))
        else:
            store.update(dream_id, lambda d: dataclasses.replace(
                d,
                priority=Priority.HIGH,
                priority_reason=f"b round {r}",
                timings={**d.timings, "b": d.timings.get("b", 0) + 1},
            ))
print("done", flush=True)
"""


@pytest.mark.slow
def test_two_processes_updating_the_same_dreams_lose_nothing(tmp_path: Path) -> None:
    dreams_dir = tmp_path / "dreams"
    store = DreamStore(dreams_dir)
    dreams = [make_dream(created=NOW + timedelta(seconds=i)) for i in range(25)]
    for dream in dreams:
        store.save_new(dream)
    rounds = 6
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_WORKER, str(dreams_dir), role, str(rounds), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("a", "b")
    ]
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"ready-{role}").exists() for role in ("a", "b")):
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.01)
    go.touch()
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == "done"

    listed = store.list()
    assert listed.corrupt == []
    assert len(listed.dreams) == len(dreams)
    statuses = [Status.APPLIED, Status.REJECTED, Status.DEFERRED, Status.PENDING]
    order = sorted(d.id for d in dreams)
    for dream in listed.dreams:
        assert dream.timings == {"a": rounds, "b": rounds}, dream.id
        i = order.index(dream.id)
        assert dream.status == statuses[(rounds - 1 + i) % 4]
        assert dream.status_reason == f"a round {rounds - 1}"
        assert dream.priority == Priority.HIGH
        assert dream.priority_reason == f"b round {rounds - 1}"
        # Everything the workers did not touch is as it was written.
        original = next(d for d in dreams if d.id == dream.id)
        assert (
            dataclasses.replace(
                dream,
                status=original.status,
                status_reason="",
                priority=original.priority,
                priority_reason="",
                timings={},
            )
            == original
        )


# ------------------------------------------------------------------ pure selections


def test_actionable_orders_pending_by_priority_then_novelty() -> None:
    low_novel = make_dream(priority=Priority.LOW, novelty=0.9)
    high_dull = make_dream(priority=Priority.HIGH, novelty=0.2)
    high_novel = make_dream(priority=Priority.HIGH, novelty=0.8)
    critical = make_dream(priority=Priority.CRITICAL, novelty=0.1)
    unranked = make_dream(novelty=1.0)
    applied = make_dream(priority=Priority.CRITICAL, status=Status.APPLIED)
    ranked = actionable([low_novel, high_dull, applied, unranked, high_novel, critical])
    assert ranked == [critical, high_novel, high_dull, low_novel, unranked]


def test_group_by_priority_keeps_order_and_drops_empty_groups() -> None:
    a = make_dream(priority=Priority.LOW)
    b = make_dream(priority=Priority.CRITICAL)
    c = make_dream(priority=Priority.LOW)
    groups = group_by_priority([a, b, c])
    assert list(groups) == [Priority.CRITICAL, Priority.LOW]
    assert groups[Priority.LOW] == [a, c]


def test_insight_preview_takes_first_nonempty_lines() -> None:
    assert insight_preview("\n\nOne.\n\nTwo.\nThree.\nFour.") == "One.\nTwo.\nThree. …"
    assert insight_preview("x" * 400).endswith("…")
    assert len(insight_preview("x" * 400)) == 300
    assert insight_preview("") == ""


# ------------------------------------------------------------------ parse cache


def test_listing_sees_changes_made_through_another_store(tmp_path: Path) -> None:
    viewer, writer = DreamStore(tmp_path), DreamStore(tmp_path)
    dream = make_dream()
    writer.save_new(dream)
    assert viewer.list().dreams[0].status == Status.PENDING  # now cached by the viewer
    # "pending" -> "applied": same length, written within the same clock tick. Only a
    # content comparison can tell the files apart.
    writer.set_status(dream.id, Status.APPLIED)
    assert viewer.list().dreams[0].status == Status.APPLIED
    assert viewer.load(dream.id).status == Status.APPLIED
    (tmp_path / f"{dream.id}.md").write_text("broken now")
    listed = viewer.list()
    assert listed.dreams == [] and len(listed.corrupt) == 1
    (tmp_path / f"{dream.id}.md").unlink()
    assert viewer.list() == ListResult(dreams=[], corrupt=[])


def test_callers_cannot_change_the_cached_dream(tmp_path: Path) -> None:
    store = DreamStore(tmp_path)
    dream = make_dream(symbols=["a"], timings={"think": 1.0})
    store.save_new(dream)
    first = store.list().dreams[0]
    first.symbols.append("mutated")
    first.timings["think"] = 99.0
    first.title = "mutated"
    assert store.list().dreams[0] == dream
    assert store.load(dream.id) == dream


def test_list_of_a_file_instead_of_a_directory_is_a_storage_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "dreams"
    not_a_dir.write_text("x")
    with pytest.raises(StorageError, match="cannot list dreams"):
        DreamStore(not_a_dir).list()


def test_remove_stale_temp_files_only_removes_old_temp_files(tmp_path: Path) -> None:
    import os

    store = DreamStore(tmp_path)
    dream = make_dream()
    store.save_new(dream)
    old_temp = tmp_path / f".{dream.id}.md.0123456789ab.tmp"
    fresh_temp = tmp_path / f".{dream.id}.md.ba9876543210.tmp"
    lookalike = tmp_path / ".notes.md.0123.tmp"
    for path in (old_temp, fresh_temp, lookalike):
        path.write_text("partial")
    two_hours_ago = time.time() - 7200
    for path in (old_temp, lookalike, store.path_for(dream.id)):
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert store.remove_stale_temp_files(older_than_sec=3600) == 1
    assert not old_temp.exists()
    assert fresh_temp.exists() and lookalike.exists()
    assert store.load(dream.id) == dream
    assert DreamStore(tmp_path / "missing").remove_stale_temp_files() == 0
