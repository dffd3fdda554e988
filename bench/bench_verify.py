"""How long does verifying a dream take, next to the dream cycle that made it?

Verification without a verify command = scratch clone of the repository at HEAD (only the
patched file checked out) + the dream's diff turned into a git diff + `git apply --check`
+ applying it + the parse check (tree-sitter, compile) + removing the scratch. Goal: at
most 10 % of one dream cycle.

The cycle is measured for real: `codedreamer index` and `codedreamer dream --once` on the
bundled SmolLM2 model with the default settings, over a small git repository (the wall
time of the dream command, and the cycle's own `total_seconds` when it saved a dream).
Verification is timed, median of N runs, on that small repository and on this project's
own repository (hundreds of files, its real history), with a one-function diff against a
real file of each.

    python -m bench.bench_verify [--runs 7] [--cycle-seconds S] [--no-write]

`--cycle-seconds S` skips the model run and compares with S instead (say where S is from).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.report import write_section
from codedreamer.storage.dream import Dream, new_dream_id
from codedreamer.storage.store import DreamStore
from codedreamer.verify.verifier import verify_dream

PROJECT = Path(__file__).resolve().parent.parent
GOAL = 0.10

INVENTORY = '''"""A tiny inventory module used as a codebase to dream about."""


class Inventory:
    def __init__(self):
        self.items = {}

    def add_item(self, name, quantity):
        if quantity < 0:
            raise ValueError("quantity must be positive")
        self.items[name] = self.items.get(name, 0) + quantity

    def total_quantity(self):
        total = 0
        for name in self.items:
            total = total + self.items[name]
        return total
'''

INVENTORY_DIFF = """@@
     def total_quantity(self):
-        total = 0
-        for name in self.items:
-            total = total + self.items[name]
-        return total
+        return sum(self.items.values())
"""

# A real function of this repository: the diff must apply to HEAD's copy of the file.
PROJECT_FILE = "codedreamer/safe_text.py"
PROJECT_DIFF = """@@
 def safe_text(text: str) -> str:
     \"\"\"Multi-line text with every control character but newline and tab made visible.\"\"\"
-    return _UNSAFE.sub(_escape, text)
+    escaped: str = _UNSAFE.sub(_escape, text)
+    return escaped
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def small_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "inventory.py").write_text(INVENTORY)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "init")
    return root


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
    env.update(
        {
            "DREAMER_DREAMS_DIR": str(work / "dreams"),
            "DREAMER_DATA_DIR": str(work / "data"),
        }
    )
    return env


def verify_cycle_dreams(work: Path, repo: Path) -> list[str]:
    """Verify what the real cycle saved (model output, not a prepared diff): one line each."""
    from codedreamer.config.settings import load_settings
    from codedreamer.verify.to_diff import index_lookup

    store = DreamStore(work / "dreams")
    environ = {"DREAMER_DATA_DIR": str(work / "data"), "DREAMER_DREAMS_DIR": str(store.dreams_dir)}
    lookup = index_lookup(load_settings(env_file=None, environ=environ).settings)
    lines = []
    for dream in store.list().dreams:
        started = time.perf_counter()
        result = verify_dream(store, dream.id, codebase=repo, lookup=lookup)
        seconds = time.perf_counter() - started
        why = f": {result.reason}" if result.reason else ""
        lines.append(
            f"the cycle's own dream ({dream.code_checks.get('format', 'no code')}, "
            f"patch from {result.record.get('patch_from') or 'none'}) verified in "
            f"{seconds:.3f} s: {result.status}{why}"
        )
    return lines


def measure_cycle(work: Path, repo: Path) -> tuple[float, float | None, str]:
    """(wall seconds of `dream --once`, the cycle's own total_seconds or None, outcome)."""
    env = _env(work)
    base = [sys.executable, "-m", "codedreamer"]
    subprocess.run([*base, "index", str(repo)], env=env, cwd=work, check=True, capture_output=True)
    started = time.perf_counter()
    done = subprocess.run(
        [*base, "dream", "--once", "--quiet", "--json", "--codebase", str(repo)],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dream --once failed ({done.returncode}): {done.stderr[-400:]}")
    cycle: float | None = None
    outcome = "no dream saved"
    for path in (work / "dreams").glob("*.md"):
        dream = DreamStore(work / "dreams").load(path.stem)
        cycle = dream.timings.get("total_seconds")
        outcome = f"dream saved ({dream.code_checks.get('format', 'no code')})"
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("{")]
    if cycle is None and lines:
        with_reason = json.loads(lines[-1])
        outcome = f"rejected: {with_reason.get('rejection') or with_reason.get('detail') or '?'}"
    return wall, cycle, outcome


def _dream(path: str, diff: str, line: int) -> Dream:
    return Dream(
        id=new_dream_id(),
        created=datetime.now(UTC),
        title="bench",
        category="performance",
        source_path=path,
        line_start=line,
        line_end=line + 5,
        language="python",
        diff=diff,
    )


def time_verification(repo: Path, dream: Dream, runs: int, work: Path) -> list[float]:
    store = DreamStore(work / f"verify-dreams-{repo.name}")
    times: list[float] = []
    for _ in range(runs):
        copy = replace(dream, id=new_dream_id())
        store.save_new(copy)
        started = time.perf_counter()
        result = verify_dream(store, copy.id, codebase=repo)
        times.append(time.perf_counter() - started)
        if not result.verified:
            raise SystemExit(f"bench dream did not verify in {repo}: {result.record}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cycle-seconds", type=float, default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as scratch:
        work = Path(scratch)
        repo = small_repo(work / "inventory")
        real: list[str] = []
        if args.cycle_seconds is None:
            wall, own, outcome = measure_cycle(work, repo)
            real = verify_cycle_dreams(work, repo)
            cycle = own if own is not None else wall
            cycle_note = (
                f"measured: `codedreamer dream --once` on the bundled model, {outcome}; "
                f"cycle {cycle:.1f} s ({'its total_seconds' if own is not None else 'wall'}), "
                f"command wall time {wall:.1f} s"
            )
        else:
            cycle = args.cycle_seconds
            cycle_note = f"given with --cycle-seconds: {cycle:.1f} s"
        small = time_verification(repo, _dream("inventory.py", INVENTORY_DIFF, 13), args.runs, work)
        tracked = subprocess.run(
            ["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True
        ).stdout.count("\n")
        big = time_verification(PROJECT, _dream(PROJECT_FILE, PROJECT_DIFF, 30), args.runs, work)

    rows = []
    verdicts = []
    medians = [statistics.median(small), statistics.median(big)]
    for label, times in (
        ("small repo (1 file)", small),
        (f"this repository ({tracked} tracked files)", big),
    ):
        median = statistics.median(times)
        share = median / cycle
        verdicts.append(share <= GOAL)
        rows.append(
            f"| {label} | {median:.3f} s (runs: {', '.join(f'{t:.3f}' for t in times)}) "
            f"| {cycle:.1f} s | {100 * share:.2f} % | <= 10 % |"
        )
    met = "met" if all(verdicts) else "NOT met"
    body = "\n".join(
        [
            "## Verified dreams: verification time per dream vs one dream cycle",
            "",
            "`python -m bench.bench_verify` — scratch clone at HEAD (only the patched file "
            "checked out), git diff from the dream's diff, `git apply --check`, apply, parse "
            "check (tree-sitter + compile), scratch removed; no verify command. "
            f"Median of {args.runs} runs each.",
            "",
            "| repository | verification | one cycle | share | goal |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Cycle: {cycle_note}.",
            *([""] + [f"- {line}" for line in real] if real else []),
            "",
            f"The goal would hold for any cycle longer than {10 * max(medians):.1f} s "
            "(ten times the slower median above).",
            "",
            f"**Goal (verification <= 10 % of a cycle without a verify command): {met}.** "
            "With DREAMER_VERIFY_COMMAND set, the whole commit is checked out and the "
            "command's own time is added (the project's tests: not bounded here).",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("verify", body)


if __name__ == "__main__":
    main()
