"""Run the real `codedreamer` entry point in a subprocess, isolated from the caller's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_codedreamer(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m codedreamer ARGS` with only the given DREAMER_* variables set."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "codedreamer", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
