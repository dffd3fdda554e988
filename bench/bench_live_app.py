"""Benchmarks of the live app's engine runner, each side by side with its baseline.

1. Runner overhead per cycle: N cycles through the runner (worker thread, event hub, a
   view draining the events in another thread) against the same N cycles of
   `Engine.dream_once` called directly with a list as the sink. Same seed, same model,
   greedy decoding, each side on its own copy of the same index, alternating runs.
2. Stop latency during generation: `Runner.stop()` called while the model streams,
   until the worker thread has ended (model closed, lock released).
3. Start-up to first streamed token on a fresh clone of a 1,000-file repository: the
   whole `codedreamer daemon --json` process (the runner start-up path the TUI uses too),
   from exec to the first token line, with the index built from nothing; beside it the
   parts (model load, index build) from the event timestamps.
4. Graph sync after one edited file (`sync_changed_paths`) against the full backfill
   (`backfill_from_index`) on the same 1,000-file index.

    python -m bench.bench_live_app [--cycles 4] [--pairs 3] [--stops 10] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.report import write_section
from codedreamer.config.settings import Settings, load_settings
from codedreamer.engine.engine import Engine
from codedreamer.engine.runner import Runner
from codedreamer.events import EngineError, Event, EventHub, RunnerStopped, TokenStreamed

SAMPLE = '''"""Billing helpers."""


def charge(amount, card):
    if amount <= 0:
        raise ValueError("amount must be positive")
    fee = amount * 0.029 + 0.30
    return {"card": card, "total": round(amount + fee, 2)}


def refund(payment, reason):
    total = payment["total"]
    for line in reason.splitlines():
        total = total - 0
    return {"card": payment["card"], "total": -total, "reason": reason}


class Ledger:
    def __init__(self):
        self.entries = []

    def add(self, entry):
        self.entries.append(entry)

    def balance(self):
        result = 0
        for entry in self.entries:
            result = result + entry["total"]
        return result
'''


def _settings(data: Path, **extra: str) -> Settings:
    env = {
        "DREAMER_DATA_DIR": str(data),
        "DREAMER_DREAMS_DIR": str(data / "dreams"),
        "DREAMER_DREAM_TEMPERATURE": "0",
        "DREAMER_N_CTX": "2048",
        "DREAMER_DREAM_INTERVAL_SEC": "0",
        # One llama.cpp thread: on 2 cores, two llama threads that wait on each other are
        # slowed by any other runnable thread, which would be measured as "overhead".
        "DREAMER_N_THREADS": "1",
        **extra,
    }
    return load_settings(env_file=None, environ=env).settings


def _git_repo(root: Path) -> None:
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "sample"], cwd=root, check=True)


# ------------------------------------------------------------------ 1. runner overhead


def _direct(settings: Settings, repo: Path, cycles: int, seed: int, max_tokens: int) -> float:
    events: list[Event] = []
    engine = Engine(settings, repo, events.append, rng=random.Random(seed))
    try:
        engine.models.reasoning.load()
        engine.ensure_index()
        started = time.perf_counter()
        for _ in range(cycles):
            engine.dream_once(max_tokens=max_tokens)
        return time.perf_counter() - started
    finally:
        engine.close()


def _through_runner(
    settings: Settings, repo: Path, cycles: int, seed: int, max_tokens: int
) -> float:
    hub = EventHub()
    view = hub.subscribe()
    marks: dict[str, float] = {}

    def factory(s: Settings, codebase: Path, sink: Any) -> Engine:
        return Engine(s, codebase, sink, rng=random.Random(seed))

    def drain() -> None:  # a view, draining its queue 30 times a second as the TUI does
        while True:
            time.sleep(1 / 30)
            for event in view.drain():
                name = type(event).__name__
                if name == "CycleStarted" and "start" not in marks:
                    marks["start"] = event.timestamp
                if name == "CycleFinished":
                    marks["end"] = event.timestamp
                if isinstance(event, RunnerStopped):
                    return

    reader = threading.Thread(target=drain)
    reader.start()
    runner = Runner(
        settings,
        repo,
        hub,
        cycles=cycles,
        max_tokens=max_tokens,
        live_index=False,
        engine_factory=factory,
    )
    runner.start()
    runner.join()
    reader.join()
    return marks["end"] - marks["start"]


def bench_overhead(work: Path, cycles: int, pairs: int, max_tokens: int) -> dict[str, Any]:
    repo = work / "overhead-repo"
    repo.mkdir()
    (repo / "billing.py").write_text(SAMPLE)
    _git_repo(repo)
    seed_data = work / "overhead-seed"
    Engine(_settings(seed_data), repo, lambda e: None).ensure_index()
    ratios, direct_s, runner_s = [], [], []
    for i in range(pairs):
        results = {}
        for side in ("direct", "runner") if i % 2 == 0 else ("runner", "direct"):
            data = work / f"overhead-{i}-{side}"
            shutil.copytree(seed_data, data)
            settings = _settings(data)
            fn = _direct if side == "direct" else _through_runner
            results[side] = fn(settings, repo, cycles, 11, max_tokens)
        direct_s.append(results["direct"])
        runner_s.append(results["runner"])
        ratios.append(results["runner"] / results["direct"])
    return {"direct": direct_s, "runner": runner_s, "ratios": ratios}


# ------------------------------------------------------------------ 2. stop latency


def bench_stop(work: Path, stops: int) -> list[float]:
    repo = work / "stop-repo"
    repo.mkdir()
    (repo / "billing.py").write_text(SAMPLE)
    _git_repo(repo)
    latencies = []
    rng = random.Random(5)
    for i in range(stops):
        hub = EventHub()
        view = hub.subscribe()
        # A long answer (1,500 tokens fit the 2,048-token context with the prompt).
        runner = Runner(_settings(work / f"stop-{i}"), repo, hub, max_tokens=1500, live_index=False)
        runner.start()
        deadline = time.monotonic() + 120
        while True:
            event = view.get(timeout=1)
            if isinstance(event, TokenStreamed):
                break
            if isinstance(event, EngineError) or time.monotonic() > deadline:
                runner.stop()
                raise SystemExit(f"no token streamed: {event}")
        time.sleep(rng.uniform(0.05, 1.0))  # stop at a random moment of the generation
        started = time.perf_counter()
        runner.stop(timeout=30)
        latencies.append(time.perf_counter() - started)
    return latencies


# ------------------------------------------------------------------ 3. first token


def _thousand_file_repo(work: Path) -> Path:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        p
        for p in stdlib.rglob("*.py")
        if "site-packages" not in p.parts and "test" not in p.parts and "tests" not in p.parts
    )[:1000]
    origin = work / "origin"
    for path in files:
        target = origin / path.relative_to(stdlib)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    _git_repo(origin)
    return origin


def bench_first_token(work: Path, origin: Path, runs: int) -> list[dict[str, float]]:
    results = []
    for i in range(runs):
        clone = work / f"clone-{i}"
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
        env |= {
            "DREAMER_DATA_DIR": str(clone / ".codedreamer"),
            "DREAMER_DREAMS_DIR": str(clone / "dreams"),
            "DREAMER_EXCLUDE_PATTERNS": "",
        }
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "codedreamer", "daemon", "--json", "--max-tokens", "32"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        stamps: dict[str, float] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            kind = event["type"]
            if kind == "ModelLoaded":
                stamps["model_seconds"] = event["seconds"]
            if kind == "IndexProgress" and event["state"] == "ready":
                stamps["index_seconds"] = event["seconds"]
                stamps["chunks"] = event["chunks"]
            if kind == "TokenStreamed":
                stamps["first_token"] = time.perf_counter() - started
                break
        proc.terminate()
        proc.wait(timeout=30)
        results.append(stamps)
    return results


# ------------------------------------------------------------------ 4. graph sync


def bench_graph_sync(work: Path, origin: Path, pairs: int) -> dict[str, Any]:
    from codedreamer.index.indexer import Indexer, open_index
    from codedreamer.memory.code_sync import (
        backfill_from_index,
        chunk_locations,
        sync_changed_paths,
    )
    from codedreamer.memory.graph import KnowledgeGraph

    repo = work / "sync-repo"
    shutil.copytree(origin, repo)
    settings = _settings(work / "sync-data", DREAMER_EXCLUDE_PATTERNS="")
    store = open_index(settings)
    full_s, edit_s = [], []
    try:
        indexer = Indexer(repo, settings, store)
        indexer.run(build_ann=False)
        graph = KnowledgeGraph()
        backfill_from_index(graph, store, chunk_keys=chunk_locations(store))
        target = sorted(repo.rglob("*.py"))[len(list(repo.rglob("*.py"))) // 2]
        original = target.read_text()
        for i in range(pairs):
            started = time.perf_counter()
            backfill_from_index(graph, store, chunk_keys=chunk_locations(store))
            full_s.append(time.perf_counter() - started)
            target.write_text(original + f"\n\ndef bench_added_{i}(x):\n    return x + {i}\n")
            report = indexer.update_paths([target], maintain=False)
            started = time.perf_counter()
            sync_changed_paths(graph, store, report.changed_paths)
            edit_s.append(time.perf_counter() - started)
        nodes, edges = len(graph), graph.edge_count
    finally:
        store.close()
    return {"full": full_s, "edit": edit_s, "nodes": nodes, "edges": edges}


# ------------------------------------------------------------------ report


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--stops", type=int, default=10)
    parser.add_argument("--first-token-runs", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        work = Path(tmp)
        overhead = bench_overhead(work, args.cycles, args.pairs, args.max_tokens)
        print("overhead", overhead, flush=True)
        stops = bench_stop(work, args.stops)
        print("stops", stops, flush=True)
        origin = _thousand_file_repo(work)
        first = bench_first_token(work, origin, args.first_token_runs)
        print("first token", first, flush=True)
        sync = bench_graph_sync(work, origin, args.pairs)
        print("graph sync", sync, flush=True)

    median_ratio = statistics.median(overhead["ratios"])
    pairs = ", ".join(
        f"{d:.1f} s / {r:.1f} s"
        for d, r in zip(overhead["direct"], overhead["runner"], strict=True)
    )
    first_rows = "\n".join(
        f"| {i + 1} | {r['first_token']:.1f} s | {r.get('model_seconds', 0):.2f} s | "
        f"{r.get('index_seconds', 0):.1f} s | {int(r.get('chunks', 0)):,} |"
        for i, r in enumerate(first)
    )
    body = f"""## Live app: the engine runner

`python -m bench.bench_live_app` — {args.cycles} cycles per run, every stage capped at
{args.max_tokens} tokens, greedy decoding, bundled SmolLM2-135M, one llama.cpp thread.

**Runner overhead per cycle** (goal ≤ 2 %): the same {args.cycles} cycles through the runner
(worker thread, event hub, a view thread draining the events 30 times a second as the TUI
does) against `Engine.dream_once` called in a loop, each on its own copy of one index,
in {args.pairs} alternating pairs.
Median runner/direct wall-time ratio **{median_ratio:.3f}** (pairs, direct / runner: {pairs}).
Both sides time the cycles only; model load and index check are outside both figures.

**Stop latency during generation** (goal < 1 s): `Runner.stop()` at a random moment of a
streaming generation until the worker thread has ended (generation cancelled, engine
closed, DATA_DIR lock released), {len(stops)} runs: p50 {_pct(stops, 0.5) * 1000:.0f} ms,
p95 {_pct(stops, 0.95) * 1000:.0f} ms, max {max(stops) * 1000:.0f} ms.

**Start-up to the first streamed token on a fresh clone of a 1,000-file repository**
(the first 1,000 modules of the Python standard library, committed, then `git clone`d; no
index, no data): the whole `codedreamer daemon --json` process from exec to its first token
line — process start, model load, the cold index build (tree-sitter, embeddings, LanceDB,
full-text index; the ANN index is left to idle maintenance and nobody waits for it) and the
prompt. The TUI starts the same runner; its own start-up is in the TUI section.

| run | first token | model load | index build | chunks |
|---|---|---|---|---|
{first_rows}

**Graph sync after one edited file** (a function appended to one module, re-indexed by path)
against the full backfill on the same index ({sync["nodes"]:,} nodes, {sync["edges"]:,} edges):
full backfill median {statistics.median(sync["full"]):.2f} s, one-file sync median
{statistics.median(sync["edit"]) * 1000:.0f} ms
({statistics.median(sync["full"]) / statistics.median(sync["edit"]):.0f}× less), over
{args.pairs} pairs. The live watcher calls the one-file sync; the full backfill runs only on
a cold or refreshed index and on `graph backfill`.
"""
    print(body)
    if not args.no_write:
        write_section("live_app", body)


if __name__ == "__main__":
    main()
