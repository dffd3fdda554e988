"""Pure dream-pipeline logic: loop detection, validation, selection, focus, titles."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from codedreamer.dream.focus import FOCUS_AREAS, enabled_focus_areas, pick_focus
from codedreamer.dream.loop_detection import StreamingLoopDetector, find_tail_loop
from codedreamer.dream.prompts import SeedCode, code_block, fence_for
from codedreamer.dream.selection import Candidate, choose, complexity, covered
from codedreamer.dream.validation import EarlierDream, validate_insight
from codedreamer.engine.engine import extract_title

SEED = """def parse_header(raw_bytes, encoding):
    if not raw_bytes:
        return None
    name, _, value = raw_bytes.partition(b":")
    return name.decode(encoding), value.strip().decode(encoding)
"""
GOOD = (
    "TITLE: parse_header crashes on undecodable bytes\n"
    "INSIGHT: parse_header calls decode with the caller's encoding and lets "
    "UnicodeDecodeError escape, so one bad header aborts the whole request.\n"
    "PLAN: 1. catch UnicodeDecodeError 2. return None for that header"
)


def stream(detector: StreamingLoopDetector, text: str, piece: int = 3) -> bool:
    return any(detector.feed(text[i : i + piece]) for i in range(0, len(text), piece))


def test_loop_is_detected_while_streaming_and_cut_after_first_copy() -> None:
    detector = StreamingLoopDetector()
    text = "Here is the analysis. " + "The value is recomputed on every call. " * 6
    assert stream(detector, text)
    assert detector.good_text == "Here is the analysis. The value is recomputed on every call."
    assert detector.loop is not None and detector.loop.period == len(
        "The value is recomputed on every call. "
    )


def test_short_repeats_need_more_copies() -> None:
    code = "    }\n" * 4
    assert find_tail_loop("function f() {\n" + code) is None
    assert find_tail_loop("x" * 10 + "-- again --\n" * 6) is not None


def test_ordinary_code_and_prose_are_not_loops() -> None:
    detector = StreamingLoopDetector()
    assert not stream(detector, SEED * 1 + GOOD)
    assert detector.good_text == SEED + GOOD


@given(st.text(min_size=0, max_size=300))
def test_detector_never_loses_text_without_a_loop(text: str) -> None:
    detector = StreamingLoopDetector()
    looped = stream(detector, text, piece=5)
    assert looped or detector.good_text == text
    if looped:
        assert text.startswith(detector.good_text)


def test_valid_grounded_insight_is_accepted() -> None:
    verdict = validate_insight(
        GOOD, seed_code=SEED, symbols=["parse_header"], earlier=[], novelty_threshold=0.4
    )
    assert verdict.accepted and verdict.reason == "ok"
    assert verdict.novelty == 1.0
    assert "parse_header" in verdict.checks["grounded"]


def test_rejections_have_named_reasons() -> None:
    def judge(text: str, earlier: list[EarlierDream] | None = None) -> str:
        return validate_insight(
            text,
            seed_code=SEED,
            symbols=["parse_header"],
            earlier=earlier or [],
            novelty_threshold=0.4,
        ).reason

    assert judge("Looks fine.") == "too_short"
    assert (
        judge(
            "No issues found. The code in parse_header is already well-written and clear to read."
        )
        == "nothing_to_improve"
    )
    assert (
        judge(
            "The overall approach could use a cache layer and a clearer module boundary, "
            "to be safe and fast."
        )
        == "ungrounded"
    )
    assert judge(GOOD, [EarlierDream("a", GOOD.upper())]) == "duplicate"
    near = GOOD.replace("whole request", "entire request")
    assert judge(near, [EarlierDream("a", GOOD)]) == "near_duplicate"


def test_a_long_answer_mentioning_no_issues_in_passing_is_kept() -> None:
    text = (
        "No issues with naming; however "
        + GOOD
        + " Also parse_header ignores encoding errors. " * 3
    )
    verdict = validate_insight(text, seed_code=SEED, symbols=[], earlier=[], novelty_threshold=0.4)
    assert verdict.accepted


def test_novelty_threshold_applies() -> None:
    earlier = [EarlierDream("a", GOOD + " More words about the decode call and its failure mode.")]
    verdict = validate_insight(
        GOOD, seed_code=SEED, symbols=[], earlier=earlier, novelty_threshold=0.6
    )
    assert not verdict.accepted and verdict.reason in {"not_novel", "near_duplicate"}
    assert 0.0 <= verdict.novelty < 0.6


def test_selection_prefers_fresh_complex_code() -> None:
    simple = Candidate("a", "a.py", 1, 3, "x = 1\ny = 2\nz = 3")
    branchy = Candidate("b", "b.py", 1, 30, "if a:\n    pass\n" * 15)
    rng = random.Random(1)
    choice = choose([simple, branchy], set(), rng)
    assert choice is not None and choice.key == "b"
    choice = choose([simple, branchy], {("b.py", 10, 12)}, rng)
    assert choice is not None and choice.key == "a"
    assert covered(branchy, {("b.py", 30, 40)}) and not covered(branchy, {("b.py", 31, 40)})
    assert choose([Candidate("t", "t.py", 1, 1, "x")], set(), rng) is None
    assert complexity("if a:\n" * 100) == 1.0


def test_focus_rotates_and_low_value_is_off_by_default() -> None:
    areas = enabled_focus_areas()
    assert all(not area.low_value for area in areas)
    assert {a.name for a in enabled_focus_areas(["docstrings"])} - {a.name for a in areas} == {
        "docstrings"
    }
    rng = random.Random(0)
    recent: list[str] = []
    for _ in range(len(areas)):
        area = pick_focus(rng, areas, recent)
        assert area.name not in recent
        recent.insert(0, area.name)
    assert len(set(recent)) == len(areas)
    assert len(FOCUS_AREAS) > len(areas)


def test_code_block_fence_outlasts_backticks_in_code() -> None:
    content = 'doc = """```python\nx\n```"""'
    assert fence_for(content) == "````"
    block = code_block(SeedCode("a.py", "python", 1, 1, "doc", content))
    assert block.splitlines()[1] == "````python" and block.endswith("\n````")


def test_title_extraction() -> None:
    assert extract_title(GOOD, "fb") == "parse_header crashes on undecodable bytes"
    assert extract_title("**TITLE:** Cache the parser\nmore", "fb") == "Cache the parser"
    assert extract_title("The loop is slow. It reads twice.", "fb") == "The loop is slow."
    assert extract_title("", "fallback") == "fallback"
    assert len(extract_title("TITLE: " + "x" * 300, "fb")) == 100


def test_words_in_comments_and_strings_do_not_ground_a_dream() -> None:
    code = (
        "def load(path):  # the following lines are slow\n"
        '    """Read the configuration."""\n'
        '    return open(path, "rb").read()  // configuration\n'
    )
    from codedreamer.dream.validation import code_identifiers

    assert code_identifiers(code) == {"load", "path", "open", "read"}
    prose = (
        "The following configuration lines are slow and should be cached for speed, "
        "since they are parsed again for each request."
    )
    verdict = validate_insight(prose, seed_code=code, symbols=[], earlier=[], novelty_threshold=0)
    assert verdict.reason == "ungrounded"


def test_title_skips_a_preamble_line() -> None:
    assert extract_title("Here's a breakdown of the code:\n1. The loop is slow.", "fb") == (
        "The loop is slow."
    )


def test_title_skips_code_fences() -> None:
    text = "Use this code:\n```python\nimport os\n```\nThe import is unused in main."
    assert extract_title(text, "fb") == "The import is unused in main."
    assert extract_title("```\nonly code\n```", "fallback") == "fallback"


# Invented and proposed names: tests/test_dream_validation.py (the rules changed with the
# issue-8 audit: one invented name out of one is rejected, a proposed helper is not).
