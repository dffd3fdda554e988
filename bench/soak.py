"""Crash-safety soak: SIGKILL the daemon again and again while the CLI marks dreams.

    python -m bench.soak [--kills 50] [--marks 200] [--no-write]

A sample git repo, the bundled model, `codedreamer daemon` with cycles back to back. Each
round starts the daemon, waits a random moment (spread so kills land at start-up, during
indexing and graph sync, during generation, around dream and graph saves and event-log
flushes), and SIGKILLs it. Meanwhile other processes run `codedreamer dreams mark` on
seeded dreams, each dream marked by one process with a known last status. Afterwards one
clean run starts and stops, and the checks are: every dream file parses, every mark is
the last one asked for, the graph loads, the index opens, the event log has at most one
torn line per kill, no temp files and no verification scratch are left, the lock is free.
Figures go to docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from codedreamer.storage.dream import Dream, Status, new_dream_id
from codedreamer.storage.store import DreamStore
from tests.sample_repo import make_repo

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = REPO_ROOT / "docs" / "reliability.md"
STATUSES = ["applied", "rejected", "deferred", "pending"]


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
    env |= {
        "DREAMER_DATA_DIR": str(root / "data"),
        "DREAMER_DREAMS_DIR": str(root / "dreams"),
        "DREAMER_DREAM_INTERVAL_SEC": "0",
        "DREAMER_REASONING_MAX_TOKENS": "48",
        "DREAMER_CODER_MAX_TOKENS": "48",
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": "1",
        "DREAMER_DECAY_INTERVAL_SEC": "1",
    }
    return env


def _repo(root: Path) -> Path:
    return make_repo(root / "repo")


def _seed_dreams(dreams_dir: Path, n: int) -> list[str]:
    store = DreamStore(dreams_dir)
    ids = []
    for i in range(n):
        now = datetime.now(UTC)
        dream = Dream(
            id=new_dream_id(now),
            created=now,
            category="bugs",
            source_path="inventory.py",
            line_start=13,
            line_end=17,
            title=f"seeded dream {i}",
            insight="`remove_item` prints instead of raising when stock runs out.",
        )
        store.save_new(dream)
        ids.append(dream.id)
    return ids


def _last_event(log: Path) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "no log yet"
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = str(event.get("type"))
        if kind == "RunnerStateChanged":
            return f"state {event.get('state')}"
        if kind == "StageStarted":
            return f"stage {event.get('stage')}"
        return kind
    return "no event yet"


def _marker(
    env: dict[str, str], cwd: Path, jobs: list[tuple[str, str]], results: list[str]
) -> None:
    for dream_id, status in jobs:
        proc = subprocess.run(
            [sys.executable, "-m", "codedreamer", "dreams", "mark", dream_id, status],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        results.append("ok" if proc.returncode == 0 else proc.stderr.strip()[:200])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--marks", type=int, default=200)
    parser.add_argument("--markers", type=int, default=4, help="concurrent marking processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cd-soak-") as tmp:
        root = Path(tmp)
        repo = _repo(root)
        env = _env(root)
        env["TMPDIR"] = str(root / "tmp")
        (root / "tmp").mkdir()
        seeded = _seed_dreams(root / "dreams", max(1, args.marks // 4))
        # Each seeded dream belongs to one marker, which marks it several times; its last
        # mark is what the file must say at the end.
        jobs: list[list[tuple[str, str]]] = [[] for _ in range(args.markers)]
        expected: dict[str, str] = {}
        for n in range(args.marks):
            dream_id = seeded[n % len(seeded)]
            owner = seeded.index(dream_id) % args.markers
            status = rng.choice(STATUSES)
            jobs[owner].append((dream_id, status))
            expected[dream_id] = status
        mark_results: list[str] = []
        markers = [
            threading.Thread(target=_marker, args=(env, root, job, mark_results)) for job in jobs
        ]
        for thread in markers:
            thread.start()

        windows: Counter[str] = Counter()
        log = root / "data" / "events.jsonl"
        daemon = [sys.executable, "-m", "codedreamer", "daemon", "--codebase", str(repo)]
        for _ in range(args.kills):
            proc = subprocess.Popen(
                daemon, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            # Early kills hit start-up and indexing; later ones generation and saves.
            time.sleep(rng.choice([rng.uniform(0.5, 4.0), rng.uniform(4.0, 20.0)]))
            windows[_last_event(log)] += 1
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for thread in markers:
            thread.join()

        # One clean run after the last kill: it must start, clean up and stop. It removes
        # temp files older than 10 s (younger ones could belong to a live writer).
        time.sleep(11)
        clean = subprocess.Popen(
            daemon, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        time.sleep(15)
        clean.send_signal(signal.SIGTERM)
        _, clean_err = clean.communicate(timeout=60)

        checks: dict[str, str] = {}
        listing = DreamStore(root / "dreams").list()
        checks["dream files that parse"] = f"{len(listing.dreams)} ({len(listing.corrupt)} corrupt)"
        by_id = {d.id: d for d in listing.dreams}
        lost = [d for d, s in expected.items() if Status(by_id[d].status).value != s]
        checks["marks whose last status was lost"] = str(len(lost))
        failed_marks = [r for r in mark_results if r != "ok"]
        checks["mark commands that failed"] = f"{len(failed_marks)} of {len(mark_results)}"
        from codedreamer.config.settings import load_settings
        from codedreamer.index.indexer import open_index
        from codedreamer.memory.graph_store import load_graph

        settings = load_settings(env_file=None, environ=env).settings
        try:
            graph = load_graph(settings.graph_dir)
            checks["graph loads"] = f"yes ({len(graph)} nodes, {graph.edge_count} edges)"
        except Exception as exc:
            checks["graph loads"] = f"NO: {exc}"
        try:
            store = open_index(settings)
            checks["index opens"] = f"yes ({store.count()} chunks)"
            store.close()
        except Exception as exc:
            checks["index opens"] = f"NO: {exc}"
        bad = 0
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            try:
                json.loads(line)
            except ValueError:
                bad += 1
        checks["torn event-log lines (skipped by readers)"] = f"{bad} (at most {args.kills})"
        temps = [
            p
            for d in (root / "dreams", settings.graph_dir, settings.data_dir)
            if d.exists()
            for p in d.iterdir()
            if p.name.endswith(".tmp")
        ]
        checks["temp files left"] = str(len(temps))
        scratch = list((root / "tmp").glob("codedreamer-verify-*"))
        checks["verification scratch dirs left"] = str(len(scratch))
        checks["clean run after the kills"] = f"exit {clean.returncode}" + (
            f": {clean_err.strip()[:200]}" if clean.returncode else ""
        )
        from codedreamer.engine.lock import EngineLock

        lock = EngineLock(settings.data_dir)
        try:
            lock.acquire()
            lock.release()
            checks["engine lock free"] = "yes"
        except Exception as exc:
            checks["engine lock free"] = f"NO: {exc}"
        stored = sum(1 for d in listing.dreams if d.id not in expected)

    seconds = time.monotonic() - started
    ok = (
        not listing.corrupt
        and not lost
        and not failed_marks
        and checks["graph loads"].startswith("yes")
        and checks["index opens"].startswith("yes")
        and bad <= args.kills
        and not temps
        and not scratch
        and clean.returncode == 0
        and checks["engine lock free"] == "yes"
    )
    rows = "\n".join(f"| {k} | {v} |" for k, v in checks.items())
    window_rows = "\n".join(f"| {k} | {v} |" for k, v in windows.most_common())
    body = f"""## Kill -9 soak (`python -m bench.soak --kills {args.kills} --marks {args.marks}`)

The daemon on a sample repository with the bundled model, cycles back to back, SIGKILLed
{args.kills} times at random moments and restarted each time, while {args.markers}
processes ran {len(mark_results)} `codedreamer dreams mark` commands on {len(expected)}
seeded dreams. {stored} dreams were stored by the engine during the soak. Total
{seconds / 60:.1f} min. Result: **{"all checks passed" if ok else "FAILED"}**.

| check | result |
|---|---|
{rows}

Where the kills landed (the last event the daemon had logged before each kill):

| last event before the kill | kills |
|---|---|
{window_rows}
"""
    print(body)
    if not args.no_write:
        _write_report(body)
    return 0 if ok else 1


def _write_report(body: str) -> None:
    start, end = "<!-- soak start -->", "<!-- soak end -->"
    text = REPORT.read_text() if REPORT.exists() else "# Reliability\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    from codedreamer.storage.atomic import atomic_write_text

    atomic_write_text(REPORT, text)


if __name__ == "__main__":
    sys.exit(main())
