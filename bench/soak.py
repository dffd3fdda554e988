"""Crash-safety soak: SIGKILL the daemon again and again while the CLI and the TUI mark dreams.

    python -m bench.soak [--mode bundled|storing|both] [--kills 50] [--marks 200]
                         [--tui-marks 50] [--no-write]

A sample git repo (tests/sample_repo.py) and the daemon with cycles back to back, started
and SIGKILLed `--kills` times. Two modes:
- bundled: the bundled model, as `codedreamer daemon` runs it. Its answers are all
  rejected on the sample repo, so no dream is stored: two kills in five at random moments
  (0.5-30 s after the start), one aimed at the index check, two at the Think generation.
- storing: the same daemon with bench/soak_model.py's scripted model, whose answers pass
  validation and carry a diff that applies, so every cycle stores a dream (dream file, TRM,
  graph save) and verifies it (a scratch `git clone --shared` in $TMPDIR, the result
  written back to the dream file). Kills are aimed: two in five at the dream-save window,
  two in five at the verification window, one in five at a random moment.
Both run bench/soak_daemon.py, which is the `codedreamer` command line with the write
windows instrumented: each change of phase is one unbuffered line in a phase log, so the
last line a killed process wrote is the window the kill landed in (`cycle/store/graph`:
inside the graph save of the store step). An aimed kill waits for its window to open in
the phase log, then a random part of that window's median length, then SIGKILLs. What the
kill left (temp files, scratch directories) is listed right after it, as evidence.

Meanwhile 4 threads run `--marks` `codedreamer dreams mark` commands on seeded dreams and
one process marks `--tui-marks` times through the TUI (bench/soak_tui_marker.py); every
dream is marked by one marker only, so its last mark is what the file must say.

After the kills one clean run starts, works (in storing mode: until it has verified a
dream, which also removes scratch left by killed verifiers) and stops on SIGTERM. Then:
every dream file parses, every mark is the last asked for, the graph loads and has a
DREAM node for no missing file, trm.json loads, the index opens, the event log has at most
one torn line per kill, no temp file, scratch directory, extra worktree, `dream/*` branch,
git lock file or change is left in the sample repo, and the engine lock is free.
Figures go to the "Kill -9 soak" section of docs/reliability.md, each mode into its own
block between `<!-- soak MODE start -->` and `<!-- soak MODE end -->` (nothing else changes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codedreamer.storage.dream import Dream, Status, new_dream_id
from codedreamer.storage.store import DreamStore
from tests.sample_repo import make_repo

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = REPO_ROOT / "docs" / "reliability.md"
STATUSES = ["applied", "rejected", "deferred", "pending"]
MODES = ("bundled", "storing")
CLI_MARKERS = 4
# Temp files younger than this belong to a live writer; the engine removes older ones.
STALE_TEMP_SEC = 10.0
# How long an aimed kill waits for its window to open before it kills anyway.
AIM_TIMEOUT_SEC = 120.0
# What each aimed kill waits for: the phase (bench/soak_daemon.py) that opens its window.
AIM_PHASES = {
    "store": "cycle/store",
    "verify": "cycle/verify",
    "index": "index",
    "generation": "cycle/generate_think",
}
# Window lengths to aim at before one was measured (seconds; measured on this machine).
# An aimed kill comes a random part of the window's median length after it opened.
DEFAULT_WINDOW_SEC = {"store": 0.03, "verify": 0.25, "index": 2.0, "generation": 20.0}
# The bundled model stores nothing: its kills go to start-up, indexing and generation.
BUNDLED_AIMS = ("random", "index", "generation", "random", "generation")
STORING_AIMS = ("store", "verify", "store", "verify", "random")


# ----------------------------------------------------------------------------- setup


def _env(root: Path, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DREAMER_", "SOAK_"))}
    env |= {
        "DREAMER_DATA_DIR": str(root / "data"),
        "DREAMER_DREAMS_DIR": str(root / "dreams"),
        "DREAMER_DREAM_INTERVAL_SEC": "0",
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": "1",
        "DREAMER_DECAY_INTERVAL_SEC": "1",
        "PYTHONPATH": str(REPO_ROOT),
        "TMPDIR": str(root / "tmp"),
    }
    if mode == "bundled":
        env |= {"DREAMER_REASONING_MAX_TOKENS": "48", "DREAMER_CODER_MAX_TOKENS": "48"}
    else:
        # The scripted answers are 60-90 pieces; 5 ms a piece, about a small GPU's pace.
        env |= {
            "DREAMER_REASONING_MAX_TOKENS": "256",
            "DREAMER_CODER_MAX_TOKENS": "256",
            "SOAK_SECONDS_PER_PIECE": "0.005",
        }
    return env


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


def _plan_marks(
    ids: list[str], marks: int, markers: int, rng: random.Random
) -> tuple[list[list[tuple[str, str]]], dict[str, str]]:
    """Each dream belongs to one marker, which marks it several times; the last mark is
    what the file must say at the end."""
    jobs: list[list[tuple[str, str]]] = [[] for _ in range(markers)]
    expected: dict[str, str] = {}
    for n in range(marks):
        dream_id = ids[n % len(ids)]
        status = rng.choice(STATUSES)
        jobs[ids.index(dream_id) % markers].append((dream_id, status))
        expected[dream_id] = status
    return jobs, expected


def _cli_marker(
    env: dict[str, str],
    cwd: Path,
    jobs: list[tuple[str, str]],
    pace: float,
    results: list[str],
    seed: int,
) -> None:
    rng = random.Random(seed)
    for dream_id, status in jobs:
        time.sleep(rng.uniform(0, 2 * pace))
        proc = subprocess.run(
            [sys.executable, "-m", "codedreamer", "dreams", "mark", dream_id, status],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        results.append("ok" if proc.returncode == 0 else proc.stderr.strip()[:200])


def _tui_marker(
    env: dict[str, str], cwd: Path, jobs: list[tuple[str, str]], pace: float, out: list[str]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.soak_tui_marker", json.dumps(jobs), f"{pace:.3f}"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        try:
            out.append(str(json.loads(line)["result"]))
        except (ValueError, KeyError):
            out.append(f"unreadable output: {line[:100]}")
    if proc.returncode != 0:
        out.append(f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}")


# ----------------------------------------------------------------------------- phases


def _phase_lines(path: Path) -> list[tuple[float, str]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    lines = []
    for line in text.splitlines():
        stamp, _, phase = line.partition(" ")
        try:
            lines.append((float(stamp), phase))
        except ValueError:
            continue
    return lines


def window_lengths(lines: list[tuple[float, str]], prefix: str) -> list[float]:
    """How long each complete phase starting with `prefix` lasted in one phase log."""
    found = []
    opened: float | None = None
    for stamp, phase in lines:
        inside = phase.startswith(prefix)
        if inside and opened is None:
            opened = stamp
        elif not inside and opened is not None:
            found.append(stamp - opened)
            opened = None
    return found


WINDOW_NAMES = {
    "cycle/store/dream_file": "dream-save: dream file write",
    "cycle/store/trm": "dream-save: TRM save",
    "cycle/store/graph": "dream-save: graph save",
    "cycle/store": "dream-save: between its writes",
    "cycle/verify/scratch": "verify: scratch clone (clone, checkout, apply, parse, removal)",
    "cycle/verify/record": "verify: result written to the dream file",
    "cycle/verify": "verify: reading the dream, preparing the patch",
    "cycle/dream_update": "cycle: re-scoring a dream (dream file write)",
    "cycle/graph": "cycle: graph save (live index changes)",
    "cycle": "cycle: between stages (select, gather, validate)",
    "index": "start-up: index check",
    "index/graph": "start-up: graph sync save",
    "maintain": "graph maintenance (similar edges)",
    "maintain/graph": "graph maintenance: graph save",
    "graph": "graph save (momentum decay)",
    "idle": "between cycles",
    "start": "start-up: imports, lock, models",
    "": "process start (no phase written yet)",
}


def window_group(phase: str) -> str:
    if phase.startswith("cycle/store"):
        return "dream-save"
    if phase.startswith("cycle/verify"):
        return "verify"
    if phase.startswith("cycle/generate_"):
        return "generation"
    if phase in ("", "start") or phase.startswith("index"):
        return "start-up and indexing"
    return "other writes and steps"


def window_name(phase: str) -> str:
    if phase.startswith("cycle/generate_"):
        return f"generation: {phase.removeprefix('cycle/generate_')} stage"
    return WINDOW_NAMES.get(phase, phase)


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


# ----------------------------------------------------------------------------- kills


@dataclass
class Kill:
    target: str
    phase: str
    event: str
    after_start: float
    temps_left: int
    scratch_left: int
    into_window_ms: float | None = None
    """For an aimed kill: how long after its window opened (phase log stamp) it was sent."""
    exited: str = ""
    """When the daemon had already exited before the kill: its exit code and last error line."""


@dataclass
class Soak:
    mode: str
    root: Path
    repo: Path
    env: dict[str, str]
    rng: random.Random
    kills: list[Kill] = field(default_factory=list)
    lengths: dict[str, list[float]] = field(default_factory=dict)

    @property
    def phase_dir(self) -> Path:
        return self.root / "phases"

    def daemon(self, phase_log: Path, stderr: Any = subprocess.DEVNULL) -> subprocess.Popen[str]:
        env = dict(self.env)
        env["SOAK_PHASE_LOG"] = str(phase_log)
        if self.mode == "bundled":
            env["SOAK_MODEL"] = "bundled"
        command = [
            sys.executable,
            "-m",
            "bench.soak_daemon",
            "daemon",
            "--codebase",
            str(self.repo),
        ]
        return subprocess.Popen(
            command, env=env, cwd=self.root, stdout=subprocess.DEVNULL, stderr=stderr, text=True
        )

    def leftovers(self) -> tuple[set[Path], set[Path]]:
        dirs = [self.root / "dreams", self.root / "data", self.root / "data" / "graph"]
        temps = {p for d in dirs if d.is_dir() for p in d.iterdir() if p.name.endswith(".tmp")}
        scratch = set((self.root / "tmp").glob("codedreamer-verify-*"))
        return temps, scratch

    def aim(self, n: int) -> str:
        rotation = BUNDLED_AIMS if self.mode == "bundled" else STORING_AIMS
        return rotation[n % len(rotation)]

    def wait_for_window(self, proc: subprocess.Popen[str], log: Path, prefix: str) -> bool:
        """Poll the phase log every millisecond until a phase starting with `prefix` opens."""
        deadline = time.monotonic() + AIM_TIMEOUT_SEC
        offset = 0
        wanted = prefix.encode()
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with log.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
            except OSError:
                chunk = b""
            end = chunk.rfind(b"\n") + 1
            for line in chunk[:end].split(b"\n"):
                if line.partition(b" ")[2].startswith(wanted):
                    return True
            offset += end
            time.sleep(0.001)
        return False

    def one_kill(self, n: int) -> Kill:
        log = self.phase_dir / f"{n:03d}.log"
        temps_before, scratch_before = self.leftovers()
        target = self.aim(n)
        started = time.monotonic()
        errors = log.with_suffix(".err")
        with errors.open("w") as stderr:
            proc = self.daemon(log, stderr=stderr)
        prefix = AIM_PHASES.get(target, "")
        if target == "random":
            low, high = (0.5, 30.0) if self.mode == "bundled" else (0.5, 10.0)
            time.sleep(self.rng.uniform(low, high))
        else:
            self.wait_for_window(proc, log, prefix)
            known = self.lengths.get(target) or [DEFAULT_WINDOW_SEC[target]]
            time.sleep(self.rng.uniform(0.0, statistics.median(known)))
        sent = time.monotonic()
        code = proc.poll()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        exited = ""
        if code is not None:
            said = errors.read_text(errors="replace").strip().splitlines()
            exited = f"exit {code}: {said[-1][:200] if said else '(no error output)'}"
        after = sent - started
        lines = _phase_lines(log)
        opened = [t for t, p in lines if prefix and p.startswith(prefix)]
        for window, phase in AIM_PHASES.items():
            self.lengths.setdefault(window, []).extend(window_lengths(lines, phase))
        temps_after, scratch_after = self.leftovers()
        kill = Kill(
            target=target,
            phase=lines[-1][1] if lines else "",
            event=_last_event(self.root / "data" / "events.jsonl"),
            after_start=after,
            temps_left=len(temps_after - temps_before),
            scratch_left=len(scratch_after - scratch_before),
            into_window_ms=(sent - opened[0]) * 1000 if opened else None,
            exited=exited,
        )
        self.kills.append(kill)
        return kill

    def clean_run(self) -> tuple[int, str, float]:
        """Start once more, work until a cycle (storing: a verification) is done, SIGTERM."""
        log = self.phase_dir / "clean.log"
        proc = self.daemon(log, stderr=subprocess.PIPE)
        started = time.monotonic()
        if self.mode == "storing":
            self.wait_until(proc, lambda: _verified_once(_phase_lines(log)), 120.0)
        else:
            time.sleep(15.0)
        worked = time.monotonic() - started
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            return -9, "did not stop within 60 s of SIGTERM", worked
        return proc.returncode, (err or "").strip()[-300:], worked

    @staticmethod
    def wait_until(proc: subprocess.Popen[str], done: Callable[[], bool], limit: float) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and proc.poll() is None and not done():
            time.sleep(0.1)


def _verified_once(lines: list[tuple[float, str]]) -> bool:
    seen = False
    for _, phase in lines:
        if phase.startswith("cycle/verify"):
            seen = True
        elif seen:
            return True
    return False


# ----------------------------------------------------------------------------- checks


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=False
    ).stdout.strip()


def repo_leftovers(repo: Path) -> dict[str, str]:
    """What a verifier could have left in the user's repository: it must be untouched."""
    git_dir = repo / ".git"
    worktrees = [
        line
        for line in _git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]
    branches = _git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/dream/")
    locks = [str(p.relative_to(git_dir)) for p in git_dir.rglob("*.lock")]
    changes = _git(repo, "status", "--porcelain", "--untracked-files=all")
    fsck = subprocess.run(
        ["git", "fsck", "--no-progress", "--strict"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "worktrees besides the checkout": str(len(worktrees) - 1),
        "`dream/*` branches": str(len(branches.split()) if branches else 0),
        "git lock files in .git": ", ".join(locks) or "0",
        "changes in the checkout": changes.replace("\n", "; ") or "none",
        "git fsck": "ok" if fsck.returncode == 0 else f"FAILED: {fsck.stderr.strip()[:200]}",
    }


def run_checks(
    soak: Soak,
    expected: dict[str, str],
    tui_expected: dict[str, str],
    mark_results: list[str],
    tui_results: list[str],
    clean: tuple[int, str, float],
) -> tuple[dict[str, str], bool, dict[str, int]]:
    from codedreamer.config.settings import load_settings
    from codedreamer.engine.lock import EngineLock
    from codedreamer.index.indexer import open_index
    from codedreamer.memory.graph_store import load_graph
    from codedreamer.memory.graph_types import NodeKind, dream_node_id

    root = soak.root
    env = soak.env
    checks: dict[str, str] = {}
    failures: list[str] = []
    listing = DreamStore(root / "dreams").list()
    checks["dream files that parse"] = f"{len(listing.dreams)} ({len(listing.corrupt)} corrupt)"
    if listing.corrupt:
        failures.append("corrupt dream files")
    by_id = {d.id: d for d in listing.dreams}

    def lost(wanted: dict[str, str]) -> list[str]:
        return [
            d for d, s in wanted.items() if d not in by_id or Status(by_id[d].status).value != s
        ]

    lost_cli, lost_tui = lost(expected), lost(tui_expected)
    checks["CLI marks whose last status was lost"] = f"{len(lost_cli)} (of {len(expected)} dreams)"
    checks["TUI marks whose last status was lost"] = (
        f"{len(lost_tui)} (of {len(tui_expected)} dreams)"
    )
    failed_cli = [r for r in mark_results if r != "ok"]
    stale_tui = [r for r in tui_results if r.startswith("stale view")]
    failed_tui = [r for r in tui_results if r != "ok" and r not in stale_tui]
    checks["`dreams mark` commands that failed"] = f"{len(failed_cli)} of {len(mark_results)}" + (
        f": {failed_cli[0]}" if failed_cli else ""
    )
    checks["TUI marks that failed"] = f"{len(failed_tui)} of {len(tui_results)}" + (
        f": {failed_tui[0]}" if failed_tui else ""
    )
    checks["TUI marks shown with the old status until the next reload"] = (
        f"{len(stale_tui)} of {len(tui_results)}" + (f" ({stale_tui[0]})" if stale_tui else "")
    )
    if lost_cli or lost_tui or failed_cli or failed_tui:
        failures.append("marks")

    engine_dreams = [d for d in listing.dreams if d.id not in expected and d.id not in tui_expected]
    verified = sum(1 for d in engine_dreams if d.verification.get("status") == "verified")
    unverified = sum(1 for d in engine_dreams if not d.verification)
    other = len(engine_dreams) - verified - unverified
    checks["dreams the engine stored"] = (
        f"{len(engine_dreams)}: {verified} verified, {unverified} without a verification "
        f"record, {other} other verification status"
    )

    settings = load_settings(env_file=None, environ=env).settings
    stats: dict[str, int] = {"engine_dreams": len(engine_dreams), "verified": verified}
    try:
        graph = load_graph(settings.graph_dir)
    except Exception as exc:
        checks["graph loads"] = f"NO: {exc}"
        failures.append("graph")
    else:
        checks["graph loads"] = f"yes ({len(graph)} nodes, {graph.edge_count} edges)"
        nodes = set(graph.node_ids(NodeKind.DREAM))
        orphans = [n for n in nodes if n.removeprefix("dream:") not in by_id]
        unlinked = [d.id for d in engine_dreams if dream_node_id(d.id) not in nodes]
        checks["graph DREAM nodes whose dream file is missing"] = str(len(orphans))
        checks["engine dreams with no DREAM node in the graph"] = str(len(unlinked))
        stats["unlinked"] = len(unlinked)
        if orphans:
            failures.append("graph nodes without files")
    trm = settings.data_dir / "trm.json"
    if trm.exists():
        try:
            memories = json.loads(trm.read_text(encoding="utf-8"))["memories"]
            checks["trm.json loads"] = f"yes ({len(memories)} memories)"
        except (OSError, ValueError, KeyError, TypeError) as exc:
            checks["trm.json loads"] = f"NO: {exc}"
            failures.append("trm")
    else:
        checks["trm.json loads"] = "not written (no dream stored)"
    aside = list(settings.data_dir.glob("trm.json.*"))
    checks["TRM files moved aside as corrupt"] = str(len(aside))
    if aside:
        failures.append("trm moved aside")
    try:
        store = open_index(settings)
        checks["index opens"] = f"yes ({store.count()} chunks)"
        store.close()
    except Exception as exc:
        checks["index opens"] = f"NO: {exc}"
        failures.append("index")
    log = settings.data_dir / "events.jsonl"
    bad = 0
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        try:
            json.loads(line)
        except ValueError:
            bad += 1
    checks["torn event-log lines (skipped by readers)"] = f"{bad} (at most {len(soak.kills)})"
    if bad > len(soak.kills):
        failures.append("event log")
    temps, scratch = soak.leftovers()
    checks["temp files left"] = str(len(temps)) + (
        f": {', '.join(sorted(p.name for p in temps))[:200]}" if temps else ""
    )
    checks["verification scratch dirs left in $TMPDIR"] = str(len(scratch))
    if temps or scratch:
        failures.append("leftovers")
    for name, value in repo_leftovers(soak.repo).items():
        checks[f"sample repo: {name}"] = value
        if value not in ("0", "none", "ok"):
            failures.append(name)
    early = [k.exited for k in soak.kills if k.exited]
    checks["daemons that exited by themselves before their kill"] = f"{len(early)}" + (
        f" ({early[0]})" if early else ""
    )
    if early:
        failures.append("daemon exited")
    code, err, worked = clean
    checks["clean run after the kills"] = f"exit {code} after {worked:.0f} s" + (
        f": {err}" if code else ""
    )
    if code != 0:
        failures.append("clean run")
    lock = EngineLock(settings.data_dir)
    try:
        lock.acquire()
        lock.release()
        checks["engine lock free"] = "yes"
    except Exception as exc:
        checks["engine lock free"] = f"NO: {exc}"
        failures.append("lock")
    return checks, not failures, stats


# ----------------------------------------------------------------------------- run


@dataclass(frozen=True)
class ModeResult:
    body: str
    """The report section of this mode."""
    ok: bool
    checks: dict[str, str]
    kills: list[Kill]
    stats: dict[str, int]


def run_mode(mode: str, args: argparse.Namespace) -> ModeResult:
    rng = random.Random(args.seed)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"cd-soak-{mode}-") as tmp:
        root = Path(tmp)
        (root / "tmp").mkdir()
        (root / "phases").mkdir()
        soak = Soak(mode, root, make_repo(root / "repo"), _env(root, mode), rng)
        seeded = _seed_dreams(root / "dreams", max(1, args.marks // 4))
        jobs, expected = _plan_marks(seeded, args.marks, CLI_MARKERS, rng)
        tui_seeded = (
            _seed_dreams(root / "dreams", max(1, args.tui_marks // 4)) if args.tui_marks else []
        )
        tui_jobs, tui_expected = (
            _plan_marks(tui_seeded, args.tui_marks, 1, rng) if args.tui_marks else ([[]], {})
        )
        # Spread the marks over the kills: about 7 s a kill (measured), one command ~1 s.
        span = args.kills * (9.0 if mode == "bundled" else 7.0)
        pace = max(0.0, span / max(1, len(jobs[0])) - 1.0) / 2
        mark_results: list[str] = []
        tui_results: list[str] = []
        threads = [
            threading.Thread(
                target=_cli_marker, args=(soak.env, root, job, pace, mark_results, args.seed + i)
            )
            for i, job in enumerate(jobs)
        ]
        if tui_jobs[0]:
            tui_pace = max(0.0, span / len(tui_jobs[0]) - 0.1) / 2
            threads.append(
                threading.Thread(
                    target=_tui_marker, args=(soak.env, root, tui_jobs[0], tui_pace, tui_results)
                )
            )
        for thread in threads:
            thread.start()
        for n in range(args.kills):
            kill = soak.one_kill(n)
            print(
                f"[{mode}] kill {n + 1}/{args.kills} aimed {kill.target}: {kill.phase or '-'} "
                f"({kill.after_start:.2f} s, temps {kill.temps_left}, "
                f"scratch {kill.scratch_left})",
                flush=True,
            )
        kills_done = time.monotonic() - started
        for thread in threads:
            thread.join()
        marks_done = time.monotonic() - started
        # The engine removes temp files older than 10 s at start (younger ones could
        # belong to a live writer): the clean run waits until the youngest is that old.
        temps, _ = soak.leftovers()
        youngest = max((p.stat().st_mtime for p in temps if p.exists()), default=0.0)
        time.sleep(max(0.0, youngest + STALE_TEMP_SEC + 1 - time.time()))
        clean = soak.clean_run()
        checks, ok, stats = run_checks(
            soak, expected, tui_expected, mark_results, tui_results, clean
        )
    seconds = time.monotonic() - started
    load_after = os.getloadavg()[0]
    body = _section(mode, args, soak, checks, ok, stats, seconds, kills_done, marks_done)
    body += f"\nLoad average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end.\n"
    return ModeResult(body, ok, checks, soak.kills, stats)


def _section(
    mode: str,
    args: argparse.Namespace,
    soak: Soak,
    checks: dict[str, str],
    ok: bool,
    stats: dict[str, int],
    seconds: float,
    kills_done: float,
    marks_done: float,
) -> str:
    kills = soak.kills
    groups = Counter(window_group(k.phase) for k in kills)
    windows = Counter(k.phase for k in kills)
    aimed = Counter(k.target for k in kills)
    rows = "\n".join(f"| {k} | {v} |" for k, v in checks.items())
    group_rows = "\n".join(
        f"| {g} | {groups.get(g, 0)} |"
        for g in (
            "dream-save",
            "verify",
            "generation",
            "start-up and indexing",
            "other writes and steps",
        )
    )
    window_rows = []
    for phase, count in sorted(windows.items(), key=lambda item: (window_group(item[0]), item[0])):
        here = [k for k in kills if k.phase == phase]
        temps = sum(1 for k in here if k.temps_left)
        scratch = sum(1 for k in here if k.scratch_left)
        window_rows.append(
            f"| {window_name(phase)} | `{phase or '-'}` | {count} | {temps} | {scratch} |"
        )
    lengths = ", ".join(
        f"{w} {statistics.median(v) * 1000:.0f} ms (median of {len(v)} complete ones)"
        if v
        else f"{w} none complete (aimed with {DEFAULT_WINDOW_SEC[w] * 1000:.0f} ms)"
        for w, v in soak.lengths.items()
        if aimed.get(w)
    )
    hits = []
    for target, prefix in AIM_PHASES.items():
        aimed_here = [k for k in kills if k.target == target]
        if not aimed_here:
            continue
        landed = sum(1 for k in aimed_here if k.phase.startswith(prefix))
        delays = [k.into_window_ms for k in aimed_here if k.into_window_ms is not None]
        sent = (
            f", sent {statistics.median(delays):.0f} ms (median; {min(delays):.0f}-"
            f"{max(delays):.0f}) after it opened"
            if delays
            else ""
        )
        hits.append(f"aimed at `{prefix}`: {landed} of {len(aimed_here)} landed in it{sent}")
    aimed_line = ("Aim: " + "; ".join(hits) + ".") if hits else ""
    events = Counter(k.event for k in kills)
    event_rows = ", ".join(f"{e} {n}" for e, n in events.most_common())
    if mode == "bundled":
        intro = (
            "The bundled model (SmolLM2-135M, 1 llama.cpp thread, 48 tokens a stage). Kills: "
            f"{aimed.get('random', 0)} at random moments 0.5-30 s after the start, "
            f"{aimed.get('index', 0)} aimed at the index check, {aimed.get('generation', 0)} at "
            f"the Think generation. Window lengths measured in the phase logs: {lengths}."
        )
    else:
        intro = (
            "The scripted model (bench/soak_model.py: answers that pass validation and a diff "
            "that applies, 5 ms a piece), so every cycle stores and verifies a dream. Kills: "
            f"{aimed.get('store', 0)} aimed at the dream-save window, {aimed.get('verify', 0)} at "
            f"the verification window, {aimed.get('random', 0)} at random moments 0.5-10 s after "
            f"the start. Window lengths measured in the phase logs: {lengths}."
        )
    verdict = "all checks passed" if ok else "FAILED"
    command = (
        f"python -m bench.soak --mode {mode} --kills {args.kills} --marks {args.marks} "
        f"--tui-marks {args.tui_marks}" + (f" --seed {args.seed}" if args.seed != 1 else "")
    )
    minutes = (
        f"Kills took {kills_done / 60:.1f} min, the marks ended at {marks_done / 60:.1f} min, "
        f"{seconds / 60:.1f} min in all."
    )
    return f"""### Mode `{mode}` (`{command}`)

{intro} {len(kills)} SIGKILLs, each followed by a restart; meanwhile {CLI_MARKERS} threads ran
{args.marks} `codedreamer dreams mark` commands and the TUI's mark path marked {args.tui_marks}
times, on seeded dreams. The engine stored {stats.get("engine_dreams", 0)} dreams.
{minutes} Result: **{verdict}**.

| check | result |
|---|---|
{rows}

Where the kills landed, by the phase each killed process had written last:

| window | kills |
|---|---|
{group_rows}

| window | phase | kills | left a temp file | left a scratch dir |
|---|---|---|---|---|
{chr(10).join(window_rows)}

{aimed_line}

Last event in the event log before each kill (it lags the phase by up to the writer's
flush interval): {event_rows}.
"""


def _write_report(mode: str, body: str) -> None:
    """Replace this mode's block in docs/reliability.md (only that block: the rest of the
    "Kill -9 soak" section is prose, and other sections belong to others)."""
    start, end = f"<!-- soak {mode} start -->", f"<!-- soak {mode} end -->"
    text = REPORT.read_text() if REPORT.exists() else "# Reliability\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    from codedreamer.storage.atomic import atomic_write_text

    atomic_write_text(REPORT, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--marks", type=int, default=200)
    parser.add_argument("--tui-marks", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    modes = MODES if args.mode == "both" else (args.mode,)
    all_ok = True
    for mode in modes:
        result = run_mode(mode, args)
        print(result.body, flush=True)
        if not args.no_write:
            _write_report(mode, result.body)
        all_ok = all_ok and result.ok
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
