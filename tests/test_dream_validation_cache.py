"""The vector cache of earlier dreams' texts: the same verdicts as without it, invalidated by a
changed text or another embedder, bounded, saved atomically and read back (or dropped)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from test_dream_validation_novelty import INVENTORY, REWORDED

from codedreamer.dream.validation import EarlierDream, validate_insight
from codedreamer.dream.validation.duplicates import DuplicateCheck, check_duplicates
from codedreamer.dream.validation.novelty import default_cache, default_embedder
from codedreamer.dream.validation.vector_cache import FILE_NAME, VectorCache
from codedreamer.index.embedder import LexicalEmbedder

# Findings about other code: the rewordings below must stand out against them.
WORDS = [
    *("load_config", "retry", "socket", "timeout", "cache", "eviction", "logger", "parser"),
    *("thread", "lock", "deadlock", "encoding", "utf8", "header", "cookie", "session"),
]


def filler(rng: random.Random, n: int) -> list[EarlierDream]:
    """Earlier answers about the same class, in the dream format, different each."""
    dreams = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        text = f"TITLE: {rng.choice(WORDS)} {i}\nINSIGHT: {words}\nPLAN: 1. {rng.choice(WORDS)}"
        dreams.append(EarlierDream(f"d{i}", text))
    return dreams


class CountingEmbedder:
    """The lexical embedder, counting the texts it is asked to embed."""

    def __init__(self, dim: int = 256) -> None:
        self.inner = LexicalEmbedder(dim)
        self.texts = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts)


def compare(text: str, earlier: list[EarlierDream], **how: object) -> DuplicateCheck:
    return check_duplicates(
        text,
        seed_code=INVENTORY,
        earlier=earlier,
        novelty_threshold=0.4,
        **how,  # type: ignore[arg-type]
    )


def test_verdicts_are_identical_with_and_without_the_cache() -> None:
    rng = random.Random(3)
    earlier = [
        *filler(rng, 60),
        EarlierDream("r1", REWORDED[1][1]),
        EarlierDream("r2", REWORDED[2][1]),
    ]
    embedder = CountingEmbedder()
    cache = VectorCache.for_embedder(embedder)
    answers = [REWORDED[1][0], REWORDED[2][0], REWORDED[0][0], REWORDED[0][1]]
    for text in answers * 2:  # the second round is all cache hits
        plain = compare(text, earlier, embed=LexicalEmbedder().embed)
        cached = compare(text, earlier, cache=cache)
        assert cached == plain
    # The rewordings of findings r1 and r2 were caught either way; the others were novel.
    reasons = [compare(t, earlier, cache=cache).reason for t in answers]
    assert reasons[0] in ("near_duplicate", "not_novel") and reasons[1] in (
        "near_duplicate",
        "not_novel",
    )
    assert reasons[2:] == ["ok", "ok"], reasons
    # Each earlier text was embedded once; every later call embedded only its answer.
    calls = 3 * len(answers)  # two rounds, then the reasons
    assert embedder.texts == len(earlier) + calls
    assert cache.misses == len(earlier) and cache.hits == len(earlier) * (calls - 1)


def test_validate_insight_with_the_shared_cache_matches_an_uncached_run() -> None:
    earlier = [EarlierDream("r0", REWORDED[0][1]), *filler(random.Random(5), 20)]
    reasons = []
    for text in (REWORDED[0][0], REWORDED[2][0]):
        args = dict(
            seed_code=INVENTORY,
            symbols=["Inventory.remove_item", "remove_item"],
            earlier=earlier,
            novelty_threshold=0.4,
            language="python",
        )
        shared = validate_insight(text, **args)  # type: ignore[arg-type]
        plain = validate_insight(text, embed=LexicalEmbedder().embed, **args)  # type: ignore[arg-type]
        assert shared == plain
        reasons.append(shared.reason)
    # Both reached the comparison with earlier dreams: one rewording, one new finding.
    assert reasons == ["near_duplicate", "ok"]
    assert default_cache().identity == default_embedder().model_id
    assert len(default_cache()) >= len(earlier)


def test_a_changed_text_is_embedded_again() -> None:
    embedder = CountingEmbedder()
    cache = VectorCache.for_embedder(embedder)
    earlier = [EarlierDream("d1", REWORDED[2][0])]
    assert compare(REWORDED[0][0], earlier, cache=cache).reason == "ok"
    embedded = embedder.texts
    # The same id now holds a rewording of the answer: the cached vector must not be used.
    earlier = [EarlierDream("d1", REWORDED[0][1])]
    changed = compare(REWORDED[0][0], earlier, cache=cache)
    assert changed == compare(REWORDED[0][0], earlier, embed=LexicalEmbedder().embed)
    assert changed.reason == "near_duplicate"
    assert embedder.texts == embedded + 2 and cache.misses == 2


def test_the_seed_decides_the_text_that_is_embedded() -> None:
    # An earlier answer quoting a seed line is compared without it: a different text, a
    # different key, the same verdict as without the cache.
    quoting = EarlierDream("q", REWORDED[1][0] + "\n    self.items[name] = current - q")
    cache = VectorCache.for_embedder(LexicalEmbedder())
    for seed in (INVENTORY, "def other():\n    pass\n"):
        args = dict(seed_code=seed, earlier=[quoting], novelty_threshold=0.4)
        assert check_duplicates(REWORDED[1][1], cache=cache, **args) == check_duplicates(  # type: ignore[arg-type]
            REWORDED[1][1],
            embed=LexicalEmbedder().embed,
            **args,  # type: ignore[arg-type]
        )
    assert cache.misses == 2


def test_vectors_of_another_embedder_are_never_used(tmp_path: Path) -> None:
    path = tmp_path / "data" / FILE_NAME
    small = VectorCache.for_embedder(LexicalEmbedder(dim=64))
    small.vectors([("d1", "remove_item lets stock go negative")])
    small.save(path)
    other = VectorCache.load(path, LexicalEmbedder(dim=256))
    assert len(other) == 0 and "lexical-hash-v1-d64" in other.problem
    same = VectorCache.load(path, LexicalEmbedder(dim=64))
    assert len(same) == 1 and same.problem == ""
    with pytest.raises(ValueError):
        VectorCache(LexicalEmbedder().embed, "")


def test_saved_vectors_come_back_and_are_used(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    earlier = filler(random.Random(9), 30)
    first = CountingEmbedder()
    cache = VectorCache.for_embedder(first)
    before = compare(REWORDED[0][0], earlier, cache=cache)
    cache.save(path)
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temp file left behind
    again = CountingEmbedder()
    loaded = VectorCache.load(path, again)
    assert compare(REWORDED[0][0], earlier, cache=loaded) == before
    assert again.texts == 1 and loaded.hits == len(earlier)  # only the answer was embedded


def test_an_unreadable_file_gives_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    assert VectorCache.load(path, LexicalEmbedder()).problem == ""  # none yet: not a problem
    path.write_bytes(b"PK\x03\x04 torn")
    broken = VectorCache.load(path, LexicalEmbedder())
    assert len(broken) == 0 and "unreadable" in broken.problem
    path.write_bytes(b"\x93NUMPY pickled?")
    assert "unreadable" in VectorCache.load(path, LexicalEmbedder()).problem


def test_the_cache_is_bounded_and_keeps_the_recently_used() -> None:
    cache = VectorCache(LexicalEmbedder().embed, "lexical", max_entries=3)
    cache.vectors([("a", "alpha one"), ("b", "beta two"), ("c", "gamma three")])
    cache.vectors([("a", "alpha one")])  # a is used again: b is now the oldest
    cache.vectors([("d", "delta four"), ("", "never kept")])
    assert len(cache) == 3
    misses = cache.misses
    cache.vectors([("a", "alpha one"), ("c", "gamma three"), ("d", "delta four")])
    assert cache.misses == misses
    cache.vectors([("b", "beta two")])
    assert cache.misses == misses + 1
    assert cache.vectors([]).shape[0] == 0
