"""Decide whether a candidate dream is worth keeping, and how novel it is.

Pure functions over text: no model, no disk. The engine gathers the earlier dreams, the seed
code and the index's names; these rules judge, one module each, and every rejection has a
named reason (`core.REASONS`) that the UI and logs can show and `RejectionCounts` can count:

- truncation: a cut-off answer is repaired (torn fence dropped or closed) or rejected
- structure: TITLE, INSIGHT and PLAN in the model's own words, not the template's
- grounding: the prose names code specific to the seed, not `list` or `name`
- claims: "X is missing", "does not check q <= 0", "uses getattr" checked against the code
- names: every name presented as existing exists in the seed, the index or the language
- code_blocks: code blocks are in the seed's language and parse
- novelty and duplicates: compared with every earlier dream, rejected ones included
"""

from codedreamer.dream.validation.answer import Answer, CodeBlock, parse_answer
from codedreamer.dream.validation.core import (
    MIN_INSIGHT_CHARS,
    REASONS,
    Verdict,
    says_nothing_to_improve,
    validate_insight,
)
from codedreamer.dream.validation.counts import RejectionCounts
from codedreamer.dream.validation.duplicates import EarlierDream, TopicKey
from codedreamer.dream.validation.novelty import (
    comparable_text,
    content_hash,
    jaccard,
    normalise,
    shingles,
)
from codedreamer.dream.validation.structure import dream_title, strip_placeholders
from codedreamer.dream.validation.truncation import Repair, repair_answer
from codedreamer.dream.validation.vocabulary import code_identifiers

__all__ = [
    "MIN_INSIGHT_CHARS",
    "REASONS",
    "Answer",
    "CodeBlock",
    "EarlierDream",
    "RejectionCounts",
    "Repair",
    "TopicKey",
    "Verdict",
    "code_identifiers",
    "comparable_text",
    "content_hash",
    "dream_title",
    "jaccard",
    "normalise",
    "parse_answer",
    "repair_answer",
    "says_nothing_to_improve",
    "shingles",
    "strip_placeholders",
    "validate_insight",
]
