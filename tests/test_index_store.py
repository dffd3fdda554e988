"""The LanceDB store on disk: search, replacement, metadata, maintenance, readers."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from test_index_indexer import _age, _write, make_settings

from codedreamer.errors import CodeIndexError
from codedreamer.index.embedder import LexicalEmbedder
from codedreamer.index.indexer import index_codebase, open_index
from codedreamer.index.store import IndexStore

LANGS = Path(__file__).parent / "fixtures" / "index" / "langs"


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, IndexStore]:
    root = tmp_path / "repo"
    for path in LANGS.iterdir():
        _age(_write(root, f"langs/{path.name}", path.read_text()))
    _age(
        _write(
            root,
            "net/http_client.py",
            "from .codec import decode_body\n\n\n"
            "def parseHTTPResponse(raw):\n    return decode_body(raw)\n\n\n"
            "def unused_helper():\n    return 0\n",
        )
    )
    _age(_write(root, "net/codec.py", "def decode_body(raw):\n    return raw.decode()\n"))
    _age(_write(root, "net/__init__.py", ""))
    _age(
        _write(root, "app.py", "import net.http_client\n\nnet.http_client.parseHTTPResponse(b'')\n")
    )
    settings = make_settings(tmp_path)
    index_codebase(root, settings)
    return root, open_index(settings)


def test_hybrid_search_finds_split_identifiers_from_plain_words(
    indexed: tuple[Path, IndexStore],
) -> None:
    _, store = indexed
    for mode in ("hybrid", "text", "vector"):
        hits = store.search("http response", k=5, mode=mode)  # type: ignore[arg-type]
        symbols = {hit.chunk.symbol for hit in hits}
        assert "parseHTTPResponse" in symbols, mode
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    best = store.search("parse http response", k=1)[0].chunk
    assert best.symbol in {"parseHTTPResponse", "parse_http_response"}
    assert store.search("", k=5) == []
    assert store.search("!!!", k=5, mode="text") == []


def test_definitions_references_and_dead_code(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    defs = store.definitions("parseHTTPResponse")
    assert {d.path for d in defs} >= {"net/http_client.py", "langs/sample.py", "langs/sample.js"}
    assert all(d.symbol == "parseHTTPResponse" for d in defs)
    assert store.definitions("ResponseParser.parseHTTPResponse")
    refs = store.references("decode_body")
    assert {(r.path, r.line) for r in refs} == {
        ("net/http_client.py", 1),
        ("net/http_client.py", 5),
    }
    unused = {(e.path, e.qualified_name) for e in store.unreferenced_definitions()}
    assert ("net/http_client.py", "unused_helper") in unused
    assert ("net/codec.py", "decode_body") not in unused


def test_code_entities_and_imports(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    entities = {(e.path, e.kind, e.qualified_name): e for e in store.code_entities()}
    assert ("app.py", "file", "app.py") in entities
    cls = entities[("langs/sample.py", "class", "ResponseParser")]
    method = entities[("langs/sample.py", "method", "ResponseParser.parseHTTPResponse")]
    assert cls.start_line <= method.start_line <= method.end_line <= cls.end_line
    imports = store.file_imports()
    assert imports["net/http_client.py"] == ["net/codec.py"]
    assert imports["app.py"] == ["net/http_client.py"]
    assert imports["langs/sample.js"] == []  # ./util.js is not in the index


def test_random_chunks_and_vectors(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    sample = store.random_chunks(10, random.Random(7))
    assert len(sample) == 10 and len({c.id for c in sample}) == 10
    assert store.random_chunks(10, random.Random(7)) != store.random_chunks(10, random.Random(8))
    assert len(store.random_chunks(10_000, random.Random(1))) == store.count()
    ids, vectors = store.chunk_vectors()
    assert len(ids) == store.count() == vectors.shape[0]
    assert vectors.shape[1] == store.embedder.dim
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    locations = store.chunk_locations()
    assert set(locations) == set(ids)


def test_file_replacement_is_one_commit_and_paths_with_quotes_work(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    path = _write(root, "it's here.py", "def a():\n    pass\n\n\ndef b():\n    pass\n")
    _age(path)
    settings = make_settings(tmp_path)
    store = open_index(settings)
    index_codebase(root, settings, store=store)
    assert [c.symbol for c in store.chunks_for_path("it's here.py")] == ["a", "b"]
    before = store._chunks.version
    path.write_text("def c():\n    pass\n")
    _age(path, 5)
    index_codebase(root, settings, store=store)
    assert [c.symbol for c in store.chunks_for_path("it's here.py")] == ["c"]
    # chunks: one merge_insert; maintain() may add index versions but no delete+add pair.
    assert store._chunks.version - before <= 2


def test_maintenance_compacts_versions(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    settings = make_settings(tmp_path)
    store = open_index(settings)
    for i in range(15):
        _age(_write(root, f"f{i}.py", f"def f{i}():\n    return {i}\n"), 5)
        index_codebase(root, settings, store=store)
    grown = store.version_count()
    assert grown > 30
    with pytest.warns(UserWarning, match="removes every version"):
        assert store.maintain(force=True, cleanup_older_than=timedelta(0))
    assert store.version_count() <= 6
    assert store.count() == 15
    assert store.search("f7", k=1, mode="text")[0].chunk.symbol == "f7"


def test_changing_the_embedder_rebuilds_and_read_only_refuses(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _age(_write(root, "a.py", "def a():\n    pass\n"))
    settings = make_settings(tmp_path)
    index_codebase(root, settings)
    with pytest.raises(CodeIndexError, match="built with embedder lexical-hash-v1-d256"):
        IndexStore.open(settings.index_dir, LexicalEmbedder(dim=64), read_only=True)
    rebuilt = IndexStore.open(settings.index_dir, LexicalEmbedder(dim=64))
    assert rebuilt.count() == 0 and rebuilt.manifest() == {}
    report = index_codebase(root, settings, store=rebuilt)
    assert report.files_indexed == 1
    assert rebuilt.chunk_vectors()[1].shape == (1, 64)
    assert rebuilt._chunks.schema.metadata[b"codedreamer.embedder"] == b"lexical-hash-v1-d64"


def test_index_path_that_is_a_file_is_one_clear_error(tmp_path: Path) -> None:
    blocker = _write(tmp_path, "index", "not a directory")
    with pytest.raises(CodeIndexError, match="not a directory"):
        IndexStore.open(blocker, LexicalEmbedder())


WRITER = """
import sys
from pathlib import Path
from codedreamer.config.settings import load_settings
from codedreamer.index.indexer import index_codebase
settings = load_settings({"data_dir": sys.argv[2]}, env_file=None, environ={}).settings
index_codebase(Path(sys.argv[1]), settings, workers=1)
"""


def test_reader_in_another_process_sees_new_commits(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _age(_write(root, "a.py", "def a():\n    pass\n"))
    settings = make_settings(tmp_path)
    index_codebase(root, settings)
    reader = IndexStore.open(
        settings.index_dir, LexicalEmbedder(), read_consistency_interval=0, read_only=True
    )
    stale = IndexStore.open(settings.index_dir, LexicalEmbedder(), read_only=True)
    assert reader.count() == stale.count() == 1
    _age(_write(root, "b.py", "def b():\n    pass\n"), 5)
    script = _write(tmp_path, "writer.py", WRITER)
    subprocess.run([sys.executable, str(script), str(root), str(tmp_path / "data")], check=True)
    deadline = time.monotonic() + 5
    while reader.count() != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader.count() == 2
    assert stale.count() == 1  # no consistency interval: a reader keeps its snapshot
