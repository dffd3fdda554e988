"""Where a dream cycle's time goes: each step, each generation, and the share outside generation.

Indexes a copy of a codebase (default: this package's `codedreamer/dream` folder, real
code with imports and callers), then runs N full cycles on the configured model (bundled
SmolLM2 by default) with every step timed. Generation is the time inside the model's
stages (StageFinished.seconds); everything else (selection, context, validation, diff
checks, scoring, files, graph, memory) is overhead. With `--lenient`, validation is
swapped for a step that accepts any non-empty answer, so Code, Critic and Reflect run on
every cycle (the toy model's answers are otherwise rejected at validation).

    python -m bench.bench_cycle [--cycles 8] [--max-tokens 48] [--lenient] [--codebase DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codedreamer.config.settings import Settings, load_settings
from codedreamer.dream.context import CycleContext, Step
from codedreamer.dream.parse import extract_title
from codedreamer.engine.engine import Engine
from codedreamer.events import DreamRejected, DreamSaved, Event, StageFinished

ROOT = Path(__file__).resolve().parent.parent


def lenient(context: CycleContext) -> None:
    assert context.think is not None and context.focus is not None and context.chunk
    text = context.think.text.strip()
    if not text:
        context.reject("empty", "")
        return
    context.insight = text
    context.title = extract_title(text, f"{context.focus.name} in {context.chunk.path}")


def cycle_settings(work: Path, codebase: Path, threads: int, **extra: str) -> tuple[Path, Settings]:
    """A git copy of `codebase` under `work` and the settings of an engine dreaming on it."""
    repo = work / "repo"
    shutil.copytree(codebase, repo, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    environ = {
        "DREAMER_DREAMS_DIR": str(work / "dreams"),
        "DREAMER_DATA_DIR": str(work / "data"),
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": str(threads),
        **extra,
    }
    return repo, load_settings(env_file=None, environ=environ).settings


def timed(name: str, step: Step, into: dict[str, list[float]]) -> Step:
    def run(context: CycleContext) -> None:
        began = time.perf_counter()
        try:
            step(context)
        finally:
            into.setdefault(name, []).append(time.perf_counter() - began)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--lenient", action="store_true")
    parser.add_argument("--codebase", type=Path, default=ROOT / "codedreamer" / "dream")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = {"DREAMER_MODEL_PATH": str(args.model)} if args.model is not None else {}
        repo, settings = cycle_settings(work, args.codebase, args.threads, **model)
        events: list[Event] = []
        engine = Engine(settings, repo, events.append, rng=random.Random(1))
        steps: dict[str, list[float]] = {}
        engine.steps = [
            (name, timed(name, lenient if args.lenient and name == "validate" else step, steps))
            for name, step in engine.steps
        ]
        began = time.perf_counter()
        engine.ensure_index()
        index_seconds = time.perf_counter() - began
        print(f"indexed in {index_seconds:.1f} s", file=sys.stderr, flush=True)
        engine.models.reasoning.load()
        walls: list[float] = []
        generation: list[float] = []
        try:
            for _ in range(args.cycles):
                start = len(events)
                began = time.perf_counter()
                engine.dream_once(max_tokens=args.max_tokens)
                walls.append(time.perf_counter() - began)
                print(f"cycle {len(walls)}: {walls[-1]:.1f} s", file=sys.stderr, flush=True)
                generation.append(
                    sum(e.seconds for e in events[start:] if isinstance(e, StageFinished))
                )
        finally:
            engine.close()

    stage_seconds: dict[str, list[float]] = {}
    tokens: dict[str, int] = {}
    for event in events:
        if isinstance(event, StageFinished):
            stage_seconds.setdefault(event.stage, []).append(event.seconds)
            tokens[event.stage] = tokens.get(event.stage, 0) + event.completion_tokens
    total_wall, total_gen = sum(walls), sum(generation)
    report: dict[str, object] = {
        "cycles": args.cycles,
        "lenient": args.lenient,
        "max_tokens": args.max_tokens,
        "index_seconds": round(index_seconds, 2),
        "cycle_seconds_median": round(statistics.median(walls), 3),
        "generation_seconds_total": round(total_gen, 2),
        "cycle_seconds_total": round(total_wall, 2),
        "outside_generation_share": round((total_wall - total_gen) / total_wall, 4),
        "cycles_per_hour": round(3600 * args.cycles / total_wall, 1),
        "stages": {
            stage: {
                "runs": len(values),
                "median_seconds": round(statistics.median(values), 3),
                "tokens": tokens.get(stage, 0),
            }
            for stage, values in stage_seconds.items()
        },
        "steps_median_ms": {
            name: round(1000 * statistics.median(values), 1) for name, values in steps.items()
        },
        "saved": sum(isinstance(e, DreamSaved) for e in events),
        "rejected": _reasons(events),
    }
    print(json.dumps(report, indent=2))


def _reasons(events: list[Event]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        if isinstance(event, DreamRejected):
            counts[event.reason] = counts.get(event.reason, 0) + 1
    return counts


if __name__ == "__main__":
    main()
