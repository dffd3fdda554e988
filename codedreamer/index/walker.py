"""Find the files worth indexing under a codebase root, and say why the others are skipped.

Rules, all matched on paths relative to the root (never the absolute path, so a project
that lives under `/home/x/build/` is still indexed): built-in skips (VCS, dependency and
build directories, virtualenvs), secrets (never indexed: their text would reach prompts),
`.gitignore` files at any depth plus `.git/info/exclude`, EXCLUDE_PATTERNS (gitignore
syntax), and the test layouts of every indexed language (`TEST_PATTERNS`). Tests are left
out by default because they crowd search results and dream seeds with fixtures and
assertions; `include_tests` (or a negated EXCLUDE_PATTERNS entry such as `!tests/`)
brings them back. Symlinks are never followed, which also makes symlink loops harmless.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pathspec

from codedreamer.index.languages import language_for, text_language_for

MAX_FILE_BYTES = 1_000_000

BUILTIN_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "node_modules",
        "bower_components",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".pixi",
        ".idea",
        ".eggs",
        "dist",
        "build",
        ".next",
        ".nuxt",
        ".gradle",
        ".terraform",
        "htmlcov",
        ".cache",
        "site-packages",
        ".codedreamer",
    }
)
SECRET_DIRS = frozenset(
    {".ssh", ".gnupg", ".aws", ".gcp", ".azure", ".kube", ".docker", "secrets", "keys", "certs"}
)
SECRET_FILES = (
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.sqlite",
    "*.sqlite3",
    "*.db",
    "*.secret",
    "*.secrets",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".htpasswd",
    "credentials*.json",
    "*.kdbx",
    "*.gpg",
)
GENERATED_FILES = (
    "*.min.js",
    "*.min.css",
    "*.map",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Cargo.lock",
    "uv.lock",
    "Pipfile.lock",
    "composer.lock",
    "Gemfile.lock",
    "go.sum",
)

# Test files and directories by the conventions of each indexed language (gitignore syntax,
# matched on paths relative to the codebase root, so a project living under /src/test/ is
# still indexed).
TEST_PATTERNS = (
    # Directories, any depth.
    "test/",
    "tests/",
    "__tests__/",
    "__mocks__/",
    "__snapshots__/",
    "spec/",
    "specs/",
    "testdata/",
    "*.Tests/",
    "*.Test/",
    "*.UnitTests/",
    # Python
    "test_*.py",
    "*_test.py",
    "tests.py",
    "conftest.py",
    # Go
    "*_test.go",
    # JavaScript / TypeScript
    "*.test.js",
    "*.test.jsx",
    "*.test.mjs",
    "*.test.cjs",
    "*.test.ts",
    "*.test.tsx",
    "*.test.mts",
    "*.test.cts",
    "*.spec.js",
    "*.spec.jsx",
    "*.spec.mjs",
    "*.spec.cjs",
    "*.spec.ts",
    "*.spec.tsx",
    "*.spec.mts",
    "*.spec.cts",
    # Java, Kotlin, C#, PHP
    "*Test.java",
    "*Tests.java",
    "*IT.java",
    "*Test.kt",
    "*Tests.kt",
    "*Test.cs",
    "*Tests.cs",
    "*Test.php",
    # Ruby
    "*_spec.rb",
    "*_test.rb",
    "test_*.rb",
    # Rust integration tests live in tests/ (above); C and C++
    "*_test.c",
    "*_test.cc",
    "*_test.cpp",
    "*_unittest.cc",
    "*_unittest.cpp",
    "test_*.c",
    "test_*.cpp",
    # Shell
    "*_test.sh",
    "test_*.sh",
)


@dataclass(frozen=True)
class FileEntry:
    """A file to consider for indexing; `rel` is the POSIX path relative to the root."""

    rel: str
    path: Path
    size: int
    mtime_ns: int
    language: str
    parsed: bool
    """True when a tree-sitter grammar chunks it, False for line windows."""


@dataclass(frozen=True)
class Skipped:
    rel: str
    reason: str


class IgnoreRules:
    """Everything that decides whether a relative path is indexed."""

    def __init__(
        self,
        root: Path,
        exclude_patterns: Sequence[str] = (),
        extra_skip: Sequence[Path] = (),
        *,
        include_tests: bool = False,
    ) -> None:
        self.root = root
        self.exclude = pathspec.GitIgnoreSpec.from_lines(list(exclude_patterns))
        self.tests = (
            None if include_tests else pathspec.GitIgnoreSpec.from_lines(list(TEST_PATTERNS))
        )
        self.extra_skip: set[str] = set()
        for path in extra_skip:
            try:
                rel = path.resolve().relative_to(root.resolve()).as_posix()
            except (ValueError, OSError):
                continue
            if rel and rel != ".":
                self.extra_skip.add(rel)
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        info_exclude = root / ".git" / "info" / "exclude"
        self._root_extra = self._read_spec(info_exclude)

    @staticmethod
    def _read_spec(path: Path) -> pathspec.GitIgnoreSpec | None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        lines = [line for line in text.splitlines() if line.strip()]
        return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None

    def _spec_for(self, rel_dir: str) -> pathspec.GitIgnoreSpec | None:
        if rel_dir not in self._specs:
            base = self.root / rel_dir if rel_dir else self.root
            self._specs[rel_dir] = self._read_spec(base / ".gitignore")
        return self._specs[rel_dir]

    def gitignored(self, rel: str, is_dir: bool) -> bool:
        """gitignore semantics: the deepest .gitignore with a matching rule decides."""
        probe = rel + "/" if is_dir else rel
        decided: bool | None = None
        if self._root_extra is not None:
            decided = self._root_extra.check_file(probe).include
        parts = rel.split("/")
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            spec = self._spec_for(base)
            if spec is None:
                continue
            result = spec.check_file(probe[len(base) + 1 :] if base else probe).include
            if result is not None:
                decided = result
        return bool(decided)

    def _excluded(self, probe: str) -> str | None:
        """ "excluded" (EXCLUDE_PATTERNS), "test" (a test layout) or None.

        The user's patterns decide first, so `!tests/` there re-includes a test layout.
        """
        decided = self.exclude.check_file(probe).include
        if decided is not None:
            return "excluded" if decided else None
        if self.tests is not None and self.tests.match_file(probe):
            return "test"
        return None

    def dir_reason(self, rel: str, name: str, parent: Path) -> str | None:
        """Why a directory is not walked, or None."""
        if name in BUILTIN_SKIP_DIRS or name.endswith(".egg-info"):
            return "builtin"
        if name in SECRET_DIRS:
            return "secret"
        if name == "target" and any(
            (parent / marker).exists() for marker in ("Cargo.toml", "pom.xml")
        ):
            return "builtin"
        if rel in self.extra_skip:
            return "builtin"
        if (parent / name / "pyvenv.cfg").exists():
            return "builtin"
        reason = self._excluded(rel + "/")
        if reason is not None:
            return reason
        if self.gitignored(rel, True):
            return "gitignored"
        return None

    def file_reason(self, rel: str, name: str) -> str | None:
        """Why a file is not indexed (before reading it), or None."""
        if any(fnmatch(name, pattern) for pattern in SECRET_FILES):
            return "secret"
        if rel in self.extra_skip:
            return "builtin"
        reason = self._excluded(rel)
        if reason is not None:
            return reason
        if self.gitignored(rel, False):
            return "gitignored"
        if any(fnmatch(name, pattern) for pattern in GENERATED_FILES):
            return "generated"
        return None


def _rel(parent_rel: str, name: str) -> str:
    return f"{parent_rel}/{name}" if parent_rel else name


def _valid_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # Undecodable bytes in the name (surrogate escapes) cannot be stored as UTF-8 text.
        return False
    return True


def walk(root: Path, rules: IgnoreRules) -> Iterator[FileEntry | Skipped]:
    """Every file under `root` in a stable order: an entry to index or a skip with a reason."""
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        directory = root / rel_dir if rel_dir else root
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            yield Skipped(rel_dir or ".", "unreadable")
            continue
        subdirs: list[str] = []
        for entry in entries:
            name = entry.name
            rel = _rel(rel_dir, name)
            if not _valid_name(name):
                yield Skipped(rel.encode("utf-8", "replace").decode("utf-8"), "bad_name")
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                yield Skipped(rel, "unreadable")
                continue
            if stat.S_ISLNK(info.st_mode):
                yield Skipped(rel, "symlink")
                continue
            if stat.S_ISDIR(info.st_mode):
                reason = rules.dir_reason(rel, name, directory)
                if reason is None:
                    subdirs.append(rel)
                else:
                    yield Skipped(rel + "/", reason)
                continue
            if not stat.S_ISREG(info.st_mode):
                yield Skipped(rel, "not_regular")
                continue
            reason = rules.file_reason(rel, name)
            if reason is not None:
                yield Skipped(rel, reason)
                continue
            spec = language_for(name)
            language = spec.name if spec is not None else text_language_for(name)
            if language is None:
                yield Skipped(rel, "unsupported_type")
                continue
            if info.st_size > MAX_FILE_BYTES:
                yield Skipped(rel, "too_large")
                continue
            yield FileEntry(
                rel, Path(entry.path), info.st_size, info.st_mtime_ns, language, spec is not None
            )
        stack.extend(reversed(subdirs))


def watch_dirs(root: Path, rules: IgnoreRules) -> list[Path]:
    """Every directory that holds indexable files: watch these (non-recursively), nothing else.

    A recursive watch on the root would register an inotify watch for every ignored
    directory too (node_modules alone can exhaust the limit).
    """
    dirs = [root]
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        directory = root / rel_dir if rel_dir else root
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if not _valid_name(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            rel = _rel(rel_dir, entry.name)
            if rules.dir_reason(rel, entry.name, directory) is None:
                dirs.append(Path(entry.path))
                stack.append(rel)
    return dirs


def classify(root: Path, rel: str, rules: IgnoreRules) -> FileEntry | Skipped | None:
    """One path as `walk` would report it (None when it does not exist or is a directory)."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        parent = root.joinpath(*parts[: depth - 1]) if depth > 1 else root
        reason = rules.dir_reason("/".join(parts[:depth]), parts[depth - 1], parent)
        if reason is not None:
            return Skipped(rel, reason)
    path = root.joinpath(*parts)
    if not _valid_name(parts[-1]):
        return Skipped(rel, "bad_name")
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError:
        return Skipped(rel, "unreadable")
    if stat.S_ISLNK(info.st_mode):
        return Skipped(rel, "symlink")
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return Skipped(rel, "not_regular")
    reason = rules.file_reason(rel, parts[-1])
    if reason is not None:
        return Skipped(rel, reason)
    spec = language_for(parts[-1])
    language = spec.name if spec is not None else text_language_for(parts[-1])
    if language is None:
        return Skipped(rel, "unsupported_type")
    if info.st_size > MAX_FILE_BYTES:
        return Skipped(rel, "too_large")
    return FileEntry(rel, path, info.st_size, info.st_mtime_ns, language, spec is not None)
