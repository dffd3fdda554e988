"""Helpers shared by the CLI commands: settings loading, consoles, JSON output.

Command modules import heavy libraries (llama.cpp, LanceDB, rustworkx) inside the command
functions, never at module level, so `codedreamer --help` stays fast.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from codedreamer.config.settings import LoadedSettings


DEFAULT_ENV_FILE = Path(".env")


def settings_from(ctx: typer.Context, **overrides: Any) -> LoadedSettings:
    """Load settings with the root `--env-file` and this command's CLI overrides.

    A file named with `--env-file` must exist; the default `.env` may be absent.
    """
    from codedreamer.config.settings import load_settings

    named: Path | None = (ctx.find_root().obj or {}).get("env_file")
    return load_settings(
        overrides,
        env_file=named if named is not None else DEFAULT_ENV_FILE,
        env_file_required=named is not None,
    )


def finite_range(
    low: float, high: float, *, low_open: bool = False
) -> Callable[[typer.CallbackParam, float], float]:
    """A typer callback: the value must be finite and in range (click lets nan through).

    Raises UsageError naming the option: "--hours must be positive, finite and at most 876000".
    """
    if low_open and low == 0:
        bound = f"positive, finite and at most {high:g}"
    else:
        bound = f"a finite number from {low:g} to {high:g}"

    def check(param: typer.CallbackParam, value: float) -> float:
        from codedreamer.errors import UsageError

        inside = low < value if low_open else low <= value
        if not (math.isfinite(value) and inside and value <= high):
            flag = max(param.opts, key=len) if param.opts else str(param.name)
            raise UsageError(f"{flag} must be {bound} (got {value!r})")
        return value

    return check


def require_data(directory: Path, *, what: str, hint: str) -> None:
    """One answer, for every command that reads DATA_DIR, to "is there anything to read?".

    A store directory (the index, the graph) that is missing means nothing was made yet:
    a UsageError naming it and the command that makes it (exit 2, like `search` without an
    index). Looking never creates anything.
    """
    from codedreamer.errors import UsageError

    if not usable_data(directory, what=what):
        raise UsageError(f"{directory}: no {what} yet; {hint}")


def usable_data(directory: Path, *, what: str) -> bool:
    """Whether `directory` exists; UsageError (exit 2) if it cannot be used at all.

    Unusable: a file sits where it or one of its parents should be, or it (or the nearest
    existing parent) cannot be read.
    """
    from codedreamer.errors import UsageError

    for part in (directory, *directory.parents):
        state = _probe(part)
        if state == "missing":
            continue
        if state == "file":
            raise UsageError(f"{part}: not a directory, so {directory} cannot be used (DATA_DIR)")
        if state == "denied" or not os.access(part, os.R_OK | os.X_OK):
            raise UsageError(f"{part}: cannot read the {what} there (permission denied)")
        return part == directory
    return False


def _probe(path: Path) -> str:
    """ "dir", "file" (anything but a directory), "missing" or "denied" (cannot stat)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError:
        return "denied"
    return "dir" if stat.S_ISDIR(mode) else "file"


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Machine-readable output for scripts: plain JSON on stdout, no Rich formatting."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
