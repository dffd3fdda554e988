"""Incremental indexing on real trees with real tree-sitter and a real LanceDB on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from codedreamer.config.settings import Settings, load_settings
from codedreamer.index.indexer import (
    IndexProgress,
    ensure_index,
    index_codebase,
    open_index,
)

LANGS = Path(__file__).parent / "fixtures" / "index" / "langs"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp_path / "data", "dreams_dir": tmp_path / "dreams"}
    values.update(overrides)
    return load_settings(values, env_file=None, environ={}).settings


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _age(path: Path, seconds: float = 10.0) -> None:
    """Move the mtime back so the racy-mtime guard does not force a re-hash."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def _project(root: Path, n: int = 5) -> None:
    for i in range(n):
        path = _write(root, f"pkg/mod{i}.py", f"def func_{i}(x):\n    return x + {i}\n")
        _age(path)


def test_second_run_parses_and_embeds_nothing(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _project(root)
    settings = make_settings(tmp_path)
    first = index_codebase(root, settings)
    assert (first.files_indexed, first.files_unchanged) == (5, 0)
    assert first.chunks_written == first.chunks_total == 5

    second = index_codebase(root, settings)
    assert (second.files_indexed, second.files_unchanged, second.chunks_written) == (0, 5, 0)
    assert second.chunks_total == 5


def test_changed_touched_added_and_deleted_files(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _project(root)
    settings = make_settings(tmp_path)
    index_codebase(root, settings)

    _write(root, "pkg/mod0.py", "def renamed_function(x):\n    return x\n")
    _age(root / "pkg/mod0.py", 5)
    os.utime(root / "pkg/mod1.py")  # new mtime, same content: hashed, not re-chunked
    _age(_write(root, "pkg/extra.py", "def added():\n    return 0\n"), 5)
    (root / "pkg/mod2.py").unlink()
    report = index_codebase(root, settings)
    assert report.files_indexed == 2  # mod0 changed, extra added
    assert report.files_unchanged == 3  # mod1 (hash equal), mod3, mod4
    assert report.files_removed == 1
    store = open_index(settings, read_only=True)
    assert store.chunks_for_path("pkg/mod2.py") == []
    assert [c.symbol for c in store.chunks_for_path("pkg/mod0.py")] == ["renamed_function"]
    assert store.count() == 5
    assert store.definitions("func_0") == []


def test_newly_excluded_files_leave_the_index(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _project(root)
    settings = make_settings(tmp_path)
    index_codebase(root, settings)
    _write(root, ".gitignore", "pkg/mod4.py\n")
    report = index_codebase(root, settings)
    assert report.files_removed == 1
    assert report.skipped["gitignored"] == 1


def test_bad_inputs_are_skipped_or_cut_and_counted(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _write(root, "good.py", "def good():\n    return 1\n")
    (root / "binary.py").write_bytes(bytes(range(256)) * 20)
    (root / "latin1.py").write_bytes("name = 'café'\n".encode("latin-1"))
    (root / "nul.js").write_bytes(b"var a = 1;\x00\x00var b = 2;\n")
    (root / "huge.min.txt").write_text("x" * (10 * 1024 * 1024))
    (root / "minified.js").write_text("var a=1;" * 4000)
    (root / "longline.py").write_text("x = '" + "y" * 5000 + "'\n")
    (root / "deep.py").write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    (root / "loop.py").symlink_to(root / "loop.py")
    (root / "dirloop").symlink_to(root, target_is_directory=True)
    for name in ["with space.py", "ünï.py", "new\nline.py", "it's.py"]:
        (root / name).write_text(f"def f():\n    return {name!r}\n")
    with open(os.fsencode(str(root)) + b"/bad\xfe.py", "wb") as handle:
        handle.write(b"x = 1\n")
    settings = make_settings(tmp_path)
    report = index_codebase(root, settings)
    assert report.skipped == {
        "bad_name": 1,
        "binary": 2,
        "minified": 1,
        "not_utf8": 1,
        "symlink": 2,
        "too_large": 1,
    }
    assert report.files_indexed == 7  # good, longline, deep and the four odd names
    assert report.truncated_chunks == 2  # longline.py and deep.py have lines over 2,000 chars
    store = open_index(settings, read_only=True)
    assert store.chunks_for_path("new\nline.py")[0].content.endswith("'new\\nline.py'")
    assert store.chunks_for_path("it's.py")
    # Skipped files are remembered: the next run reads none of them again.
    again = index_codebase(root, settings)
    assert again.files_indexed == 0
    assert again.skipped == report.skipped


def test_a_skipped_file_fixed_later_keeps_one_manifest_row(tmp_path: Path) -> None:
    import lancedb

    root = tmp_path / "repo"
    _project(root, 2)
    (root / "pkg/late.py").write_bytes(b"x = 1\x00\n")
    _age(root / "pkg/late.py", 20)
    settings = make_settings(tmp_path)
    assert index_codebase(root, settings).skipped == {"binary": 1}
    _age(_write(root, "pkg/late.py", "def late():\n    return 1\n"), 5)
    _age(_write(root, "pkg/new.py", "def new():\n    return 2\n"), 5)
    report = index_codebase(root, settings)
    assert (report.files_indexed, report.skipped) == (2, {})
    # The skipped file had a manifest row but no chunks: its row is replaced, not doubled.
    files = lancedb.connect(settings.index_dir).open_table("files").to_arrow()
    assert sorted(files.column("path").to_pylist()) == [
        "pkg/late.py", "pkg/mod0.py", "pkg/mod1.py", "pkg/new.py",
    ]  # fmt: skip
    assert index_codebase(root, settings).files_unchanged == 4


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _write(root, "ok.py", "def ok():\n    return 1\n")
    secret = _write(root, "locked.py", "def locked():\n    return 2\n")
    secret.chmod(0)
    settings = make_settings(tmp_path)
    if os.geteuid() != 0:
        report = index_codebase(root, settings)
        assert report.skipped == {"unreadable": 1}
        assert report.files_indexed == 1
        return
    # root reads any file whatever its mode, so as root prove the same path with a file
    # that vanishes between the walk and the read (the other way a read fails).
    from codedreamer.index.indexer import _Job, process_file

    job = _Job("gone.py", str(root / "gone.py"), 10, 0, "python", True, None, 3000)
    outcome = process_file(job, None)
    assert (outcome.status, outcome.reason) == ("skipped", "unreadable")
    report = index_codebase(root, settings)
    assert report.files_indexed == 2  # root could read locked.py


def test_clear_and_ensure_index(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _project(root, 3)
    settings = make_settings(tmp_path)
    first = ensure_index(root, settings)
    assert first is not None and first.files_indexed == 3
    assert ensure_index(root, settings) is None  # current: nothing to do
    _age(_write(root, "pkg/new.py", "def brand_new():\n    pass\n"), 5)
    stale = ensure_index(root, settings)
    assert stale is not None and stale.files_indexed == 1
    cleared = ensure_index(root, make_settings(tmp_path, clear_index_on_start=True))
    assert cleared is not None and cleared.cleared and cleared.files_indexed == 4
    again = index_codebase(root, settings, clear=True)
    assert again.files_indexed == 4 and again.chunks_total == 4


def test_missing_or_file_codebase_is_a_usage_error(tmp_path: Path) -> None:
    from codedreamer.errors import UsageError

    settings = make_settings(tmp_path)
    with pytest.raises(UsageError, match="no such directory"):
        index_codebase(tmp_path / "nope", settings)
    file_path = _write(tmp_path, "file.py", "x = 1\n")
    with pytest.raises(UsageError, match="not a directory"):
        index_codebase(file_path, settings)


def test_worker_processes_give_the_same_index_as_one_process(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for i in range(120):
        _age(
            _write(
                root, f"m/mod{i}.py", f"class C{i}:\n    def run_{i}(self):\n        return {i}\n"
            )
        )
    for name in sorted(p.name for p in LANGS.iterdir()):
        _age(_write(root, f"langs/{name}", (LANGS / name).read_text()))
    one = make_settings(tmp_path / "one")
    two = make_settings(tmp_path / "two")
    report_one = index_codebase(root, one, workers=1)
    report_two = index_codebase(root, two, workers=2)
    assert report_two.workers == 2 and report_one.workers == 1
    assert report_one.chunks_total == report_two.chunks_total == 120 * 2 + 80
    ids_one, vectors_one = open_index(one, read_only=True).chunk_vectors()
    ids_two, vectors_two = open_index(two, read_only=True).chunk_vectors()
    order_one, order_two = (
        sorted(range(len(ids_one)), key=ids_one.__getitem__),
        sorted(range(len(ids_two)), key=ids_two.__getitem__),
    )
    assert sorted(ids_one) == sorted(ids_two)
    assert (vectors_one[order_one] == vectors_two[order_two]).all()


@pytest.mark.skipif(sys.platform != "linux", reason="fork is used on Linux only")
def test_the_command_forks_its_workers_and_builds_the_same_index(tmp_path: Path) -> None:
    """`codedreamer index` in a fresh process forks its workers (nothing to re-import) and
    gets the index one in-process worker builds; once LanceDB is loaded, workers spawn."""
    probe = (
        "from codedreamer.index import indexer\n"
        "print(indexer._pool_context().get_start_method())\n"
        "import lancedb\n"
        "print(indexer._pool_context().get_start_method())\n"
    )
    methods = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert methods == ["fork", "spawn"]
    root = tmp_path / "repo"
    for i in range(120):
        _age(_write(root, f"m/mod{i}.py", f"def run_{i}(value):\n    return value + {i}\n"))
    one = make_settings(tmp_path / "one")
    index_codebase(root, one, workers=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
    env["DREAMER_DATA_DIR"] = str(tmp_path / "cli")
    result = subprocess.run(
        [sys.executable, "-m", "codedreamer", "index", str(root), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    cli = make_settings(tmp_path / "x", data_dir=tmp_path / "cli")
    ids_one, vectors_one = open_index(one, read_only=True).chunk_vectors()
    ids_cli, vectors_cli = open_index(cli, read_only=True).chunk_vectors()
    assert len(ids_one) == 120
    assert sorted(ids_one) == sorted(ids_cli)
    order_one = sorted(range(len(ids_one)), key=ids_one.__getitem__)
    order_cli = sorted(range(len(ids_cli)), key=ids_cli.__getitem__)
    assert (vectors_one[order_one] == vectors_cli[order_cli]).all()


def test_a_cold_run_hands_files_to_the_workers_before_the_store_opens(tmp_path: Path) -> None:
    """`start_cold` plans and submits before there is a store; `run` uses that work only
    when the store turns out empty, and plans again (nothing re-indexed) when it is not."""
    from codedreamer.index.embedder import LexicalEmbedder
    from codedreamer.index.indexer import Indexer, _start_pool

    root = tmp_path / "repo"
    for i in range(100):
        _age(_write(root, f"m/mod{i}.py", f"def run_{i}(value):\n    return value + {i}\n"))
    settings = make_settings(tmp_path)
    for expect_early, indexed in ((True, 100), (False, 0)):
        indexer = Indexer(root, settings, None, workers=2)
        indexer._pool = _start_pool(2)
        indexer.start_cold(LexicalEmbedder())
        assert (indexer._early is not None) is True
        store = open_index(settings)
        indexer.store = store
        report = indexer.run()
        store.close()
        assert report.files_indexed == indexed, expect_early
        assert report.files_unchanged == 100 - indexed
        assert report.chunks_total == 100
        assert set(report.phase_seconds) == {"scan", "index", "write", "maintain"}


def test_progress_reports_every_file(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _project(root, 4)
    events: list[IndexProgress] = []
    index_codebase(root, make_settings(tmp_path), progress=events.append)
    assert events[0].phase == "scan" and events[-1].phase == "finish"
    assert [e.files_done for e in events if e.phase == "index"] == [1, 2, 3, 4]
    assert events[-1].files_committed == 4


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from codedreamer.config.settings import load_settings
from codedreamer.index.indexer import Indexer, open_index

def main():
    settings = load_settings({"data_dir": sys.argv[2]}, env_file=None, environ={}).settings
    store = open_index(settings)
    def progress(event):
        if event.files_committed >= 20:
            print("COMMITTED", event.files_committed, flush=True)
            time.sleep(60)
    Indexer(Path(sys.argv[1]), settings, store, workers=1, batch_files=10).run(progress)

if __name__ == "__main__":
    main()
"""


def test_kill_9_mid_run_resumes_without_redoing_finished_files(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for i in range(60):
        _age(_write(root, f"pkg/mod{i:02d}.py", f"def func_{i}():\n    return {i}\n"))
    script = _write(tmp_path, "killme.py", KILL_SCRIPT)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(root), str(data)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("COMMITTED"), line
    committed = int(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    settings = make_settings(tmp_path, data_dir=data)
    report = index_codebase(root, settings)
    assert report.files_unchanged == committed
    assert report.files_indexed == 60 - committed
    store = open_index(settings, read_only=True)
    assert store.count() == 60
    assert store.file_count() == 60


def test_byte_order_mark_keeps_names_and_lines_right(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "bom.py").write_bytes(b"\xef\xbb\xbfdef with_bom():\n    return 1\n")
    settings = make_settings(tmp_path)
    index_codebase(root, settings)
    chunk = open_index(settings, read_only=True).chunks_for_path("bom.py")[0]
    assert (chunk.symbol, chunk.start_line, chunk.content) == (
        "with_bom",
        1,
        "def with_bom():\n    return 1",
    )


def test_a_cold_index_reports_the_seconds_the_user_waited(tmp_path: Path) -> None:
    """On a cold index the workers do most of the work while the store opens, before
    `Indexer.run` starts its timer: the report said 0.26 s for a 204-file index."""
    root = tmp_path / "repo"
    for i in range(100):
        _age(_write(root, f"m/mod{i}.py", f"def run_{i}(value):\n    return value + {i}\n"))
    started = time.perf_counter()
    report = index_codebase(root, make_settings(tmp_path), workers=2)
    waited = time.perf_counter() - started
    assert report.files_indexed == 100
    phases = sum(report.phase_seconds.values())
    # Every phase, the store's opening included (phases may overlap by a few per cent).
    assert report.seconds >= phases * 0.9
    assert report.seconds <= waited
