"""Arrow persistence: round trip, atomic writes, and every kind of corrupt file kept untouched."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from codedreamer.errors import GraphError
from codedreamer.memory import graph_store
from codedreamer.memory.graph import KnowledgeGraph
from codedreamer.memory.graph_store import load_graph, save_graph
from codedreamer.memory.graph_types import (
    CodeEntityInput,
    EdgeKind,
    NodeInput,
    NodeKind,
    code_entity_id,
)


def sample_graph() -> KnowledgeGraph:
    g = KnowledgeGraph(half_life_sec=3600.0)
    g.sync_code_entities(
        [
            CodeEntityInput("src/app.py", "function", "main", 1, 20),
            CodeEntityInput("src/app.py", "class", "App", 22, 80),
            CodeEntityInput("src/util.py", "function", "parse", 1, 9),
            CodeEntityInput("src/ünïcode name.py", "function", "[bold]x[/bold]", 3, 4),
        ],
        now=1000.0,
    )
    g.set_dependencies({"src/app.py": ["src/util.py"]})
    g.add_dream("d1", about=[code_entity_id("src/app.py", "main")], label="speed up", now=1500.0)
    g.upsert_node(NodeInput(id="fact:1", kind=NodeKind.FACT, label="uses sqlite", momentum=0.3))
    g.add_edge("fact:1", "dream:d1", EdgeKind.ABOUT, 0.4)
    g.backfill_similar(
        [code_entity_id("src/app.py", "main"), code_entity_id("src/util.py", "parse")],
        np.array([[1.0, 0.0], [0.9, 0.1]]),
        k=1,
        threshold=0.5,
    )
    # Remove something so rustworkx has holes in its indices when saving.
    g.remove_nodes([code_entity_id("src/app.py", "App")])
    return g


def snapshot(g: KnowledgeGraph, now: float = 5000.0) -> tuple[object, ...]:
    nodes = sorted(g.nodes(g.node_ids(), now=now), key=lambda n: n.id)
    edges = sorted(
        (e for n in g.node_ids() for e in g.edges(n)), key=lambda e: (e.src, e.dst, e.kind)
    )
    return tuple(nodes), tuple(dict.fromkeys(edges))


def test_round_trip_keeps_every_node_edge_and_momentum(tmp_path: Path) -> None:
    g = sample_graph()
    save_graph(g, tmp_path)
    loaded = load_graph(tmp_path, half_life_sec=3600.0)
    assert snapshot(loaded) == snapshot(g)
    assert loaded.stats(now=5000) == g.stats(now=5000)
    # The loaded graph keeps working: new nodes, dedup against loaded edges, save again.
    assert loaded.add_edge("fact:1", "dream:d1", EdgeKind.ABOUT) is False
    loaded.upsert_node(NodeInput(id="concept:x", kind=NodeKind.CONCEPT))
    save_graph(loaded, tmp_path)
    assert "concept:x" in load_graph(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".graph.lock",
        "edges.arrow",
        "nodes.arrow",
    ]


def test_missing_directory_loads_as_empty_graph(tmp_path: Path) -> None:
    g = load_graph(tmp_path / "nothing-here")
    assert len(g) == 0 and g.edge_count == 0


def test_empty_graph_round_trips(tmp_path: Path) -> None:
    save_graph(KnowledgeGraph(), tmp_path)
    g = load_graph(tmp_path)
    assert len(g) == 0 and g.edge_count == 0


def _corrupt_and_check(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    save_graph(sample_graph(), tmp_path, overwrite_changes=True)
    target = tmp_path / name
    target.write_bytes(data)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(GraphError, match=message) as info:
        load_graph(tmp_path)
    assert str(target) in str(info.value)
    assert "\n" not in str(info.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("name", ["nodes.arrow", "edges.arrow"])
def test_garbage_file_is_a_clear_error_and_kept(tmp_path: Path, name: str) -> None:
    _corrupt_and_check(tmp_path, name, b"{'not': 'arrow'}" * 10, "corrupt graph file")


@pytest.mark.parametrize("name", ["nodes.arrow", "edges.arrow"])
def test_truncated_file_is_a_clear_error_and_kept(tmp_path: Path, name: str) -> None:
    save_graph(sample_graph(), tmp_path)
    data = (tmp_path / name).read_bytes()
    _corrupt_and_check(tmp_path, name, data[: len(data) // 2], "corrupt graph file")


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    _corrupt_and_check(tmp_path, "nodes.arrow", b"", "corrupt graph file")


def _rewrite(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read(path: Path) -> pa.Table:
    return pa.ipc.open_file(pa.BufferReader(path.read_bytes())).read_all()


def _tamper(tmp_path: Path, name: str, column: str, values: pa.Array) -> None:
    save_graph(sample_graph(), tmp_path)
    path = tmp_path / name
    table = _read(path)
    index = table.schema.get_field_index(column)
    table = table.set_column(index, table.schema.field(index), values)
    _rewrite(path, table)


def test_momentum_out_of_range_is_rejected(tmp_path: Path) -> None:
    _tamper(tmp_path, "nodes.arrow", "momentum", pa.array([1.5] + [0.5] * 7, pa.float64()))
    with pytest.raises(GraphError, match=r"momentum 1.5 .* outside \[0, 1\]"):
        load_graph(tmp_path)


def test_nan_momentum_is_rejected(tmp_path: Path) -> None:
    _tamper(tmp_path, "nodes.arrow", "momentum", pa.array([float("nan")] * 8, pa.float64()))
    with pytest.raises(GraphError, match="outside"):
        load_graph(tmp_path)


def test_duplicate_node_ids_are_rejected(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    table = _read(tmp_path / "nodes.arrow")
    ids = table.column("id").to_pylist()
    ids[1] = ids[0]
    _tamper_keep_edges(tmp_path, table, "id", pa.array(ids, pa.string()))
    with pytest.raises(GraphError, match="duplicate node id"):
        load_graph(tmp_path)


def _tamper_keep_edges(tmp_path: Path, table: pa.Table, column: str, values: pa.Array) -> None:
    index = table.schema.get_field_index(column)
    _rewrite(tmp_path / "nodes.arrow", table.set_column(index, table.schema.field(index), values))


def test_edge_to_unknown_node_is_rejected(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    edges = _read(tmp_path / "edges.arrow")
    src = edges.column("src").combine_chunks()
    renamed = src.dictionary.to_pylist()
    renamed[int(src.indices[0].as_py())] = "code:deleted.py"
    tampered = pa.DictionaryArray.from_arrays(src.indices, pa.array(renamed, pa.string()))
    _rewrite(tmp_path / "edges.arrow", edges.set_column(0, edges.schema.field(0), tampered))
    with pytest.raises(GraphError, match=r"unknown node id 'code:deleted\.py'"):
        load_graph(tmp_path)


def test_duplicate_edge_is_rejected(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    edges = _read(tmp_path / "edges.arrow")
    doubled = pa.concat_tables([edges, edges.slice(0, 1)])
    _rewrite(tmp_path / "edges.arrow", doubled)
    with pytest.raises(GraphError, match="same edge appears twice"):
        load_graph(tmp_path)


def test_unknown_edge_kind_is_rejected(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    edges = _read(tmp_path / "edges.arrow")
    kind = edges.column("kind").combine_chunks()
    labels = kind.dictionary.to_pylist()
    labels[int(kind.indices[0].as_py())] = "teleports_to"
    tampered = pa.DictionaryArray.from_arrays(kind.indices, pa.array(labels, pa.string()))
    _rewrite(tmp_path / "edges.arrow", edges.set_column(2, edges.schema.field(2), tampered))
    with pytest.raises(GraphError, match="unknown edge kind 'teleports_to'"):
        load_graph(tmp_path)


def test_wrong_schema_version_and_missing_column_are_rejected(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    path = tmp_path / "nodes.arrow"
    table = _read(path)
    meta = dict(table.schema.metadata)
    meta[graph_store.META_SCHEMA] = b"99"
    _rewrite(path, table.replace_schema_metadata(meta))
    with pytest.raises(GraphError, match="schema version '99'"):
        load_graph(tmp_path)
    _rewrite(path, table.drop_columns(["momentum"]))
    with pytest.raises(GraphError, match="column 'momentum' is missing"):
        load_graph(tmp_path)


def test_files_from_different_saves_are_rejected(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    save_graph(sample_graph(), first)
    save_graph(sample_graph(), second)
    os.replace(second / "edges.arrow", first / "edges.arrow")
    with pytest.raises(GraphError, match="different save"):
        load_graph(first)


def test_a_save_between_the_two_reads_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_graph(sample_graph(), tmp_path)
    stale_nodes = (tmp_path / "nodes.arrow").read_bytes()
    real_read = graph_store._read_table
    reads: list[Path] = []

    def racing_read(path: Path) -> pa.Table:
        reads.append(path)
        if len(reads) == 1:  # the first nodes read sees the previous save
            return pa.ipc.open_file(pa.BufferReader(stale_nodes)).read_all()
        return real_read(path)

    graph = load_graph(tmp_path)  # consistent: nothing to retry yet
    other = load_graph(tmp_path)
    other.upsert_node(NodeInput(id="fact:later", kind=NodeKind.FACT))
    save_graph(other, tmp_path)
    monkeypatch.setattr(graph_store, "_read_table", racing_read)
    reloaded = load_graph(tmp_path)
    assert len(reads) == 4 and "fact:later" in reloaded and "fact:later" not in graph


def test_a_lone_file_is_an_error_not_an_empty_graph(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    (tmp_path / "edges.arrow").unlink()
    with pytest.raises(GraphError, match=r"edges\.arrow: missing"):
        load_graph(tmp_path)
    assert (tmp_path / "nodes.arrow").exists()


def test_save_refuses_to_overwrite_a_corrupt_file(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    (tmp_path / "nodes.arrow").write_bytes(b"junk")
    with pytest.raises(GraphError, match="not overwritten"):
        save_graph(KnowledgeGraph(), tmp_path)
    assert (tmp_path / "nodes.arrow").read_bytes() == b"junk"


def test_save_detects_a_concurrent_save(tmp_path: Path) -> None:
    save_graph(sample_graph(), tmp_path)
    mine, theirs = load_graph(tmp_path), load_graph(tmp_path)
    theirs.upsert_node(NodeInput(id="fact:theirs", kind=NodeKind.FACT))
    save_graph(theirs, tmp_path)
    mine.upsert_node(NodeInput(id="fact:mine", kind=NodeKind.FACT))
    with pytest.raises(GraphError, match="changed on disk"):
        save_graph(mine, tmp_path)
    assert "fact:theirs" in load_graph(tmp_path)
    save_graph(mine, tmp_path, overwrite_changes=True)
    assert "fact:mine" in load_graph(tmp_path)


def test_a_failed_write_leaves_the_old_files_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = sample_graph()
    save_graph(g, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_replace = os.replace
    calls = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(graph_store.os, "replace", failing_replace)
    g.upsert_node(NodeInput(id="fact:new", kind=NodeKind.FACT))
    with pytest.raises(GraphError, match="cannot write the graph"):
        save_graph(g, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert "fact:new" not in load_graph(tmp_path)


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GraphError, match="cannot create the graph directory"):
        save_graph(KnowledgeGraph(), blocker / "graph")
