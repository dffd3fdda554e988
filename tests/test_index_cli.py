"""`codedreamer index` and `codedreamer search` run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_index_indexer import _write


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DREAMER_")}
    return subprocess.run(
        [sys.executable, "-m", "codedreamer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def test_index_then_search_json(tmp_path: Path) -> None:
    _write(tmp_path, "repo/net.py", "def parseHTTPResponse(raw):\n    return raw\n")
    _write(tmp_path, "repo/.env", "TOKEN=secret\n")
    first = _run(["index", "repo", "--json"], tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["files_indexed"], report["chunks_total"]) == (1, 1)
    assert report["skipped"] == {"secret": 1}
    found = _run(["search", "http response", "--json", "--k", "3"], tmp_path)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits[0]["path"] == "net.py" and hits[0]["qualified_name"] == "parseHTTPResponse"


def test_index_table_output_and_skips(tmp_path: Path) -> None:
    _write(tmp_path, "repo/[bold]odd[/bold].py", "def f():\n    return 1\n")
    (tmp_path / "repo" / "blob.py").write_bytes(b"\x00\x01\x02")
    result = _run(["index", "repo"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "files indexed (new or changed)" in result.stdout
    assert "binary" in result.stdout
    search = _run(["search", "f"], tmp_path)
    assert "[bold]odd[/bold].py" in search.stdout  # file names are not read as markup


def test_bad_paths_are_one_line_exit_2(tmp_path: Path) -> None:
    missing = _run(["index", "nope"], tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: nope: no such directory"
    _write(tmp_path, "file.py", "x = 1\n")
    not_dir = _run(["index", "file.py"], tmp_path)
    assert not_dir.returncode == 2
    assert not_dir.stderr.strip() == "error: file.py: not a directory"
    no_index = _run(["search", "anything"], tmp_path)
    assert no_index.returncode == 2 and "run `codedreamer index` first" in no_index.stderr
    bad_mode = _run(["search", "x", "--mode", "fuzzy"], tmp_path)
    assert bad_mode.returncode == 2 and "--mode" in bad_mode.stderr


# ESC ] 0 ; ... BEL retitles a terminal window; RLO reverses what follows; CR overwrites
# the line; the brackets are Rich markup. None of them may act on the user's terminal.
HOSTILE = "e\x1b]0;PWNED\x07vil\u202e[bold]x[/bold]\rz"
RAW = ("\x1b]0;PWNED", "\x07", "\u202e", "[bold]x[/bold]\r")


def _no_raw(text: str) -> None:
    for raw in RAW:
        assert raw not in text, repr(raw)


def test_hostile_file_names_are_shown_escaped_never_raw(tmp_path: Path) -> None:
    _write(tmp_path, f"repo/{HOSTILE}.py", "def grab_cookie_jar():\n    return 1\n")
    _write(tmp_path, "repo/plain.py", "def other():\n    return 2\n")
    env_extra = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "200"}
    indexed = _run_env(["index", "repo"], tmp_path, env_extra)
    assert indexed.returncode == 0, indexed.stderr
    _no_raw(indexed.stdout + indexed.stderr)
    found = _run_env(["search", "grab cookie jar"], tmp_path, env_extra)
    assert found.returncode == 0, found.stderr
    _no_raw(found.stdout + found.stderr)
    assert "e\\x1b]0;PWNED\\x07vil\\u202e[bold]x[/bold]\\x0dz.py" in found.stdout.replace(
        "\n", ""
    ).replace(" ", "").replace("│", "")
    missing = _run(["index", f"nowhere-{HOSTILE}"], tmp_path)
    assert missing.returncode == 2
    _no_raw(missing.stderr)
    assert missing.stderr.count("\n") == 1 and "\\x1b]0;PWNED" in missing.stderr


def _run_env(args: list[str], cwd: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DREAMER_")}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "codedreamer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
