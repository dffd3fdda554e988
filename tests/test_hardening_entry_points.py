"""Bad input at the entry points the other hardening tests left out: one line, never a traceback.

`serve`, `tui`, `daemon`, `dream`, `search`, `dreams verify|apply|export|list|actionable`
with options out of range, ids that are not dreams, outputs that cannot be written, and a
damaged index under `dream`. Each call goes through `run()`, the console script's own
function, in-process (every case fails before any model or index is opened), except the
damaged-index case, which runs the real console script with the bundled model.
docs/reliability.md ("Bad input, per entry point") lists these beside the older tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_runner import run_codedreamer

from codedreamer.cli.app import run
from codedreamer.storage.store import DreamStore
from tests.test_cli_dreams import make_dream


def one_line(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> str:
    """Run `argv`; assert the exit code, nothing on stdout, one `error:` line on stderr."""
    got = run(argv)
    captured = capsys.readouterr()
    assert got == code, (argv, captured.err)
    assert captured.out == "", (argv, captured.out)
    lines = captured.err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, captured.err)
    assert "Traceback" not in captured.err
    return lines[0]


OPTION_OUT_OF_RANGE = [
    (["serve", "--port", "0"], "'--port'"),
    (["serve", "--port", "70000"], "'--port'"),
    (["serve", "--port", "http"], "'--port'"),
    (["serve", "--host", ""], "--host is empty"),
    (["tui", "--max-tokens", "0"], "'--max-tokens'"),
    (["daemon", "--max-tokens", "-5"], "'--max-tokens'"),
    (["dream", "--count", "-1"], "'--count'"),
    (["dream", "--once", "--seed", "abc"], "'--seed'"),
    (["dream", "--once", "--max-tokens", "0"], "'--max-tokens'"),
    (["search", "x", "--k", "0"], "'--k'"),
    (["search", "x", "--k", "1e9"], "'--k'"),
    (["dreams", "list", "--min-score", "nan"], "'--min-score'"),
    (["dreams", "list", "--limit", "-1"], "'--limit'"),
    (["dreams", "actionable", "--min-score", "inf"], "'--min-score'"),
    (["dreams", "export", "--min-score", "nan"], "--min-score must be a finite number"),
    (["dreams", "export", "-f", "pdf"], "--format 'pdf'"),
    (["dreams", "export", "--status", "done"], "'done' is not a dream status"),
    (["dreams", "verify"], "--pending"),
]


@pytest.mark.parametrize(("argv", "expected"), OPTION_OUT_OF_RANGE, ids=" ".join)
def test_options_out_of_range_are_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert expected in one_line(capsys, argv, 2)
    assert not (workdir / "data").exists(), "refused before any work"


@pytest.mark.parametrize("command", ["verify", "apply"])
@pytest.mark.parametrize(
    ("dream_id", "expected"),
    [("20250101-000000-00000000", "no dream 20250101-000000-00000000"), ("../x", "not a dream id")],
)
def test_verify_and_apply_of_an_unknown_or_unsafe_id_are_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str, dream_id: str, expected: str
) -> None:
    (workdir / "dreams").mkdir()
    assert expected in one_line(capsys, ["dreams", command, dream_id], 2)
    assert list((workdir / "dreams").iterdir()) == []


def test_export_to_a_directory_or_a_missing_directory_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    DreamStore(workdir / "dreams").save_new(make_dream(1))
    line = one_line(capsys, ["dreams", "export", "--output", str(workdir)], 2)
    assert "is a directory" in line
    missing = workdir / "nowhere" / "out.sarif"
    line = one_line(capsys, ["dreams", "export", "--output", str(missing)], 1)
    assert str(missing) in line and "No such file or directory" in line
    assert not missing.parent.exists()


def test_codebases_and_data_dirs_that_do_not_exist_are_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line(capsys, ["daemon", "--codebase", str(workdir / "nope")], 2)
    assert "nope: codebase path does not exist" in line
    line = one_line(capsys, ["tui", "--attach", str(workdir / "nowhere")], 2)
    assert "nowhere: no such DATA_DIR to attach to" in line
    assert not (workdir / "data").exists()


@pytest.mark.model
def test_dream_on_a_damaged_index_is_one_line_that_says_how_to_recover(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "records.py").write_text("def parse_record(raw):\n    return raw[0]\n")
    env = {
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": "1",
    }
    indexed = run_codedreamer("index", str(repo), env=env, cwd=tmp_path)
    assert indexed.returncode == 0, indexed.stderr
    for data in (tmp_path / "data" / "index" / "chunks.lance" / "data").glob("*.lance"):
        with data.open("r+b") as handle:
            handle.truncate(data.stat().st_size // 2)
        os.utime(data, (0, 0))  # old: not a file still being written
    result = run_codedreamer(
        "dream", "--once", "--codebase", str(repo), env=env, cwd=tmp_path, timeout=180
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "damaged" in lines[0] and "codedreamer index --clear" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "dreams").exists() or not list((tmp_path / "dreams").glob("*.md"))
