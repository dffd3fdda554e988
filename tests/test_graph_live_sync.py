"""A live edit re-syncs only the edited file's graph nodes and edges (real index on disk)."""

from __future__ import annotations

from pathlib import Path

from codedreamer.config.settings import load_settings
from codedreamer.index.indexer import Indexer, open_index
from codedreamer.memory.code_sync import backfill_from_index, chunk_locations, sync_changed_paths
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_types import EdgeKind, code_entity_id, code_file_id

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


def run(path):
    db = connect(path)
    return db.query("select 1")
"""

REPORT = """\
def report(rows):
    return len(rows)
"""


def test_an_edit_changes_only_that_files_nodes_and_finds_new_neighbours(tmp_path: Path) -> None:
    code = tmp_path / "code"
    pkg = code / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "db.py").write_text(DB)
    (pkg / "app.py").write_text(APP)
    (pkg / "report.py").write_text(REPORT)
    settings = load_settings(
        env_file=None,
        environ={"DREAMER_DATA_DIR": str(tmp_path / "data"), "DREAMER_EXCLUDE_PATTERNS": ""},
    ).settings
    store = open_index(settings)
    try:
        indexer = Indexer(code, settings, store)
        indexer.run()
        graph = KnowledgeGraph()
        backfill_from_index(graph, store, chunk_keys=chunk_locations(store), threshold=0.5)
        untouched = {n for n in graph.node_ids() if "pkg/db.py" in n}
        before_db = {n.id: (n.start_line, n.end_line) for n in graph.nodes(untouched)}

        # Replace run with a twin of connect-and-query plus a new function; drop nothing else.
        (pkg / "app.py").write_text(
            APP.replace("def run(", "def run_all(")
            + '\n\ndef run_again(path):\n    db = connect(path)\n    return db.query("select 1")\n'
        )
        report = indexer.update_paths([pkg / "app.py"], maintain=False)
        assert report.changed_paths == ("pkg/app.py",)
        sync = sync_changed_paths(graph, store, report.changed_paths, threshold=0.5)
    finally:
        store.close()

    run_all = code_entity_id("pkg/app.py", "run_all")
    again = code_entity_id("pkg/app.py", "run_again")
    assert code_entity_id("pkg/app.py", "run") not in graph
    assert {run_all, again} <= set(graph.node_ids())
    assert sync.sync.removed == 1 and sync.sync.added == 2
    # Nodes of the file nobody edited are as they were.
    assert {n.id: (n.start_line, n.end_line) for n in graph.nodes(untouched)} == before_db
    # The new twins are each other's `similar` neighbours, found by vector search.
    similar = {frozenset((e.src, e.dst)) for e in graph.edges(again) if e.kind is EdgeKind.SIMILAR}
    assert frozenset((again, run_all)) in similar
    deps = [e for e in graph.edges(code_file_id("pkg/app.py")) if e.kind is EdgeKind.DEPENDS_ON]
    assert [e.dst for e in deps] == [code_file_id("pkg/db.py")]


def test_a_deleted_file_leaves_the_graph(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "a.py").write_text(DB)
    (code / "b.py").write_text(REPORT)
    settings = load_settings(
        env_file=None, environ={"DREAMER_DATA_DIR": str(tmp_path / "data")}
    ).settings
    store = open_index(settings)
    try:
        indexer = Indexer(code, settings, store)
        indexer.run()
        graph = KnowledgeGraph()
        backfill_from_index(graph, store, chunk_keys=chunk_locations(store))
        (code / "b.py").unlink()
        report = indexer.update_paths([code / "b.py"], maintain=False)
        sync_changed_paths(graph, store, report.changed_paths)
    finally:
        store.close()
    assert not any("b.py" in n for n in graph.node_ids())
    assert code_file_id("a.py") in graph


def test_the_engine_links_similar_code_after_the_first_cycle_not_before(tmp_path: Path) -> None:
    from codedreamer.engine.engine import Engine
    from codedreamer.memory.graph_store import load_graph

    code = tmp_path / "code"
    code.mkdir()
    twin = (
        "def {name}(path):\n"
        "    database_connection = connect_database(path, timeout=30, retries=3)\n"
        "    cursor = database_connection.cursor()\n"
        "    rows = cursor.execute('select customer_id, order_total from orders').fetchall()\n"
        "    totals = [order_total for customer_id, order_total in rows]\n"
        "    database_connection.close()\n"
        "    return sum(totals) / max(1, len(totals))\n"
    )
    (code / "a.py").write_text(twin.format(name="run") + "\n\n" + twin.format(name="run_again"))
    settings = load_settings(
        env_file=None, environ={"DREAMER_DATA_DIR": str(tmp_path / "data")}
    ).settings
    engine = Engine(settings, code, lambda event: None)
    try:
        engine.ensure_index()
        before = load_graph(settings.graph_dir)
        assert code_entity_id("a.py", "run") in before  # CODE nodes are there at once
        assert not [
            e for e in before.edges(code_entity_id("a.py", "run")) if e.kind is EdgeKind.SIMILAR
        ]
        assert engine.maintain_graph() is True
        assert engine.maintain_graph() is False  # nothing left to do
    finally:
        engine.close()
    after = load_graph(settings.graph_dir)
    similar = {
        frozenset((e.src, e.dst))
        for e in after.edges(code_entity_id("a.py", "run"))
        if e.kind is EdgeKind.SIMILAR
    }
    assert (
        frozenset((code_entity_id("a.py", "run"), code_entity_id("a.py", "run_again"))) in similar
    )
