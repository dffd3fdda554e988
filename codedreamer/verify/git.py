"""Running git for the verifier: one place that sets the environment and reads errors.

The caller's environment may carry GIT_DIR, GIT_INDEX_FILE or GIT_WORK_TREE (a hook, an
IDE terminal); any of them would point a command meant for the scratch clone at the
user's repository, so they are dropped. Hooks are switched off for every command: a
post-checkout hook of the user's global hooksPath must not run on a scratch checkout.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from codedreamer.errors import CodeDreamerError
from codedreamer.safe_text import safe_line

# Variables that redirect git to another repository, index or object store.
_REDIRECTING = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
ERROR_CHARS = 240


class GitError(CodeDreamerError):
    """A git command failed; the message is git's first error line."""

    exit_code = 1


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment without the variables that redirect git, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key not in _REDIRECTING}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"  # git's messages are stored in dreams; keep them in one language
    if extra:
        env.update(extra)
    return env


def first_error(text: str) -> str:
    """The most telling line of git's stderr: the first `error:`/`fatal:` line, else the first."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("error:", "fatal:")):
            return safe_line(line)[:ERROR_CHARS]
    return safe_line(lines[0])[:ERROR_CHARS] if lines else "no message"


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`git ARGS` in `cwd`; GitError with git's message when it fails and `check` is set."""
    try:
        done = subprocess.run(
            ["git", *_NO_HOOKS, *args],
            cwd=cwd,
            env=clean_env(env),
            input=input_text,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to verify and apply dreams)") from None
    if check and done.returncode != 0:
        raise GitError(f"git {args[0]}: {first_error(done.stderr or done.stdout)}")
    return done


def git_out(args: Sequence[str], cwd: Path, *, env: Mapping[str, str] | None = None) -> str:
    """Stripped stdout of a git command that must succeed."""
    return run_git(args, cwd, env=env).stdout.strip()


def repo_root(path: Path) -> Path:
    """The top of the git work tree holding `path`; UsageError when it is not in one."""
    from codedreamer.errors import UsageError

    done = run_git(["rev-parse", "--show-toplevel"], path, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(
            f"{safe_line(str(path))}: not inside a git repository "
            "(verifying and applying dreams needs git)"
        )
    return Path(done.stdout.strip())


def head_commit(repo: Path) -> str:
    """The full id of HEAD's commit; UsageError in a repository without commits."""
    from codedreamer.errors import UsageError

    done = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], repo, check=False)
    if done.returncode != 0:
        raise UsageError(f"{safe_line(str(repo))}: the repository has no commit yet")
    return done.stdout.strip()


def blob_at(repo: Path, commit: str, path: str) -> str | None:
    """The blob id of `path` in `commit`, None when the commit has no such file."""
    done = run_git(["rev-parse", "--verify", "--quiet", f"{commit}:{path}"], repo, check=False)
    if done.returncode != 0:
        return None
    return done.stdout.strip()


def blob_bytes(repo: Path, blob: str) -> bytes:
    """A blob's exact content (bytes: text mode would turn CRLF into LF)."""
    try:
        done = subprocess.run(
            ["git", *_NO_HOOKS, "cat-file", "blob", blob],
            cwd=repo,
            env=clean_env(),
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to verify and apply dreams)") from None
    if done.returncode != 0:
        raise GitError(f"git cat-file: {first_error(done.stderr.decode('utf-8', 'replace'))}")
    return done.stdout
