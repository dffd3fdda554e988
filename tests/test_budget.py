"""Prompt budgeting: sections fit the budget, order is kept, nothing is cut mid-line."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codedreamer.models.budget import (
    SEPARATOR,
    TRIM_NOTE,
    PromptBudgetError,
    PromptSection,
    budget_prompt,
    fit_sections,
    join_sections,
    required_tokens,
    trim_section,
)
from codedreamer.models.data import ChatMessage
from codedreamer.models.runtime import ChatModel

Counter = Callable[[str], int]


def word_tokens(text: str) -> int:
    """Each run of non-space characters and each newline is one token."""
    return len(re.findall(r"\S+|\n", text))


def char_tokens(text: str) -> int:
    """Roughly 3 characters per token plus one BOS: not additive across joins."""
    return math.ceil(len(text) / 3) + 1


def merging_tokens(text: str) -> int:
    """Merges across boundaries: joined text can cost fewer *or more* than its parts."""
    return len(text) // 4 + text.count("\n\n") * 3


COUNTERS = [word_tokens, char_tokens, merging_tokens]

line = st.text(alphabet="abc def_(){}:=.,\t", max_size=30)
section_text = st.lists(line, min_size=0, max_size=12).map("\n".join)
sections_strategy = st.lists(
    st.builds(
        PromptSection,
        name=st.text(alphabet="abcdefgh", min_size=1, max_size=6),
        text=section_text,
        priority=st.integers(min_value=0, max_value=5),
        required=st.sampled_from([False, False, False, True]),
    ),
    max_size=7,
)


def assert_well_formed(original: Sequence[PromptSection], result: Sequence[PromptSection]) -> None:
    # Order kept: result is a subsequence of the input (matched by identity of position).
    positions = []
    cursor = 0
    for kept in result:
        while cursor < len(original) and not _same_origin(original[cursor], kept):
            cursor += 1
        assert cursor < len(original), f"{kept.name} is not from the input, or out of order"
        positions.append(cursor)
        cursor += 1
    kept_positions = set(positions)
    for index, section in enumerate(original):
        if section.required:
            assert index in kept_positions, f"required section {section.name} was dropped"
    for position, kept in zip(positions, result, strict=True):
        source = original[position]
        if kept.text != source.text:
            # Trimmed: a head of whole lines, then the note on its own line.
            assert kept.text.endswith("\n" + TRIM_NOTE)
            head = kept.text[: -len(TRIM_NOTE) - 1]
            assert source.text.startswith(head + "\n"), "cut in the middle of a line"


def _same_origin(source: PromptSection, kept: PromptSection) -> bool:
    if (source.name, source.priority, source.required) != (
        kept.name,
        kept.priority,
        kept.required,
    ):
        return False
    if kept.text == source.text:
        return True
    head = kept.text[: -len(TRIM_NOTE) - 1]
    return kept.text.endswith(TRIM_NOTE) and source.text.startswith(head + "\n")


@pytest.mark.parametrize("count", COUNTERS, ids=lambda c: c.__name__)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections=sections_strategy, budget=st.integers(min_value=0, max_value=120))
def test_fit_never_exceeds_budget(
    count: Counter, sections: list[PromptSection], budget: int
) -> None:
    try:
        result = fit_sections(sections, budget, count)
    except PromptBudgetError:
        # Allowed only when the required parts cannot fit even at their smallest, or
        # when joining makes them cost more than their parts (a non-additive counter).
        required = [s for s in sections if s.required]
        assert required, "raised although nothing was required"
        return
    if result:  # an empty prompt may still cost a BOS token with some counters
        assert count(join_sections(result)) <= budget
    assert_well_formed(sections, result)


@pytest.mark.parametrize("count", COUNTERS, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(sections=sections_strategy)
def test_everything_kept_whole_when_it_fits(count: Counter, sections: list[PromptSection]) -> None:
    budget = count(join_sections(sections)) + sum(count(s.text) for s in sections) + 10
    assert fit_sections(sections, budget, count) == sections


@settings(max_examples=60, deadline=None)
@given(sections=sections_strategy, budget=st.integers(min_value=0, max_value=120))
def test_raises_only_when_required_parts_cannot_fit(
    sections: list[PromptSection], budget: int
) -> None:
    # word_tokens is additive over the separator, so the rule is exact for it.
    need = required_tokens(sections, word_tokens)
    if need > budget:
        with pytest.raises(PromptBudgetError, match="required prompt sections"):
            fit_sections(sections, budget, word_tokens)
    else:
        result = fit_sections(sections, budget, word_tokens)
        assert word_tokens(join_sections(result)) <= budget


def test_priority_decides_what_is_kept_and_order_is_preserved() -> None:
    sections = [
        PromptSection("low", "l1 l2 l3\nl4 l5", priority=1),
        PromptSection("high", "h1 h2\nh3 h4", priority=9),
        PromptSection("mid", "m1\nm2\nm3\nm4", priority=5),
    ]
    # high costs 5 tokens, the separator 2; mid gets the 6 left: two lines and the note.
    result = fit_sections(sections, 13, word_tokens)
    assert [s.name for s in result] == ["high", "mid"]
    assert result[0].text == "h1 h2\nh3 h4"
    assert result[1].text == "m1\nm2\n" + TRIM_NOTE
    assert word_tokens(join_sections(result)) <= 13


def test_required_section_is_trimmed_not_dropped() -> None:
    big = "\n".join(f"line {i} of code" for i in range(50))
    sections = [
        PromptSection("task", "Explain this code.", priority=10),
        PromptSection("code", big, priority=1, required=True),
    ]
    result = fit_sections(sections, 30, word_tokens)
    names = [s.name for s in result]
    assert "code" in names
    code = next(s for s in result if s.name == "code")
    assert code.text.startswith("line 0 of code\n")
    assert code.text.endswith(TRIM_NOTE)
    assert word_tokens(join_sections(result)) <= 30


def test_required_parts_that_cannot_fit_raise_a_clear_error() -> None:
    sections = [PromptSection("code", "one very long single line " * 20, 1, required=True)]
    with pytest.raises(PromptBudgetError, match=r"code.*need at least \d+ tokens"):
        fit_sections(sections, 10, word_tokens)


def test_single_line_never_cut() -> None:
    section = PromptSection("minified", "x=1;" * 500, priority=1)
    assert trim_section(section, 5, char_tokens) is None
    assert fit_sections([section], 5, char_tokens) == []


def test_separator_is_counted() -> None:
    sections = [PromptSection(str(i), "word", 1) for i in range(5)]
    # Each section costs 1 word; the blank-line separators cost 2 newline tokens each.
    assert word_tokens(SEPARATOR) == 2
    result = fit_sections(sections, 7, word_tokens)
    assert len(result) == 3
    assert word_tokens(join_sections(result)) == 7


class ToyModel:
    """A PromptModel whose chat template adds fixed tokens around each message."""

    def __init__(self, n_ctx: int, count: Counter = word_tokens) -> None:
        self._n_ctx = n_ctx
        self._count = count

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        rendered = "".join(f"<|{m.role}|>\n{m.content}<|end|>\n" for m in messages)
        return self._count(rendered + "<|assistant|>\n") + 1


@pytest.mark.parametrize("count", COUNTERS, ids=lambda c: c.__name__)
@settings(max_examples=120, deadline=None)
@given(
    sections=sections_strategy,
    n_ctx=st.integers(min_value=8, max_value=300),
    max_tokens=st.integers(min_value=1, max_value=400),
    system=st.sampled_from(["", "You review code.", "You are a careful senior engineer."]),
)
def test_budget_prompt_never_exceeds_context(
    count: Counter,
    sections: list[PromptSection],
    n_ctx: int,
    max_tokens: int,
    system: str,
) -> None:
    model = ToyModel(n_ctx, count)
    try:
        prompt = budget_prompt(model, system, sections, max_tokens=max_tokens)
    except PromptBudgetError as exc:
        assert "\n" not in str(exc)
        return
    assert prompt.prompt_tokens == model.count_prompt_tokens(prompt.messages)
    assert prompt.prompt_tokens + prompt.max_tokens <= n_ctx
    assert 1 <= prompt.max_tokens <= max_tokens
    assert prompt.messages[-1].role == "user"
    assert prompt.messages[-1].content == join_sections(prompt.sections)


def test_budget_prompt_keeps_max_tokens_when_there_is_room() -> None:
    model = ToyModel(1000)
    sections = [PromptSection("code", "def f():\n    return 1", 1, required=True)]
    prompt = budget_prompt(model, "sys", sections, max_tokens=200)
    assert prompt.max_tokens == 200
    assert prompt.sections == sections


def test_budget_prompt_lowers_max_tokens_for_required_context() -> None:
    model = ToyModel(100)
    code = "\n".join(f"x{i} = {i}" for i in range(20))  # 60 word tokens + 19 newlines
    sections = [PromptSection("code", code, 1, required=True)]
    prompt = budget_prompt(model, "", sections, max_tokens=90, min_output_tokens=10)
    assert prompt.max_tokens < 90
    assert prompt.max_tokens >= 10
    assert prompt.prompt_tokens + prompt.max_tokens <= 100


def test_budget_prompt_error_names_the_numbers() -> None:
    model = ToyModel(20)
    sections = [PromptSection("code", "a b c d e f g h i j k l m n o p", 1, required=True)]
    with pytest.raises(PromptBudgetError, match=r"n_ctx is 20; raise DREAMER_N_CTX"):
        budget_prompt(model, "system words here", sections, max_tokens=50)


@pytest.mark.model
@settings(max_examples=25, deadline=None)
@given(
    sections=sections_strategy,
    n_ctx=st.integers(min_value=40, max_value=400),
    max_tokens=st.integers(min_value=1, max_value=300),
)
def test_budget_prompt_with_the_real_tokenizer(
    bundled_chat_model: ChatModel,
    sections: list[PromptSection],
    n_ctx: int,
    max_tokens: int,
) -> None:
    model = bundled_chat_model
    try:
        prompt = budget_prompt(
            model, "You review code.", sections, max_tokens=max_tokens, n_ctx=n_ctx
        )
    except PromptBudgetError as exc:
        assert "\n" not in str(exc)
        return
    # Counted again independently, through the template exactly as llama.cpp will see it.
    assert model.count_prompt_tokens(prompt.messages) == prompt.prompt_tokens
    assert prompt.prompt_tokens + prompt.max_tokens <= n_ctx
    assert_well_formed(sections, prompt.sections)
