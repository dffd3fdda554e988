"""Step: verify a stored dream's patch in a scratch clone, so every view shows the result.

The patch must apply (`git apply --check`) and the changed files parse; the outcome goes
into the dream's front matter and its score (codedreamer/verify/). This step never runs
DREAMER_VERIFY_COMMAND: a project's test suite per cycle could cost more than the cycle,
so the command runs only on demand (`dreams verify`, the TUI's `b`).
"""

from __future__ import annotations

from pathlib import Path

from codedreamer.dream.context import CycleContext
from codedreamer.errors import CodeDreamerError
from codedreamer.events import EngineError, Notice
from codedreamer.safe_text import safe_line


def verify_step(context: CycleContext) -> None:
    dream = context.dream
    if dream is None or not (dream.diff or dream.code):
        return
    root = Path(context.services.codebase_root)
    if not (root / ".git").exists():
        return  # not a git work tree: nothing to verify against
    from codedreamer.verify.verifier import verify_dream

    sink = context.services.sink
    try:
        result = verify_dream(context.services.store(), dream.id, codebase=root)
    except CodeDreamerError as exc:
        sink(EngineError(message=safe_line(f"verification skipped: {exc}")))
        return
    why = f": {result.reason}" if result.reason else ""
    sink(Notice(message=safe_line(f"verification {result.status}{why} ({result.seconds:.2f}s)")))
