"""`codedreamer graph ...` end to end: real files on disk, JSON output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedreamer.cli.app import build_app
from codedreamer.errors import UsageError
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_store import load_graph, save_graph
from codedreamer.memory.graph_types import CodeEntityInput, NodeInput, NodeKind, code_entity_id

DAY = 86400.0


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.upper().startswith("DREAMER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DREAMER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def graph_dir(workdir: Path) -> Path:
    return workdir / "data" / "graph"


def seed(workdir: Path) -> None:
    now = time.time()
    g = KnowledgeGraph()
    g.sync_code_entities(
        [
            CodeEntityInput("pkg/a.py", "function", "[red]load[/red]", 1, 9),
            CodeEntityInput("pkg/a.py", "function", "save", 11, 20),
        ],
        now=now - 3 * DAY,
    )
    g.add_dream("d1", about=[code_entity_id("pkg/a.py", "save")], label="cache it", now=now)
    g.upsert_node(NodeInput(id="fact:old", kind=NodeKind.FACT, momentum=0.9), now=now - 5 * DAY)
    save_graph(g, graph_dir(workdir))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), ["graph", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_stats_on_an_empty_data_dir_is_a_usage_error_like_search(workdir: Path) -> None:
    # As `search` without an index: nothing to read is exit 2 with how to make it.
    with pytest.raises(UsageError, match=r"no knowledge graph yet.*graph backfill"):
        run("stats", "--json")
    assert not graph_dir(workdir).exists()  # reading never creates files


def test_stats_hot_and_entangled_json(workdir: Path) -> None:
    seed(workdir)
    code, out = run("stats", "--json")
    stats = json.loads(out)
    assert code == 0 and stats["nodes"] == 5 and stats["nodes_by_kind"]["DREAM"] == 1
    assert stats["edges_by_kind"] == {
        "about": 1, "refines": 0, "same_file": 2, "similar": 0, "depends_on": 0,
    }  # fmt: skip
    code, out = run("hot", "--limit", "2", "--json")
    hot = json.loads(out)
    assert [n["id"] for n in hot] == ["dream:d1", code_entity_id("pkg/a.py", "save")]
    assert hot[0]["tier"] == "HOT"
    code, out = run("entangled", "--json", "--kind", "code", "-n", "1")
    assert [n["id"] for n in json.loads(out)] == [code_entity_id("pkg/a.py", "save")]


def test_tables_print_untrusted_labels_literally(workdir: Path) -> None:
    seed(workdir)
    code, out = run("entangled", "--limit", "10")
    assert code == 0
    assert "[red]load[/red]" in out  # shown as text, not swallowed as markup
    code, out = run("stats")
    assert code == 0 and "mean entanglement" in out


def test_bad_kind_is_a_usage_error(workdir: Path) -> None:
    with pytest.raises(UsageError, match="unknown node kind 'robot'"):
        run("hot", "--kind", "robot")


def test_decay_and_prune_persist(workdir: Path) -> None:
    seed(workdir)
    before = load_graph(graph_dir(workdir))
    code, out = run("decay", "--json")
    assert code == 0 and json.loads(out)["decayed"] == 5
    after = load_graph(graph_dir(workdir))
    fact = after.node("fact:old")
    assert fact is not None and fact.momentum < 0.9 * 0.1  # five half-lives later
    assert after.snapshot_token != before.snapshot_token

    code, out = run("prune", "--json")
    assert code == 0 and json.loads(out) == {"removed_nodes": 1, "removed_edges": 0}
    assert "fact:old" not in load_graph(graph_dir(workdir))
    code, out = run("prune", "--include-code", "--json")
    # Three days took CODE from 0.5 to 0.0625; `save` was activated by the dream (0.53),
    # so the file node and `load` go, with their two same_file edges.
    assert json.loads(out) == {"removed_nodes": 2, "removed_edges": 2}
    code, out = run("prune")
    assert code == 0 and out.startswith("Pruned 0 nodes")


def test_backfill_without_an_index_links_what_the_graph_knows(workdir: Path) -> None:
    g = KnowledgeGraph()
    g.upsert_nodes(
        [
            NodeInput(id="code:x.py::f", kind=NodeKind.CODE, label="f", detail="function",
                      path="x.py", start_line=1, end_line=5),
            NodeInput(id="dream:d", kind=NodeKind.DREAM, path="x.py", start_line=2, end_line=3),
        ]
    )  # fmt: skip
    save_graph(g, graph_dir(workdir))
    code, out = run("backfill", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["edges_added"] == {"same_file": 1, "about": 1}
    assert any("no code index" in note for note in report["notes"])
    assert load_graph(graph_dir(workdir)).edge_count == 2


def test_corrupt_graph_is_one_line_exit_1_and_the_file_is_kept(workdir: Path) -> None:
    seed(workdir)
    nodes = graph_dir(workdir) / "nodes.arrow"
    nodes.write_bytes(b"\x00garbage")
    result = subprocess.run(
        [sys.executable, "-m", "codedreamer", "graph", "prune"],
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nodes.arrow" in lines[0] and "corrupt" in lines[0]
    assert "Traceback" not in result.stderr
    assert nodes.read_bytes() == b"\x00garbage"
