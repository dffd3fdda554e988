"""`graph backfill` on a real code index: real files, tree-sitter, LanceDB on disk.

Skipped only when the index package is not importable (it is built in parallel).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedreamer.cli.app import build_app
from codedreamer.memory.graph_store import load_graph
from codedreamer.memory.graph_types import EdgeKind, code_entity_id, code_file_id

indexer = pytest.importorskip("codedreamer.index.indexer")

DB = """\
class Database:
    def __init__(self, path):
        self.path = path

    def query(self, sql):
        return [sql]


def connect(path):
    return Database(path)
"""

APP = """\
from pkg.db import connect
import os


def run(path):
    db = connect(path)
    return db.query("select 1")


def run_again(path):
    db = connect(path)
    return db.query("select 1")
"""


def test_backfill_builds_code_nodes_and_edges_from_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codedreamer.config.settings import load_settings

    code = tmp_path / "code" / "pkg"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    (code / "db.py").write_text(DB)
    (code / "app.py").write_text(APP)
    for key in list(os.environ):
        if key.upper().startswith("DREAMER_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DREAMER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DREAMER_EXCLUDE_PATTERNS", "")
    settings = load_settings(env_file=None).settings
    indexer.index_codebase(tmp_path / "code", settings)

    runner = CliRunner()
    result = runner.invoke(
        build_app(), ["graph", "backfill", "--threshold", "0.5", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["sync"]["added"] >= 8 and report["unresolved_imports"] == 0
    assert report["edges_added"]["depends_on"] == 1
    assert report["edges_added"]["similar"] >= 1

    graph = load_graph(settings.graph_dir)
    run, again = code_entity_id("pkg/app.py", "run"), code_entity_id("pkg/app.py", "run_again")
    assert {run, again, code_entity_id("pkg/db.py", "Database.query")} <= set(graph.node_ids())
    deps = [e for e in graph.edges(code_file_id("pkg/app.py")) if e.kind is EdgeKind.DEPENDS_ON]
    assert [(e.src, e.dst) for e in deps] == [
        (code_file_id("pkg/app.py"), code_file_id("pkg/db.py"))
    ]
    similar = {frozenset((e.src, e.dst)) for e in graph.edges(run) if e.kind is EdgeKind.SIMILAR}
    assert frozenset((run, again)) in similar  # identical bodies

    # Delete a function, re-index, backfill again: its node and edges leave the graph.
    (code / "app.py").write_text(APP.split("\n\n\ndef run_again")[0] + "\n")
    indexer.index_codebase(tmp_path / "code", settings)
    again_result = runner.invoke(build_app(), ["graph", "backfill", "--json"])
    assert again_result.exit_code == 0, again_result.output
    assert json.loads(again_result.output)["sync"]["removed"] == 1
    graph = load_graph(settings.graph_dir)
    assert again not in graph
    assert all(again not in (e.src, e.dst) for e in graph.edges(run))
