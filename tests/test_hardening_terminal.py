"""Untrusted text never reaches the terminal raw: file names, labels, errors, model tokens.

A file named `\\x1b]0;pwned\\x07.py` or a model answer with a bidi override used to reach
the terminal as is from `graph hot`, the error line of `main()`, `config` and the dream
console. Each must show the characters as visible escapes and Rich markup as literal text.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from cli_runner import run_codedreamer
from rich.console import Console

from codedreamer.cli.app import run
from codedreamer.engine.console import ConsolePrinter
from codedreamer.events import (
    ChunkSelected,
    DreamRejected,
    DreamSaved,
    EngineError,
    ModelLoaded,
    Notice,
    StageFinished,
    StageStarted,
    TokenStreamed,
)
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_store import save_graph
from codedreamer.memory.graph_types import CodeEntityInput
from codedreamer.storage.dream import Dream, new_dream_id
from codedreamer.storage.store import DreamStore

# ESC sequences (colour, window title), BEL, CR, a bidi override, and Rich markup.
NASTY = "a\x1b[31mred\x1b]0;pwned\x07\rcr\u202eflip[bold]b[/]"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def assert_neutralised(text: str) -> None:
    """No raw control character; the escapes and the markup show as literal text."""
    assert UNSAFE.search(text) is None, ascii(text)
    for visible in ("\\x1b[31mred", "\\x07", "\\x0d", "\\u202e", "[bold]b[/]"):
        assert visible in text, (visible, text)


@pytest.fixture
def workdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "400")  # long escaped names stay on one line
    return workdir


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- the dream console


def test_console_printer_neutralises_tokens_paths_labels_and_errors() -> None:
    out = io.StringIO()
    printer = ConsolePrinter(Console(file=out, width=400, color_system=None, highlight=False))
    events = [
        ModelLoaded(role="reasoning", model_name=NASTY, seconds=0.5),
        ChunkSelected(path=f"{NASTY}.py", start_line=1, end_line=2, symbol=NASTY, reason=NASTY),
        StageStarted(stage="think", model_name=NASTY),
        TokenStreamed(stage="think", text=NASTY),
        TokenStreamed(stage="think", text="\x1b"),
        TokenStreamed(stage="think", text="[2J\nnext line\tkept\n"),
        StageFinished(stage="think", completion_tokens=3, finish_reason=NASTY),
        DreamSaved(dream_id=NASTY, path=f"dreams/{NASTY}.md", title=NASTY, novelty=0.5),
        DreamRejected(reason=NASTY, detail=NASTY),
        EngineError(message=NASTY),
        Notice(message=NASTY),
    ]
    for event in events:
        printer(event)
    text = out.getvalue()
    assert_neutralised(text)
    # A sequence split across tokens stays split and visible; newline and tab survive.
    assert "\\x1b[2J\nnext line\tkept\n" in text
    for line in text.splitlines():
        if "error:" in line or "rejected" in line or "code " in line:
            assert_neutralised(line)


# ---------------------------------------------------------------- commands


def seed_nasty_graph(directory: Path) -> None:
    graph = KnowledgeGraph()
    graph.sync_code_entities(
        [CodeEntityInput(f"pkg/{NASTY}.py", "function", NASTY, 1, 9)], now=time.time()
    )
    save_graph(graph, directory)


@pytest.mark.parametrize("command", ["hot", "entangled"])
def test_graph_listings_neutralise_labels_and_paths(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    seed_nasty_graph(workdir / "data" / "graph")
    code, out, _ = cli(capsys, "graph", command, "--limit", "5")
    assert code == 0
    assert_neutralised(out)


def test_graph_listing_from_the_real_entry_point(workdir: Path) -> None:
    seed_nasty_graph(workdir / "data" / "graph")
    result = run_codedreamer(
        "graph", "hot", env={"DREAMER_DATA_DIR": str(workdir / "data"), "COLUMNS": "400"},
        cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_neutralised(result.stdout)


def test_error_lines_neutralise_the_paths_they_echo(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(capsys, "index", str(workdir / NASTY))
    assert code == 2 and err.count("\n") == 1
    assert_neutralised(err)
    monkeypatch.setenv("DREAMER_DATA_DIR", str(workdir / NASTY))
    code, _, err = cli(capsys, "graph", "stats")
    assert code == 2 and err.count("\n") == 1
    assert_neutralised(err)


def test_error_line_from_the_real_entry_point(tmp_path: Path) -> None:
    result = run_codedreamer("--env-file", NASTY, "config", env={}, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert_neutralised(result.stderr)


def test_config_table_neutralises_values(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DREAMER_DREAMS_DIR", NASTY)
    code, out, _ = cli(capsys, "config")
    assert code == 0
    assert_neutralised(out)
    code, out, _ = cli(capsys, "config", "--json")  # JSON escapes control characters itself
    assert code == 0 and json.loads(out)["DREAMER_DREAMS_DIR"]["value"] == NASTY


def test_briefing_neutralises_titles_paths_and_insights(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    DreamStore(workdir / "dreams").save_new(
        Dream(
            id=new_dream_id(now),
            created=now,
            category="bugs",
            source_path=f"{NASTY}.py",
            line_start=1,
            line_end=2,
            title=NASTY,
            language="python",
            insight=f"{NASTY}\nsecond line {NASTY}",
        )
    )
    code, out, _ = cli(capsys, "briefing")
    assert code == 0 and "second line" in out
    assert_neutralised(out)
