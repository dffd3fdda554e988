"""End-to-end: the TUI in a real terminal (tmux), as a user drives it.

    python -m bench.e2e_tmux tui      # `codedreamer tui` on a sample repo: a dream, press a
    python -m bench.e2e_tmux attach   # `codedreamer daemon`, then `tui --attach`, mark from it
    python -m bench.e2e_tmux all

Each scenario makes a sample git repo and its own DREAMS_DIR/DATA_DIR in a temp dir, runs
the real `codedreamer` entry point with the bundled model inside tmux, reads the screen with
`capture-pane`, types with `send-keys`, and checks the dream file on disk. It waits up to
`--wait` seconds for the engine to store a dream of its own; the bundled 135M model's
answers are mostly (rightly) rejected, so when none is stored in time it marks a dream
seeded into DREAMS_DIR before the start instead, and says so in its output. Screens are
saved under docs/e2e/ for reading. Exit code 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from codedreamer.storage.dream import Dream, new_dream_id
from codedreamer.storage.store import DreamStore

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENS = REPO_ROOT / "docs" / "e2e"
SAMPLE = '''"""Orders and their totals."""

import sqlite3


def find_orders(db_path, customer):
    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT id, total FROM orders WHERE customer = '" + customer + "'"
    ).fetchall()
    return rows


def average_total(rows):
    total = 0
    for i in range(len(rows) - 1):
        total += rows[i][1]
    return total / len(rows)
'''


class Check:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        print(("PASS " if ok else "FAIL ") + what, flush=True)
        if not ok:
            self.failures.append(what)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def session_alive(session: str) -> bool:
    return (
        subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0
    )


def make_workspace(root: Path) -> tuple[Path, dict[str, str]]:
    repo = root / "repo"
    repo.mkdir(parents=True)
    (repo / "orders.py").write_text(SAMPLE)
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "sample"], cwd=repo, check=True)
    env = {
        "DREAMER_DREAMS_DIR": str(root / "dreams"),
        "DREAMER_DATA_DIR": str(root / "data"),
        "DREAMER_DREAM_INTERVAL_SEC": "0",
        "DREAMER_REASONING_MAX_TOKENS": "200",
        "DREAMER_N_CTX": "2048",
    }
    return repo, env


def seed_dream(dreams_dir: Path) -> str:
    """A dream as an earlier night would have left it, to mark if none is stored in time."""
    now = datetime.now(UTC)
    dream = Dream(
        id=new_dream_id(now),
        created=now,
        category="security",
        source_path="orders.py",
        line_start=6,
        line_end=11,
        title="find_orders builds SQL from the customer name",
        insight="`find_orders` concatenates `customer` into the SQL string: use a parameter.",
        seed_code=SAMPLE,
    )
    DreamStore(dreams_dir).save_new(dream)
    return dream.id


def stored_dream_ids(event_log: Path) -> list[str]:
    if not event_log.exists():
        return []
    ids = []
    for line in event_log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("type") == "DreamSaved":
            ids.append(str(event["dream_id"]))
    return ids


def rejections(event_log: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if event_log.exists():
        for line in event_log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("type") == "DreamRejected":
                counts[event["reason"]] = counts.get(event["reason"], 0) + 1
    return counts


def wait_for(predicate, timeout: float, step: float = 0.5) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def shell_command(args: list[str], env: dict[str, str], cwd: Path) -> str:
    exports = " ".join(f"{k}={shlex_quote(v)}" for k, v in env.items())
    command = " ".join(shlex_quote(a) for a in args)
    return f"cd {shlex_quote(str(cwd))} && env {exports} {command}; echo EXITED $?; sleep 30"


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def status_of(dreams_dir: Path, dream_id: str) -> str:
    return DreamStore(dreams_dir).load(dream_id).status.value


def save_screen(name: str, text: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    (SCREENS / f"{name}.txt").write_text(text)


def choose_dream(check: Check, log: Path, seeded: str, wait: float) -> str:
    stored = wait_for(lambda: stored_dream_ids(log), wait)
    if stored:
        dream_id = stored_dream_ids(log)[0]
        print(f"the engine stored dream {dream_id}", flush=True)
        return dream_id
    print(
        f"no dream stored in {wait:.0f} s (rejections: {rejections(log)}); "
        f"marking the seeded dream {seeded}",
        flush=True,
    )
    return seeded


def scenario_tui(root: Path, wait: float, check: Check) -> None:
    repo, env = make_workspace(root / "tui")
    dreams = Path(env["DREAMER_DREAMS_DIR"])
    log = Path(env["DREAMER_DATA_DIR"]) / "events.jsonl"
    seeded = seed_dream(dreams)
    session = "cd-e2e-tui"
    tmux("kill-session", "-t", session)
    cmd = shell_command([sys.executable, "-m", "codedreamer", "tui", str(repo)], env, root)
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd)
    check(wait_for(lambda: "Thought stream" in capture(session), 60), "the TUI draws at 80x24")
    check(
        wait_for(lambda: '"TokenStreamed"' in (log.read_text() if log.exists() else ""), 300),
        "tokens stream from the bundled model",
    )
    time.sleep(1.5)
    streaming = capture(session)
    save_screen("tui-streaming-80x24", streaming)
    dream_id = choose_dream(check, log, seeded, wait)
    time.sleep(2)  # the dream list reloads on DreamSaved
    # The dream to mark must be the selected one: the top row is the newest or best.
    screen = capture(session)
    save_screen("tui-before-mark-80x24", screen)
    tmux("send-keys", "-t", session, "a")

    def applied() -> list[str]:
        return [d.id for d in DreamStore(dreams).list().dreams if d.status.value == "applied"]

    check(
        wait_for(lambda: len(applied()) == 1, 10), "pressing a marks one dream applied in its file"
    )
    marked = applied()
    print(f"marked {marked} (engine's dream: {dream_id != seeded})", flush=True)
    save_screen("tui-after-mark-80x24", capture(session))
    started = time.monotonic()
    tmux("send-keys", "-t", session, "q")
    exited = wait_for(lambda: "EXITED 0" in capture(session), 10, step=0.05)
    check(exited, f"q quits cleanly (exit 0) in {time.monotonic() - started:.2f} s")
    check("Traceback" not in capture(session), "no traceback on the screen")
    tmux("kill-session", "-t", session)


def scenario_attach(root: Path, wait: float, check: Check) -> None:
    repo, env = make_workspace(root / "attach")
    dreams = Path(env["DREAMER_DREAMS_DIR"])
    data = Path(env["DREAMER_DATA_DIR"])
    log = data / "events.jsonl"
    seeded = seed_dream(dreams)
    daemon_session, viewer = "cd-e2e-daemon", "cd-e2e-viewer"
    for s in (daemon_session, viewer):
        tmux("kill-session", "-t", s)
    daemon_cmd = shell_command(
        [sys.executable, "-m", "codedreamer", "daemon", "--codebase", str(repo)], env, root
    )
    tmux("new-session", "-d", "-s", daemon_session, "-x", "120", "-y", "30", daemon_cmd)
    check(
        wait_for(lambda: '"TokenStreamed"' in (log.read_text() if log.exists() else ""), 300),
        "the daemon streams tokens into its event log",
    )
    dream_id = choose_dream(check, log, seeded, wait)
    viewer_cmd = shell_command(
        [sys.executable, "-m", "codedreamer", "tui", "--attach", str(data)], env, root
    )
    tmux("new-session", "-d", "-s", viewer, "-x", "100", "-y", "30", viewer_cmd)
    check(wait_for(lambda: "Thought stream" in capture(viewer), 60), "the attached TUI draws")
    time.sleep(3)
    save_screen("attach-100x30", capture(viewer))
    tmux("send-keys", "-t", viewer, "r")
    check(
        wait_for(
            lambda: any(d.status.value == "rejected" for d in DreamStore(dreams).list().dreams), 10
        ),
        "pressing r in the attached view marks a dream rejected in its file",
    )
    check(
        session_alive(daemon_session) and "EXITED" not in capture(daemon_session),
        "the daemon kept running while the viewer marked",
    )
    tmux("send-keys", "-t", viewer, "q")
    check(
        wait_for(lambda: "EXITED 0" in capture(viewer), 10, step=0.05), "the viewer quits cleanly"
    )
    check("EXITED" not in capture(daemon_session), "quitting the viewer leaves the daemon running")
    tmux("send-keys", "-t", daemon_session, "C-c")
    check(
        wait_for(lambda: "EXITED 0" in capture(daemon_session), 20, step=0.1),
        "the daemon stops cleanly on Ctrl-C (exit 0)",
    )
    save_screen("daemon-log", capture(daemon_session))
    print(f"dream {dream_id}: {status_of(dreams, dream_id) if dream_id else '?'}", flush=True)
    for s in (daemon_session, viewer):
        tmux("kill-session", "-t", s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=["tui", "attach", "all"])
    parser.add_argument("--wait", type=float, default=240.0, help="seconds to wait for a dream")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed (apt-get install tmux)", file=sys.stderr)
        return 2
    check = Check()
    with tempfile.TemporaryDirectory(prefix="cd-e2e-") as tmp:
        root = Path(tmp)
        os.environ.pop("TMUX", None)
        if args.scenario in ("tui", "all"):
            scenario_tui(root, args.wait, check)
        if args.scenario in ("attach", "all"):
            scenario_attach(root, args.wait, check)
    print(f"{len(check.failures)} failed" if check.failures else "all checks passed")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
