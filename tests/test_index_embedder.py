"""Embedders: the lexical default (pure logic, across processes) and the real GGUF model."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_index_indexer import make_settings

from codedreamer.index.embedder import GgufEmbedder, LexicalEmbedder, build_embedder


def test_lexical_vectors_are_unit_length_and_deterministic_across_processes() -> None:
    texts = ["def parseHTTPResponse(raw): return raw", "class Queue:\n    def put(self): ..."]
    vectors = LexicalEmbedder().embed(texts)
    assert vectors.shape == (2, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    code = (
        "import sys, json; from codedreamer.index.embedder import LexicalEmbedder;"
        f"print(json.dumps(LexicalEmbedder().embed({texts!r}).tolist()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert np.array_equal(
        np.asarray(__import__("json").loads(out.stdout), dtype=np.float32), vectors
    )
    clone = pickle.loads(pickle.dumps(LexicalEmbedder(dim=64)))
    assert clone.model_id == "lexical-hash-v1-d64"


def test_lexical_batch_vectors_equal_one_chunk_at_a_time() -> None:
    names = [
        {"parseHTTPResponse": 2, "raw": 1},
        {},
        {"sort_queue": 1, "items": 3, "raw": 1},
        {"the": 1},  # a stop word only: nothing left to hash
    ]
    extra = [["http", "client"], ["empty", "http", "http"], [], []]
    batch = LexicalEmbedder().embed_counts(names, extra)
    single = LexicalEmbedder()  # one vocabulary growing across calls, like a worker's
    rows = [single.embed_counts([n], [e])[0] for n, e in zip(names, extra, strict=True)]
    assert np.array_equal(batch, np.stack(rows))
    assert not np.any(batch[3])
    # Extra terms count like identifiers seen once; repeats add up.
    only_extra = LexicalEmbedder().embed_counts([{}], [["http"]])
    assert np.array_equal(only_extra, LexicalEmbedder().embed_counts([{"http": 1}], [[]]))


def test_lexical_similarity_follows_shared_words() -> None:
    embedder = LexicalEmbedder()
    query = embedder.embed_query("http response")
    related, unrelated = embedder.embed(
        [
            "def parse_http_response(raw):\n    return raw",
            "def sort_queue(items):\n    return items",
        ]
    )
    assert float(query @ related) > 0.3 > float(query @ unrelated)
    assert not np.any(embedder.embed_query("!!! ..."))  # nothing to hash: the zero vector


def test_build_embedder_defaults_to_lexical(tmp_path: Path) -> None:
    assert isinstance(build_embedder(make_settings(tmp_path)), LexicalEmbedder)


def test_missing_embedding_model_is_a_clear_error(tmp_path: Path) -> None:
    from codedreamer.errors import ModelLoadError

    settings = make_settings(tmp_path, embed_model_path=tmp_path / "missing.gguf")
    with pytest.raises(ModelLoadError, match="DREAMER_EMBED_MODEL_PATH"):
        build_embedder(settings)


@pytest.mark.model
def test_gguf_embedder_on_the_bundled_model() -> None:
    from codedreamer.models.bundled import bundled_model_path

    embedder = GgufEmbedder(bundled_model_path(), max_tokens=64, n_threads=2)
    try:
        vectors = embedder.embed(["def add(a, b):\n    return a + b", "SELECT * FROM users;"])
        assert vectors.shape == (2, embedder.dim) and embedder.dim > 100
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert not np.allclose(vectors[0], vectors[1])
        assert embedder.model_id.startswith("gguf:SmolLM2-135M-Instruct.Q4_1.gguf:")
        # Longer than n_batch: cut on purpose and counted, never silently.
        long = embedder.embed(["word " * 500])
        assert embedder.truncated == 1 and long.shape == (1, embedder.dim)
        assert np.allclose(
            embedder.embed_query("def add(a, b):\n    return a + b"), vectors[0], atol=1e-4
        )
    finally:
        embedder.close()


@pytest.mark.model
def test_index_with_the_gguf_embedder_end_to_end(tmp_path: Path) -> None:
    """Chunks embedded in the parent process by llama.cpp, stored, and found by vector search."""
    from codedreamer.index.indexer import index_codebase
    from codedreamer.index.store import IndexStore
    from codedreamer.models.bundled import bundled_model_path

    root = tmp_path / "repo"
    root.mkdir()
    (root / "maths.py").write_text("def add_numbers(a, b):\n    return a + b\n")
    (root / "db.py").write_text("def load_users(conn):\n    return conn.execute('SELECT 1')\n")
    embedder = GgufEmbedder(bundled_model_path(), max_tokens=128, n_threads=2)
    try:
        settings = make_settings(tmp_path)
        store = IndexStore.open(settings.index_dir, embedder)
        report = index_codebase(root, settings, store=store)
        assert report.files_indexed == 2 and report.chunks_total == 2
        _, vectors = store.chunk_vectors()
        assert vectors.shape == (2, embedder.dim)
        hits = store.search("add_numbers", k=2, mode="vector")
        assert {h.chunk.path for h in hits} == {"maths.py", "db.py"}
        assert store._chunks.schema.metadata[b"codedreamer.embedder"].startswith(b"gguf:")
    finally:
        embedder.close()
