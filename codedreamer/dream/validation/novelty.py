"""Novelty: how different an answer is from every earlier dream, in what it says.

Two answers about the same code share its names and the template's words however different
their findings are, and two wordings of one finding share few word triples. So before
comparing, the template (labels, placeholders, step numbers) and the seed's own code lines
are removed, and two measures are taken on what is left:
- word 3-shingles, as Jaccard and as containment (a copy with additions is contained),
- cosine of embeddings (by default the index's lexical embedder, which splits identifiers
  and drops stop words; the engine may pass the index's own embedder).
Any two answers about code of one codebase share words, so a raw cosine is never near 0:
measured on the lexical embedder, rewordings of one finding about one function scored
0.56-0.74 and different findings about the same function 0.12-0.40. The cosine is rescaled
from [EMBEDDING_FLOOR, EMBEDDING_CEILING] to [0, 1] so that novelty spreads over its range.
Similarity is the larger of the two measures; novelty is one minus the largest similarity
to any earlier dream.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from codedreamer.dream.validation.answer import code_line_numbers
from codedreamer.dream.validation.structure import is_placeholder

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from codedreamer.dream.validation.vector_cache import VectorCache
    from codedreamer.index.embedder import LexicalEmbedder

    Vectors = npt.NDArray[np.float32]

Embed = Callable[[Sequence[str]], "Vectors"]

EMBEDDING_FLOOR = 0.25
EMBEDDING_CEILING = 0.75

_WORD = re.compile(r"\w+")
_LABEL = re.compile(
    r"^\s*(?:[#>]+\s*|[-*]\s+|\d+[.)]\s*)?[*_]*\s*(?:TITLE|INSIGHT|PLAN)\s*[*_]*\s*:?\s*[*_]*",
    re.IGNORECASE,
)
_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
_FENCE_LINE = re.compile(r"^\s*(`{3,}|~{3,})")


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode()).hexdigest()


def shingles(text: str, size: int = 3) -> frozenset[str]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset({" ".join(words)}) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller set that the larger one holds."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


@lru_cache(maxsize=4096)
def _template_free_lines(text: str) -> tuple[str, ...]:
    """The answer's lines without fences, placeholders, labels and step numbers.

    Cached by text: every cycle compares with every earlier dream, and their texts do not
    change (measured: 0.35 s for 1000 earlier dreams uncached, most of it here).
    """
    in_code = code_line_numbers(text)
    kept: list[str] = []
    for number, line in enumerate(text.split("\n")):
        if _FENCE_LINE.match(line) or is_placeholder(line):
            continue
        if number not in in_code:
            line = _STEP.sub("", _LABEL.sub("", line))
        if line.strip():
            kept.append(line.strip())
    return tuple(kept)


@lru_cache(maxsize=64)
def _seed_lines(seed_code: str) -> frozenset[str]:
    return frozenset(normalise(line) for line in seed_code.split("\n") if len(line.strip()) > 3)


def comparable_text(text: str, seed_code: str = "") -> str:
    """The answer without template text and without lines copied from the seed code."""
    seed_lines = _seed_lines(seed_code)
    return "\n".join(
        line for line in _template_free_lines(text) if normalise(line) not in seed_lines
    )


@lru_cache(maxsize=4096)
def _seedless(text: str) -> tuple[frozenset[str], str, str, frozenset[str]]:
    """(normalised lines, cleaned text, digest, shingles) of a text from which no seed line
    is removed. Cached by text, like `_template_free_lines`: most earlier dreams quote
    nothing of this cycle's seed, and re-shingling them every cycle cost more than
    embedding them."""
    lines = _template_free_lines(text)
    cleaned = "\n".join(lines)
    return frozenset(map(normalise, lines)), cleaned, content_hash(cleaned), shingles(cleaned)


@dataclass(frozen=True)
class Comparable:
    """One text ready for comparison: cleaned, hashed, shingled."""

    key: str
    cleaned: str
    digest: str
    shingles: frozenset[str]

    @classmethod
    def of(cls, key: str, text: str, seed_code: str = "") -> Comparable:
        lines, cleaned, digest, words = _seedless(text)
        if _seed_lines(seed_code).isdisjoint(lines):
            return cls(key, cleaned, digest, words)
        cleaned = comparable_text(text, seed_code)
        return cls(key, cleaned, content_hash(cleaned), shingles(cleaned))


@dataclass(frozen=True)
class Nearest:
    key: str
    """The earlier dream's id ("" when there is none)."""
    text_similarity: float
    embedding_similarity: float
    """The rescaled cosine (see the module docstring)."""
    cosine: float = 0.0

    @property
    def similarity(self) -> float:
        return max(self.text_similarity, self.embedding_similarity)

    @property
    def novelty(self) -> float:
        return round(1.0 - self.similarity, 4)


_default_embedder: LexicalEmbedder | None = None


def default_embedder() -> LexicalEmbedder:
    """The index's lexical embedder (no model needed), built on first use."""
    global _default_embedder
    if _default_embedder is None:
        from codedreamer.index.embedder import LexicalEmbedder

        _default_embedder = LexicalEmbedder()
    return _default_embedder


def default_embed() -> Embed:
    return default_embedder().embed


def default_cache() -> VectorCache:
    """This process's vector cache for the default embedder (vector_cache.shared_cache)."""
    from codedreamer.dream.validation.vector_cache import shared_cache

    return shared_cache(default_embedder())


def rescale_cosine(cosine: float) -> float:
    span = EMBEDDING_CEILING - EMBEDDING_FLOOR
    return max(0.0, min(1.0, (cosine - EMBEDDING_FLOOR) / span))


def nearest(
    own: Comparable,
    earlier: Sequence[Comparable],
    embed: Embed | None = None,
    cache: VectorCache | None = None,
) -> list[Nearest]:
    """Similarity of `own` to each earlier text, most similar first.

    With a `cache` (bound to its own embedder, which then replaces `embed`), the earlier
    texts' vectors come from it and only `own` is embedded.
    """
    if not earlier:
        return []
    cosines: list[float] = [0.0] * len(earlier)
    if cache is not None:
        mine = cache.embed([own.cleaned])[0]
        vectors = cache.vectors([(other.key, other.cleaned) for other in earlier])
        cosines = [float(v) for v in (vectors @ mine).tolist()]
    elif embed is not None:
        vectors = embed([own.cleaned, *(other.cleaned for other in earlier)])
        cosines = [float(v) for v in (vectors[1:] @ vectors[0]).tolist()]
    found = [
        Nearest(
            other.key,
            round(_overlap(own.shingles, other.shingles), 4),
            round(rescale_cosine(cosine), 4),
            round(cosine, 4),
        )
        for other, cosine in zip(earlier, cosines, strict=True)
    ]
    return sorted(found, key=lambda n: n.similarity, reverse=True)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """max(jaccard(a, b), containment(a, b)), intersecting once."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return max(shared / (len(a) + len(b) - shared), shared / min(len(a), len(b)))
