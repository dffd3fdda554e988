"""`validate_insight`: run every rule on a Think answer, first failure wins, with its reason.

Order: timeout and stalled (the stage's limits stopped it), truncated, too_short,
nothing_to_improve, template_echo, false_claim, bad_citation, ungrounded, missing_section,
invented_name, wrong_language, unparseable_code, then duplicate, duplicate_topic,
near_duplicate, not_novel. Cheap text rules come first, the comparison with every earlier
dream last. The verdict carries the repaired text (torn fences fixed, placeholder lines
removed) and a title that is never a placeholder: store those, not the raw answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from codedreamer.dream.validation.answer import SECTION_LABELS, parse_answer, prose_of
from codedreamer.dream.validation.citations import check_citations
from codedreamer.dream.validation.claims import check_claims
from codedreamer.dream.validation.code_blocks import block_problems
from codedreamer.dream.validation.duplicates import EarlierDream, TopicKey, check_duplicates
from codedreamer.dream.validation.grounding import ground
from codedreamer.dream.validation.names import check_names
from codedreamer.dream.validation.novelty import Embed, default_cache
from codedreamer.dream.validation.structure import check_structure, dream_title
from codedreamer.dream.validation.truncation import repair_answer
from codedreamer.dream.validation.vector_cache import VectorCache

MIN_INSIGHT_CHARS = 80

# Whole-answer refusals. Matched only near the start of a short answer, because a long
# answer that says "no issues with X; however Y is wrong" is a real finding.
_NOTHING_TO_IMPROVE = re.compile(
    r"\b(no (significant |obvious |major )?(issues|problems|improvements?)"
    r"( (were )?(found|needed|identified))?"
    r"|nothing to improve|looks (good|fine|correct)|is already (optimal|well[- ]written))\b",
    re.IGNORECASE,
)

STOPPED_BY_LIMIT = frozenset({"timeout", "stalled"})
"""Finish reasons of a stage stopped by its limits (dream/stages.py); rejected as such."""

REASONS = (
    "timeout",
    "stalled",
    "truncated",
    "too_short",
    "nothing_to_improve",
    "template_echo",
    "false_claim",
    "bad_citation",
    "ungrounded",
    "missing_section",
    "invented_name",
    "wrong_language",
    "unparseable_code",
    "duplicate",
    "duplicate_topic",
    "near_duplicate",
    "not_novel",
)
"""Every rejection reason validate_insight can give, in the order the rules run."""


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str
    """`ok`, or one of REASONS."""
    detail: str = ""
    novelty: float = 0.0
    checks: dict[str, str] = field(default_factory=dict)
    text: str = ""
    """The answer to store: repaired and without placeholder lines ("" when rejected early)."""
    title: str = ""
    """The answer's own title, never a placeholder ("" when it has none)."""


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
    language: str = "",
    finish_reason: str = "stop",
    category: str = "",
    embed: Embed | None = None,
    required_sections: Sequence[str] = SECTION_LABELS,
    seed_path: str = "",
    seed_lines: tuple[int, int] | None = None,
    path_exists: Callable[[str], bool] | None = None,
    vector_cache: VectorCache | None = None,
) -> Verdict:
    """Judge a Think answer against the seed code, the index and every earlier dream.

    `name_exists` says whether an identifier occurs anywhere in the codebase (the index);
    without it, only the seed code counts as known. `language` is the seed's language (code
    blocks are checked against it; "" skips that check). `finish_reason` is the stage's
    (a cut-off answer is repaired or rejected). `category` with the seed's first symbol
    forms the topic key for duplicate_topic. `embed` turns texts into unit vectors for the
    near-duplicate test; `vector_cache` (vector_cache.py) does the same and keeps earlier
    dreams' vectors between calls. With neither, the index's lexical embedder through this
    process's shared cache. `seed_path`,
    `seed_lines` (first, last) and `path_exists` (an indexed path, or the last parts of one)
    check the files and lines the answer cites.
    """
    checks: dict[str, str] = {}

    def reject(reason: str, detail: str, novelty: float = 0.0) -> Verdict:
        return Verdict(False, reason, detail, novelty, checks)

    if finish_reason in STOPPED_BY_LIMIT:
        # The stage was stopped by its time or empty-piece limit: whatever came before is
        # the output of a generation that went wrong, not an answer.
        return reject(finish_reason, f"the generation was stopped ({finish_reason})")
    repair = repair_answer(text, finish_reason, required_sections)
    if repair.rejection is not None:
        return reject(repair.rejection, repair.detail)
    if repair.changes:
        checks["repaired"] = "; ".join(repair.changes)
    stripped = repair.text.strip()
    if len(stripped) < MIN_INSIGHT_CHARS:
        return reject("too_short", f"{len(stripped)} characters")
    checks["length"] = "ok"
    if says_nothing_to_improve(stripped):
        return reject("nothing_to_improve", stripped[:80])
    checks["substance"] = "ok"

    structure = check_structure(stripped, required_sections, echo_only=True)
    if structure.reason == "template_echo":
        return reject("template_echo", structure.detail)
    cleaned = structure.text.strip()
    if structure.placeholders_removed:
        checks["placeholders_removed"] = str(structure.placeholders_removed)
    prose = prose_of(cleaned)

    def exists(name: str) -> bool:
        return name_exists is not None and name_exists(name)

    claims = check_claims(prose, seed_code, exists if name_exists is not None else None)
    if claims.false:
        first = claims.false[0]
        return reject("false_claim", f"{first.why} ({first.claim[:80]})")
    citations = check_citations(
        prose, seed_path=seed_path, seed_lines=seed_lines, path_exists=path_exists
    )
    if not citations.ok:
        cited = [*citations.bad_files, *citations.bad_lines]
        return reject("bad_citation", "cites what does not exist: " + ", ".join(cited[:5]))
    grounding = ground(prose, seed_code, symbols, claimed_missing=claims.claimed_missing)
    if not grounding.grounded:
        return reject("ungrounded", "names nothing specific to the code it is about")
    checks["grounded"] = grounding.detail

    structure = check_structure(cleaned, required_sections)
    if not structure.ok:
        return reject(structure.reason, structure.detail)
    checks["structure"] = ", ".join(required_sections) or "free"

    answer = parse_answer(cleaned)
    names = check_names(
        prose, answer.blocks, seed_code, exists if name_exists is not None else None
    )
    if names.invented:
        detail = (
            "names code that does not exist: "
            + ", ".join(names.invented[:5])
            + f" ({len(names.invented)} of {len(names.presented)} named)"
        )
        return reject("invented_name", detail)
    if names.presented:
        checks["names"] = f"{len(names.presented)} named, all exist"
    if names.proposed:
        checks["unknown_names"] = ", ".join(names.proposed[:5])

    if language:
        problems = block_problems(answer.blocks, language)
        if problems:
            return reject(problems[0].reason, problems[0].detail)
        if answer.blocks:
            checks["code"] = f"{len(answer.blocks)} block(s) in {language}"

    title = dream_title(cleaned, "")
    symbol = next((s for s in symbols if s), "")
    topic = TopicKey.of(symbol, category, title) if symbol and category else None
    duplicates = check_duplicates(
        cleaned,
        seed_code=seed_code,
        earlier=earlier,
        novelty_threshold=novelty_threshold,
        topic=topic,
        embed=embed,
        cache=vector_cache if vector_cache is not None or embed is not None else default_cache(),
    )
    if duplicates.reason != "ok":
        return reject(duplicates.reason, duplicates.detail, duplicates.novelty)
    best = duplicates.nearest
    checks["duplicate"] = (
        f"max similarity {best.similarity:.2f} ({best.key})" if best else "max similarity 0.00"
    )
    checks["novelty"] = f"{duplicates.novelty:.2f}"
    return Verdict(True, "ok", "", duplicates.novelty, checks, cleaned, title)
