"""The user's verify command (DREAMER_VERIFY_COMMAND), run only inside a scratch work tree.

It is the user's own command from their own settings, so it runs through `/bin/sh -c`
like a Makefile line. It runs in its own process group with stdin closed, its output goes
to a log file beside (not inside) the scratch work tree, and when it outlives its timeout
or the verifier is interrupted, the whole group is killed: SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from codedreamer.safe_text import safe_line
from codedreamer.verify.git import clean_env

TAIL_LINES = 5
TAIL_CHARS = 400
KILL_GRACE_SEC = 3.0


@dataclass(frozen=True)
class CommandResult:
    status: str
    """"passed", "failed", "timed out" or "could not start"."""
    exit_code: int | None
    seconds: float
    tail: str
    """The last lines of its output, as one safe line."""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def summary(self) -> str:
        """One line for the dream's front matter."""
        if self.status == "passed":
            return f"passed in {self.seconds:.1f} s"
        if self.status == "timed out":
            text = f"fails: timed out after {self.seconds:.0f} s"
        elif self.status == "could not start":
            text = "fails: could not start"
        else:
            text = f"fails: exit {self.exit_code} after {self.seconds:.1f} s"
        return f"{text}: {self.tail}" if self.tail else text


def _tail(log: Path) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in data.splitlines() if line.strip()][-TAIL_LINES:]
    text = safe_line(" | ".join(lines))
    return text[-TAIL_CHARS:]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """End the command and everything it started (its own process group)."""
    for signum, wait in ((signal.SIGTERM, KILL_GRACE_SEC), (signal.SIGKILL, KILL_GRACE_SEC)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_command(command: str, cwd: Path, *, timeout: float, log: Path) -> CommandResult:
    """Run `command` in `cwd` (a scratch work tree) for at most `timeout` seconds."""
    started = time.monotonic()
    with log.open("wb") as output:
        try:
            process = subprocess.Popen(
                ["/bin/sh", "-c", command],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=clean_env({"CODEDREAMER_VERIFY": "1"}),
                start_new_session=True,
            )
        except OSError as exc:
            return CommandResult("could not start", None, 0.0, safe_line(str(exc)))
        try:
            try:
                code = process.wait(timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                return CommandResult("timed out", None, time.monotonic() - started, _tail(log))
        finally:
            # Background children the command left, or an interrupt while it ran: none
            # of it may outlive the scratch work tree it runs in.
            if process.poll() is None:
                _kill_group(process)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
    seconds = time.monotonic() - started
    status = "passed" if code == 0 else "failed"
    return CommandResult(status, code, seconds, "" if code == 0 else _tail(log))
