"""Prompt budget errors name the settings a user changes, and max tokens near n_ctx works.

A REASONING_MAX_TOKENS that fills the whole context used to end in "required prompt
section 'code' does not fit in 29 tokens", which names no setting; one just below it
crashed the same way although the answer could simply be a few tokens shorter.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from codedreamer.errors import PromptBudgetError
from codedreamer.models.budget import PromptSection, budget_prompt, fit_sections
from codedreamer.models.data import ChatMessage
from codedreamer.models.runtime import ChatModel

CODE = "\n".join(
    f"def f{i}(a, b):\n    return a + b * {i}  # " + "word " * (i % 7) for i in range(30)
)
TASK = "Think about this code. Find one concrete improvement.\nBe specific."
SETTINGS = ("DREAMER_REASONING_MAX_TOKENS", "DREAMER_CODER_MAX_TOKENS", "DREAMER_N_CTX")


def sections() -> list[PromptSection]:
    return [PromptSection("task", TASK, 2, required=True), PromptSection("code", CODE, 1, True)]


class WordModel:
    """Counts words; the chat template adds a few tokens per message."""

    def __init__(self, n_ctx: int) -> None:
        self._n_ctx = n_ctx

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count_tokens(m.content) + 3 for m in messages) + 1


@pytest.mark.parametrize("max_tokens", [1000, 1001, 10**6])
def test_max_tokens_filling_the_context_names_the_settings(max_tokens: int) -> None:
    with pytest.raises(PromptBudgetError) as info:
        budget_prompt(WordModel(1000), "sys", sections(), max_tokens=max_tokens)
    message = str(info.value)
    assert all(name in message for name in SETTINGS) and "\n" not in message
    assert str(max_tokens) in message and "1000" in message


def test_required_sections_too_big_name_the_settings() -> None:
    with pytest.raises(PromptBudgetError) as info:
        fit_sections(sections(), 3, lambda text: len(text.split()))
    assert all(name in str(info.value) for name in SETTINGS)


@pytest.mark.model
def test_real_model_max_tokens_at_the_context_names_the_setting(
    bundled_chat_model: ChatModel,
) -> None:
    with pytest.raises(PromptBudgetError, match="DREAMER_REASONING_MAX_TOKENS") as info:
        budget_prompt(bundled_chat_model, "You review code.", sections(), max_tokens=4000)
    assert "DREAMER_N_CTX" in str(info.value) and "2048" in str(info.value)


@pytest.mark.model
@pytest.mark.parametrize("max_tokens", [2010, 2030, 2047])
def test_real_model_max_tokens_just_below_the_context_is_lowered_not_an_error(
    bundled_chat_model: ChatModel, max_tokens: int
) -> None:
    prompt = budget_prompt(
        bundled_chat_model, "You review code.", sections(), max_tokens=max_tokens
    )
    n_ctx = bundled_chat_model.n_ctx
    assert bundled_chat_model.count_prompt_tokens(prompt.messages) == prompt.prompt_tokens
    assert prompt.prompt_tokens + prompt.max_tokens <= n_ctx
    assert 16 <= prompt.max_tokens < max_tokens
    assert [s.name for s in prompt.sections] == ["task", "code"]
