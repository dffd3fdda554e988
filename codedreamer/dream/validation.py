"""Decide whether a candidate dream is worth keeping, and how novel it is.

Pure functions over text: no model, no disk. The engine gathers the earlier dreams and the
seed code, these functions judge. Noise is what users of review bots complain about most,
so each rule rejects a kind of noise with a named reason that the UI and logs can show.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

MIN_INSIGHT_CHARS = 80
NEAR_DUPLICATE_SIMILARITY = 0.8
# A dream may name a helper it proposes to add; when most of the names it puts in
# backticks exist nowhere in the codebase, it is talking about code it imagined.
MAX_INVENTED_SHARE = 0.5
MIN_CLAIMS_FOR_INVENTION = 2

_BACKTICKED = re.compile(r"`([^`\n]{1,80})`")
_CLAIMED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?$")
_ALWAYS_KNOWN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls"}

# Whole-answer refusals. Matched only near the start of a short answer, because a long
# answer that says "no issues with X; however Y is wrong" is a real finding.
_NOTHING_TO_IMPROVE = re.compile(
    r"\b(no (significant |obvious |major )?(issues|problems|improvements?)"
    r"( (were )?(found|needed|identified))?"
    r"|nothing to improve|looks (good|fine|correct)|is already (optimal|well[- ]written))\b",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_WORD = re.compile(r"\w+")
_COMMON_WORDS = frozenset(
    {
        *keyword.kwlist,
        "self",
        "cls",
        "the",
        "and",
        "for",
        "this",
        "that",
        "with",
        "from",
        "return",
        "none",
        "true",
        "false",
        "function",
        "const",
        "let",
        "var",
        "int",
        "str",
        "void",
        "public",
        "private",
        "static",
    }
)


@dataclass(frozen=True)
class EarlierDream:
    """What validation needs to know about a dream that already exists (any status)."""

    dream_id: str
    text: str


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str
    """`ok`, or the rejection reason: too_short, nothing_to_improve, ungrounded, duplicate,
    near_duplicate, not_novel."""
    detail: str = ""
    novelty: float = 0.0
    checks: dict[str, str] = field(default_factory=dict)


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


# Comments and string literals hold English words ("are", "following") that would make
# any prose look grounded; strip them (approximately, for every language) first.
_NON_CODE = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|/\*[\s\S]*?\*/'
    r'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`[^`]*`'
    r"|(?<![:\w])#[^\n]*|//[^\n]*"
)


def code_identifiers(code: str) -> set[str]:
    """Identifiers in the seed code that are specific enough to prove the text is about it."""
    return {
        name
        for name in _IDENTIFIER.findall(_NON_CODE.sub(" ", code))
        if name.lower() not in _COMMON_WORDS
    }


def claimed_names(text: str) -> list[str]:
    """Identifiers the text presents as code (in backticks), last dotted part, in order."""
    names: list[str] = []
    for span in _BACKTICKED.findall(text):
        span = span.strip()
        if _CLAIMED_NAME.match(span):
            name = span.removesuffix("()").rsplit(".", 1)[-1]
            if name not in names:
                names.append(name)
    return names


def invented_names(text: str, exists: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """(claimed, invented): backticked names, and those that exist nowhere we can see."""
    claimed = claimed_names(text)
    invented = [n for n in claimed if n not in _ALWAYS_KNOWN and not exists(n)]
    return claimed, invented


def says_nothing_to_improve(text: str) -> bool:
    stripped = text.strip()
    match = _NOTHING_TO_IMPROVE.search(stripped[:200])
    return match is not None and len(stripped) < 400


def validate_insight(
    text: str,
    *,
    seed_code: str,
    symbols: Sequence[str],
    earlier: Iterable[EarlierDream],
    novelty_threshold: float,
    name_exists: Callable[[str], bool] | None = None,
) -> Verdict:
    """Judge a Think-stage answer against the seed code and every earlier dream.

    `name_exists` says whether an identifier occurs anywhere in the codebase (the index);
    without it, only the seed code counts as known.
    """
    checks: dict[str, str] = {}
    stripped = text.strip()
    if len(stripped) < MIN_INSIGHT_CHARS:
        return Verdict(False, "too_short", f"{len(stripped)} characters", 0.0, checks)
    checks["length"] = "ok"
    if says_nothing_to_improve(stripped):
        return Verdict(False, "nothing_to_improve", stripped[:80], 0.0, checks)
    checks["substance"] = "ok"

    known = code_identifiers(seed_code) | {s for s in symbols if s}
    mentioned = {name for name in known if re.search(rf"\b{re.escape(name)}\b", stripped)}
    if not mentioned:
        return Verdict(False, "ungrounded", "names nothing from the code it is about", 0.0, checks)
    checks["grounded"] = "mentions " + ", ".join(sorted(mentioned)[:5])

    def exists(name: str) -> bool:
        return name in known or (name_exists is not None and name_exists(name))

    claimed, invented = invented_names(stripped, exists)
    if len(claimed) >= MIN_CLAIMS_FOR_INVENTION and len(invented) > MAX_INVENTED_SHARE * len(
        claimed
    ):
        detail = "names code that does not exist: " + ", ".join(invented[:5])
        return Verdict(False, "ungrounded", detail, 0.0, checks)
    if invented:
        checks["unknown_names"] = ", ".join(invented[:5])

    own_hash = content_hash(stripped)
    own_shingles = shingles(stripped)
    best_similarity, best_id = 0.0, ""
    for other in earlier:
        if content_hash(other.text) == own_hash:
            return Verdict(False, "duplicate", f"same text as {other.dream_id}", 0.0, checks)
        similarity = jaccard(own_shingles, shingles(other.text))
        if similarity > best_similarity:
            best_similarity, best_id = similarity, other.dream_id
    novelty = round(1.0 - best_similarity, 4)
    if best_similarity >= NEAR_DUPLICATE_SIMILARITY:
        detail = f"{best_similarity:.2f} similar to {best_id}"
        return Verdict(False, "near_duplicate", detail, novelty, checks)
    checks["duplicate"] = f"max similarity {best_similarity:.2f}" + (
        f" ({best_id})" if best_id else ""
    )
    if novelty < novelty_threshold:
        detail = f"novelty {novelty:.2f} < {novelty_threshold:.2f}"
        return Verdict(False, "not_novel", detail, novelty, checks)
    checks["novelty"] = f"{novelty:.2f}"
    return Verdict(True, "ok", "", novelty, checks)
