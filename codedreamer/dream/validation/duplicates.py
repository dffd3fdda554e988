"""Duplicates of any earlier dream (stored, rejected by the user, or rejected by validation).

Three tests, in order: the same cleaned text (duplicate); the same topic, meaning the same
symbol, the same category and a similar title (duplicate_topic); a near-duplicate by word
shingles or by embedding (near_duplicate). Then novelty below the threshold (not_novel).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from codedreamer.dream.validation.novelty import Comparable, Embed, Nearest, nearest
from codedreamer.dream.validation.vector_cache import VectorCache
from codedreamer.dream.validation.vocabulary import word_set

NEAR_DUPLICATE_TEXT = 0.6
"""Shingle similarity (Jaccard or containment) at which two answers say the same thing."""
NEAR_DUPLICATE_EMBEDDING = 0.75
"""Rescaled embedding similarity (novelty.rescale_cosine) at which two answers say the same
thing: a raw cosine of 0.625 on the lexical embedder."""
SIMILAR_TITLE = 0.5
"""Jaccard of title words at which two titles on the same symbol and category match."""

_TITLE_WORD = re.compile(r"[a-z0-9]+")
_TITLE_STOP = word_set(
    "a an the of to and or in on for with by from is are be use add fix make improve "
    "better more instead when that this it its let lets"
)


@dataclass(frozen=True)
class EarlierDream:
    """What validation needs to know about a dream that already exists (any status).

    Rejected attempts count too: an answer the validator turned down yesterday should not
    come back tomorrow as "new".
    """

    dream_id: str
    text: str
    title: str = ""
    symbol: str = ""
    category: str = ""
    status: str = ""
    """pending, applied, rejected, deferred, or "attempt" for a validation rejection."""


@dataclass(frozen=True)
class TopicKey:
    """What a dream is about, structurally: where, what kind, and the gist of its title."""

    symbol: str
    category: str
    title_words: frozenset[str]

    @classmethod
    def of(cls, symbol: str, category: str, title: str) -> TopicKey:
        # The symbol's own words say nothing the symbol does not already say.
        return cls(symbol, category, title_words(title) - title_words(symbol.replace(".", " ")))

    def matches(self, other: TopicKey) -> bool:
        if not (self.symbol and self.category and self.title_words and other.title_words):
            return False
        if self.symbol != other.symbol or self.category != other.category:
            return False
        shared = len(self.title_words & other.title_words)
        return shared / len(self.title_words | other.title_words) >= SIMILAR_TITLE


def _stem(word: str) -> str:
    """A crude English stem, enough to match "checks" with "check" and "goes" with "go"."""
    if len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
        return word[:-2]
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def title_words(title: str) -> frozenset[str]:
    words = (_stem(w) for w in _TITLE_WORD.findall(title.lower()) if w not in _TITLE_STOP)
    return frozenset(w for w in words if w and w not in _TITLE_STOP)


@dataclass(frozen=True)
class DuplicateCheck:
    reason: str
    """ok, duplicate, duplicate_topic, near_duplicate or not_novel."""
    detail: str
    novelty: float
    nearest: Nearest | None


def check_duplicates(
    text: str,
    *,
    seed_code: str,
    earlier: Iterable[EarlierDream],
    novelty_threshold: float,
    topic: TopicKey | None = None,
    embed: Embed | None = None,
    cache: VectorCache | None = None,
) -> DuplicateCheck:
    """Compare an answer with every earlier dream; see the module docstring. Embeddings come
    from `cache` (earlier texts' vectors kept between calls) if given, else from `embed`."""
    earlier_list: Sequence[EarlierDream] = list(earlier)
    own = Comparable.of("", text, seed_code)
    for other in earlier_list:
        if topic is not None and topic.matches(
            TopicKey.of(other.symbol, other.category, other.title)
        ):
            detail = f"same symbol, category and title as {other.dream_id}"
            return DuplicateCheck("duplicate_topic", detail, 0.0, None)
    # Earlier texts are cleaned of the template, not of this seed: their own seed lines
    # would only be found if they were about the same code, where removing them is right.
    others = [Comparable.of(other.dream_id, other.text, seed_code) for other in earlier_list]
    for comparable in others:
        if comparable.digest == own.digest:
            return DuplicateCheck("duplicate", f"same text as {comparable.key}", 0.0, None)
    ranked = nearest(own, others, embed, cache)
    best = ranked[0] if ranked else None
    novelty = best.novelty if best is not None else 1.0
    if best is not None and (
        best.text_similarity >= NEAR_DUPLICATE_TEXT
        or best.embedding_similarity >= NEAR_DUPLICATE_EMBEDDING
    ):
        detail = (
            f"{best.similarity:.2f} similar to {best.key} (words {best.text_similarity:.2f}, "
            f"embedding {best.embedding_similarity:.2f})"
        )
        return DuplicateCheck("near_duplicate", detail, novelty, best)
    if novelty < novelty_threshold:
        detail = f"novelty {novelty:.2f} < {novelty_threshold:.2f}"
        return DuplicateCheck("not_novel", detail, novelty, best)
    return DuplicateCheck("ok", "", novelty, best)
