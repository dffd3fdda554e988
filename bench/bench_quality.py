"""Quality benchmark: dream about a codebase with planted defects and score what is stored.

The codebase is `bench/quality/shopkeeper` (Python and one JavaScript file); its defects are
listed in `bench/quality/defects.json` (file, line range, kind) and nothing in the code
names them. The script copies it to a temporary git repository, runs N real cycles of the
Engine on a real model (the bundled one, or any GGUF given with --model), and scores:

- engine: what the engine stored, as wired today;
- strict: every Think answer re-validated with everything validate_insight can use (seed
  language, finish reason, every earlier answer including rejected ones, the index's names),
  i.e. what the engine stores once it passes those arguments.

For each: recall (defects hit by a stored dream whose line range overlaps the defect and
whose text names the defect kind by one of its keywords), precision (stored dreams that hit
a defect), share of stored dreams that pass the grounding rules (grounding, invented names,
false claims), duplicate rate among stored dreams, the novelty distribution of all answers,
and rejections per reason. Every answer is written to the results file for a hand audit.

    python -m bench.bench_quality --cycles 20 --max-tokens 200 [--model PATH.gguf]
        [--threads 2] [--seed 1] [--out bench/quality/last_run.json]
    python -m bench.bench_quality --rescore bench/quality/last_run.json
    python -m bench.bench_quality --cycles 100 --max-minutes 90   # as many as fit, scored

--rescore re-validates and re-scores the answers of an earlier run with the current rules,
without a model (the codebase is re-indexed for the names and paths that grounding needs).
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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codedreamer.config.settings import load_settings
from codedreamer.dream.validation import EarlierDream, RejectionCounts, validate_insight
from codedreamer.dream.validation.duplicates import check_duplicates
from codedreamer.dream.validation.novelty import Comparable, default_embed, jaccard, nearest
from codedreamer.dream.validation.novelty import shingles as word_shingles
from codedreamer.engine.engine import Engine
from codedreamer.events import (
    ChunkSelected,
    DreamRejected,
    DreamSaved,
    Event,
    StageFinished,
    TokenStreamed,
)
from codedreamer.index.languages import language_for

HERE = Path(__file__).resolve().parent / "quality"
CODEBASE = HERE / "shopkeeper"
DEFECTS = HERE / "defects.json"
GROUNDING_REASONS = frozenset({"ungrounded", "invented_name", "false_claim", "template_echo"})
DUPLICATE_REASONS = frozenset({"duplicate", "duplicate_topic", "near_duplicate", "not_novel"})


@dataclass
class Cycle:
    number: int
    path: str = ""
    start_line: int = 0
    end_line: int = 0
    symbol: str = ""
    language: str = ""
    seed_code: str = ""
    answer: str = ""
    finish_reason: str = ""
    seconds: float = 0.0
    engine_saved: bool = False
    engine_reason: str = ""
    engine_detail: str = ""
    engine_dream_id: str = ""
    strict_reason: str = ""
    strict_detail: str = ""
    strict_title: str = ""
    strict_text: str = ""
    novelty_new: float = 1.0
    novelty_old: float = 1.0
    hits: list[str] = field(default_factory=list)


class Recorder:
    """Collects one cycle's events: the chunk, the Think text, its finish reason, outcome."""

    def __init__(self) -> None:
        self.cycle = Cycle(0)

    def __call__(self, event: Event) -> None:
        cycle = self.cycle
        if isinstance(event, ChunkSelected):
            cycle.path, cycle.symbol = event.path, event.symbol
            cycle.start_line, cycle.end_line = event.start_line, event.end_line
            cycle.seed_code = getattr(event, "code", "") or ""
            cycle.language = getattr(event, "language", "") or ""
        elif isinstance(event, TokenStreamed) and event.stage == "think":
            cycle.answer += event.text
        elif isinstance(event, StageFinished) and event.stage == "think":
            cycle.finish_reason = event.finish_reason
        elif isinstance(event, DreamSaved):
            cycle.engine_saved, cycle.engine_dream_id = True, event.dream_id
        elif isinstance(event, DreamRejected):
            cycle.engine_reason, cycle.engine_detail = event.reason, event.detail


def load_defects() -> dict[str, Any]:
    """defects.json, checked: every defect's file exists and holds its line range."""
    defects: dict[str, Any] = json.loads(DEFECTS.read_text(encoding="utf-8"))
    for defect in defects["defects"]:
        source = CODEBASE / defect["path"]
        lines = source.read_text(encoding="utf-8").count("\n") if source.is_file() else 0
        if not 1 <= defect["start_line"] <= defect["end_line"] <= lines:
            raise SystemExit(f"defects.json: {defect['id']} is not inside {defect['path']}")
        if defect["kind"] not in defects["kinds"]:
            raise SystemExit(f"defects.json: {defect['id']} has unknown kind {defect['kind']}")
    return defects


def make_repo(root: Path) -> Path:
    shutil.copytree(CODEBASE, root)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "shopkeeper"], cwd=root, check=True)
    return root


def hits(text: str, path: str, start: int, end: int, defects: dict[str, Any]) -> list[str]:
    """Ids of the defects a dream about path:start-end with this text finds."""
    lowered = text.lower()
    found = []
    for defect in defects["defects"]:
        overlaps = defect["path"] == path and start <= defect["end_line"]
        overlaps = overlaps and defect["start_line"] <= end
        keywords = defects["kinds"][defect["kind"]]
        if overlaps and any(keyword in lowered for keyword in keywords):
            found.append(defect["id"])
    return found


def settings_for(args: argparse.Namespace, work: Path) -> Any:
    environ = {
        "DREAMER_DREAMS_DIR": str(work / "dreams"),
        "DREAMER_DATA_DIR": str(work / "data"),
        "DREAMER_N_CTX": str(args.n_ctx),
        "DREAMER_DREAM_INTERVAL_SEC": "0",
    }
    if args.model:
        environ["DREAMER_MODEL_PATH"] = str(Path(args.model).resolve())
    if args.threads:
        environ["DREAMER_N_THREADS"] = str(args.threads)
    if args.temperature is not None:
        environ["DREAMER_DREAM_TEMPERATURE"] = str(args.temperature)
    return load_settings(env_file=None, environ=environ).settings


@dataclass(frozen=True)
class IndexFacts:
    names: frozenset[str]
    paths: frozenset[str]

    def path_exists(self, name: str) -> bool:
        return any(path == name or path.endswith("/" + name) for path in self.paths)


def index_facts(engine: Engine) -> IndexFacts:
    return IndexFacts(frozenset(engine.index.name_counts()), frozenset(engine.index.chunk_paths()))


def facts_without_model(args: argparse.Namespace, work: Path) -> IndexFacts:
    """Index a fresh copy of the codebase (no model needed) for its names and paths."""
    repo = make_repo(work / "shopkeeper")
    engine = Engine(settings_for(args, work), repo, lambda event: None)
    try:
        engine.ensure_index()
        return index_facts(engine)
    finally:
        engine.close()


def run_cycles(args: argparse.Namespace, work: Path) -> list[Cycle]:
    repo = make_repo(work / "shopkeeper")
    settings = settings_for(args, work)
    recorder = Recorder()
    engine = Engine(settings, repo, recorder, rng=random.Random(args.seed))
    cycles: list[Cycle] = []
    try:
        engine.ensure_index()
        deadline = (
            time.monotonic() + 60 * args.max_minutes if args.max_minutes is not None else None
        )
        for number in range(1, args.cycles + 1):
            if deadline is not None and time.monotonic() > deadline:
                print(f"time is up after {number - 1} cycles", file=sys.stderr, flush=True)
                args.cycles = number - 1
                break
            recorder.cycle = Cycle(number)
            started = time.perf_counter()
            outcome = engine.dream_once(max_tokens=args.max_tokens)
            cycle = recorder.cycle
            cycle.seconds = round(time.perf_counter() - started, 2)
            if not outcome.dream and not cycle.engine_reason:
                cycle.engine_reason = outcome.rejection or ""
            if not cycle.seed_code:
                chunks = engine.index.chunks_for_path(cycle.path)
                match = [c for c in chunks if c.start_line == cycle.start_line]
                cycle.seed_code = match[0].content if match else ""
            cycle.language = cycle.language or (
                spec.name if (spec := language_for(cycle.path)) else ""
            )
            cycles.append(cycle)
            engine_outcome = "saved" if cycle.engine_saved else cycle.engine_reason
            print(
                f"cycle {number}: {cycle.path}:{cycle.start_line}-{cycle.end_line} "
                f"{cycle.finish_reason} engine={engine_outcome} ({cycle.seconds}s)",
                file=sys.stderr,
                flush=True,
            )
        facts = index_facts(engine)
    finally:
        engine.close()
    revalidate(cycles, facts)
    return cycles


def revalidate(cycles: Sequence[Cycle], facts: IndexFacts) -> None:
    """Strict verdicts, and novelty of every answer against all earlier answers."""
    earlier: list[EarlierDream] = []
    embed = default_embed()
    comparables: list[Comparable] = []
    raw_shingles: list[frozenset[str]] = []
    for cycle in cycles:
        verdict = validate_insight(
            cycle.answer,
            seed_code=cycle.seed_code,
            symbols=[cycle.symbol],
            earlier=earlier,
            novelty_threshold=0.4,
            name_exists=facts.names.__contains__,
            language=cycle.language,
            finish_reason=cycle.finish_reason or "stop",
            seed_path=cycle.path,
            seed_lines=(cycle.start_line, cycle.end_line),
            path_exists=facts.path_exists,
        )
        cycle.strict_reason, cycle.strict_detail = verdict.reason, verdict.detail
        cycle.strict_title, cycle.strict_text = verdict.title, verdict.text
        own = Comparable.of(str(cycle.number), cycle.answer, cycle.seed_code)
        if comparables:
            cycle.novelty_new = nearest(own, comparables, embed)[0].novelty
            own_raw = word_shingles(cycle.answer)
            cycle.novelty_old = round(1 - max(jaccard(own_raw, o) for o in raw_shingles), 4)
        comparables.append(own)
        raw_shingles.append(word_shingles(cycle.answer))
        status = "pending" if verdict.accepted else "attempt"
        earlier.append(EarlierDream(str(cycle.number), cycle.answer, status=status))


def quantiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        "min": ordered[0],
        "p25": round(cuts[0], 3),
        "median": round(cuts[1], 3),
        "p75": round(cuts[2], 3),
        "max": ordered[-1],
    }


def score(cycles: Sequence[Cycle], defects: dict[str, Any], which: str) -> dict[str, Any]:
    if which == "engine":
        stored = [c for c in cycles if c.engine_saved]
    else:
        stored = [c for c in cycles if c.strict_reason == "ok"]
    found: set[str] = set()
    hitting = 0
    for cycle in stored:
        text = cycle.answer if which == "engine" else cycle.strict_text
        cycle_hits = hits(text, cycle.path, cycle.start_line, cycle.end_line, defects)
        if which == "strict":
            cycle.hits = cycle_hits
        found.update(cycle_hits)
        hitting += bool(cycle_hits)
    grounded = [c for c in stored if c.strict_reason not in GROUNDING_REASONS]
    duplicates = 0
    for index, cycle in enumerate(stored):
        earlier = [EarlierDream(str(c.number), c.answer) for c in stored[:index]]
        check = check_duplicates(
            cycle.answer, seed_code=cycle.seed_code, earlier=earlier, novelty_threshold=0.4
        )
        duplicates += check.reason in DUPLICATE_REASONS
    counts = RejectionCounts()
    for cycle in cycles:
        if which == "engine":
            counts.add("ok" if cycle.engine_saved else cycle.engine_reason or "unknown")
        else:
            counts.add(cycle.strict_reason)
    total = len(defects["defects"])
    return {
        "stored": len(stored),
        "recall": round(len(found) / total, 3),
        "defects_found": sorted(found),
        "precision": round(hitting / len(stored), 3) if stored else None,
        "grounded_share": round(len(grounded) / len(stored), 3) if stored else None,
        "duplicate_rate": round(duplicates / len(stored), 3) if stored else None,
        "rejections": counts.to_dict(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--model", help="GGUF of the reasoning model (default: bundled)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "last_run.json"))
    parser.add_argument("--rescore", help="results JSON of an earlier run to re-validate")
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop starting cycles after this long and score the ones that ran",
    )
    args = parser.parse_args(argv)
    defects = load_defects()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codedreamer-quality-") as temp:
        if args.rescore:
            earlier = json.loads(Path(args.rescore).read_text(encoding="utf-8"))
            fields = set(Cycle.__dataclass_fields__)
            cycles = [
                Cycle(**{k: v for k, v in c.items() if k in fields}) for c in earlier["cycles"]
            ]
            revalidate(cycles, facts_without_model(args, Path(temp)))
            for key in ("cycles", "max_tokens", "model", "seed"):
                setattr(args, key.replace("-", "_"), earlier["settings"][key])
            seconds = float(earlier["settings"]["seconds"])
        else:
            cycles = run_cycles(args, Path(temp))
            seconds = time.perf_counter() - started
    answers = [c for c in cycles[1:]]
    result = {
        "settings": {
            "cycles": args.cycles,
            "max_tokens": args.max_tokens,
            "model": args.model or "bundled",
            "seed": args.seed,
            "seconds": round(seconds, 1),
        },
        "engine": score(cycles, defects, "engine"),
        "strict": score(cycles, defects, "strict"),
        "novelty_new": quantiles([c.novelty_new for c in answers]),
        "novelty_old": quantiles([c.novelty_old for c in answers]),
        "finish_reasons": dict(
            sorted(
                {
                    r: sum(c.finish_reason == r for c in cycles)
                    for r in {c.finish_reason for c in cycles}
                }.items()
            )
        ),
        "cycles": [asdict(c) for c in cycles],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    summary = {k: v for k, v in result.items() if k != "cycles"}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
