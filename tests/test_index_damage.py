"""A damaged code index on disk: one clear line from every path that opens it; --clear recovers.

Real LanceDB tables written by a real index run, then damaged the way disks and crashes
damage them: a data file cut short, a garbled manifest, a file where a directory should be.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import run_codedreamer
from test_index_indexer import _age, _write, make_settings

from codedreamer.config.settings import Settings
from codedreamer.errors import CodeIndexError
from codedreamer.index.indexer import ensure_index, index_codebase, open_index
from codedreamer.index.store import storage_error
from codedreamer.index.symbols import symbols_for

HINT = "run `codedreamer index --clear` to rebuild it"


def _repo(root: Path) -> None:
    for i in range(12):
        _age(_write(root, f"pkg/mod{i}.py", f"def parse_record_{i}(raw):\n    return raw[{i}]\n"))


def _truncate_data(table: Path) -> None:
    files = sorted((table / "data").glob("*.lance"))
    assert files, table
    for path in files:
        with open(path, "r+b") as handle:
            handle.truncate(path.stat().st_size // 2)
        _age(path, 120)  # a file this old is not one still being written


def _garble_manifest(table: Path) -> None:
    manifests = sorted((table / "_versions").glob("*.manifest"))
    assert manifests, table
    # Lance numbers versions downwards from u64::MAX: the first name is the newest.
    manifests[0].write_bytes(b"\x00garbage\xff" * 8)


def _file_for_table(table: Path) -> None:
    import shutil

    shutil.rmtree(table)
    table.write_text("not a table\n")


def _file_for_versions(table: Path) -> None:
    import shutil

    shutil.rmtree(table / "_versions")
    (table / "_versions").write_text("oops\n")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated data": _truncate_data,
    "garbled manifest": _garble_manifest,
    "file for table": _file_for_table,
    "file for versions": _file_for_versions,
}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Settings]:
    root = tmp_path / "repo"
    _repo(root)
    settings = make_settings(tmp_path)
    index_codebase(root, settings)
    return root, settings


def _one_line(exc: CodeIndexError) -> str:
    text = str(exc)
    assert "\n" not in text and ".rs:" not in text and len(text) < 400, text
    return text


def _uses_of_the_index(root: Path, settings: Settings) -> dict[str, Callable[[], object]]:
    def read_all() -> object:
        store = open_index(settings, read_only=True)
        return store.search("parse record", k=3), store.manifest(), symbols_for(store)

    return {
        "open+read": read_all,
        "index": lambda: index_codebase(root, settings),
        "ensure_index": lambda: ensure_index(root, settings),
    }


@pytest.mark.parametrize("table", ["chunks", "files"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damage_is_one_line_that_says_how_to_recover(
    built: tuple[Path, Settings], table: str, damage: str
) -> None:
    root, settings = built
    DAMAGE[damage](settings.index_dir / f"{table}.lance")
    for use, call in _uses_of_the_index(root, settings).items():
        with pytest.raises(CodeIndexError) as caught:
            call()
        line = _one_line(caught.value)
        assert "index --clear" in line, (use, line)
    report = index_codebase(root, settings, clear=True)
    assert report.files_indexed == 12 and report.chunks_total == 12
    store = open_index(settings, read_only=True)
    assert store.search("parse record", k=3)
    assert len(store.manifest()) == 12


def test_clear_recovers_a_file_where_the_index_directory_should_be(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _repo(root)
    settings = make_settings(tmp_path)
    settings.index_dir.parent.mkdir(parents=True)
    settings.index_dir.write_text("junk")
    with pytest.raises(CodeIndexError) as caught:
        index_codebase(root, settings)
    assert "not a directory" in _one_line(caught.value)
    assert index_codebase(root, settings, clear=True).chunks_total == 12
    # Outside DATA_DIR (an explicit DB_PATH), a file at the index path is never deleted.
    elsewhere = tmp_path / "mine.txt"
    elsewhere.write_text("precious")
    custom = make_settings(tmp_path, db_path=elsewhere)
    with pytest.raises(CodeIndexError):
        index_codebase(root, custom, clear=True)
    assert elsewhere.read_text() == "precious"


def test_clear_leaves_other_files_in_the_index_directory(built: tuple[Path, Settings]) -> None:
    root, settings = built
    keep = settings.index_dir / "notes.txt"
    keep.write_text("mine")
    _truncate_data(settings.index_dir / "chunks.lance")
    assert index_codebase(root, settings, clear=True).chunks_total == 12
    assert keep.read_text() == "mine"


def _env(tmp_path: Path) -> dict[str, str]:
    return {"DREAMER_DATA_DIR": str(tmp_path / "data"), "DREAMER_DREAMS_DIR": str(tmp_path / "d")}


@pytest.mark.parametrize("damage", ["truncated data", "garbled manifest"])
def test_cli_commands_print_one_line_and_index_clear_recovers(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "repo"
    _repo(root)
    env = _env(tmp_path)
    first = run_codedreamer("index", str(root), "--json", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    DAMAGE[damage](tmp_path / "data" / "index" / "chunks.lance")
    for args in (["search", "parse record"], ["index", str(root)]):
        result = run_codedreamer(*args, env=env, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert HINT in lines[0] and "Traceback" not in result.stderr
    fixed = run_codedreamer("index", str(root), "--clear", "--json", env=env, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    found = run_codedreamer("search", "parse record", "--json", env=env, cwd=tmp_path)
    assert found.returncode == 0 and "pkg/mod" in found.stdout


def test_a_full_or_read_only_disk_is_not_called_damage(tmp_path: Path) -> None:
    # Clearing would not help there, so the line must not advise it.
    for error in (
        OSError(28, "No space left on device"),
        RuntimeError("lance error: LanceError(IO): Read-only file system (os error 30)"),
    ):
        line = _one_line(storage_error(tmp_path, error))
        assert "cannot use the code index" in line and "--clear" not in line
    damaged = _one_line(storage_error(tmp_path, RuntimeError(LANCE_TEXT)))
    assert damaged == f"{tmp_path}: the code index is damaged (failed to fill whole buffer); {HINT}"


LANCE_TEXT = (
    "lance error: LanceError(IO): failed to fill whole buffer, "
    "/rustc/2d81/library/core/src/ops/function.rs:250:5"
)


def test_a_table_whose_creation_failed_counts_as_absent(tmp_path: Path) -> None:
    """A full disk at the very first index build left `chunks.lance/` with no committed
    version; every command then called the index damaged until `index --clear`."""
    root = tmp_path / "repo"
    _repo(root)
    settings = make_settings(tmp_path)
    index_dir = settings.index_dir
    (index_dir / "chunks.lance" / "data").mkdir(parents=True)
    (index_dir / "chunks.lance" / "_transactions").mkdir()
    report = ensure_index(root, settings)
    assert report is not None and report.chunks_written > 0
    store = open_index(settings)
    try:
        assert store.search("parse record", k=1, mode="text")
    finally:
        store.close()
