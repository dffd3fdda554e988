"""Fits prompt sections into a token budget, so prompt + max_tokens never exceeds n_ctx.

Sections are kept by priority: the most important ones whole, the next one cut at a line
boundary (with a visible note), the rest dropped. Nothing is ever cut in the middle of a
line, so code in a prompt stays syntactically whole line by line. Token counts come from a
caller-supplied counter, normally the model's own tokenizer.

Everything here is a pure function of its inputs; the model appears only through the small
`PromptModel` protocol (token counting and n_ctx).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from codedreamer.errors import PromptBudgetError
from codedreamer.models.data import ChatMessage

TokenCounter = Callable[[str], int]

SEPARATOR = "\n\n"
TRIM_NOTE = "… (trimmed)"
MIN_OUTPUT_TOKENS = 16
# The settings a user changes to make a prompt fit; errors name them, not "max tokens".
CONTEXT_SETTING = "DREAMER_N_CTX"
MAX_TOKENS_SETTINGS = "DREAMER_REASONING_MAX_TOKENS / DREAMER_CODER_MAX_TOKENS"


@dataclass(frozen=True)
class PromptSection:
    """One block of a prompt. Higher `priority` is kept first; `required` is never dropped."""

    name: str
    text: str
    priority: int
    required: bool = False


def join_sections(sections: Sequence[PromptSection]) -> str:
    """The text sent to the model for these sections: fit_sections budgets exactly this."""
    return SEPARATOR.join(section.text for section in sections)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _head(lines: Sequence[str], keep: int) -> str:
    return "\n".join([*lines[:keep], TRIM_NOTE])


def trim_section(
    section: PromptSection, budget_tokens: int, count_tokens: TokenCounter
) -> PromptSection | None:
    """The longest head of whole lines (plus the trim note) that fits, or None if none does.

    Returns the section unchanged when it fits whole.
    """
    if count_tokens(section.text) <= budget_tokens:
        return section
    lines = _lines(section.text)
    if len(lines) < 2:
        return None
    # Binary search assumes more lines never cost fewer tokens; a counter that breaks that
    # still gets a correct answer from the linear walk-down below.
    low, high = 0, len(lines) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(_head(lines, middle)) <= budget_tokens:
            low = middle
        else:
            high = middle - 1
    for keep in range(low, 0, -1):
        text = _head(lines, keep)
        if count_tokens(text) <= budget_tokens:
            return replace(section, text=text)
    return None


def minimal_tokens(section: PromptSection, count_tokens: TokenCounter) -> int:
    """The fewest tokens this section can shrink to without a mid-line cut."""
    whole = count_tokens(section.text)
    lines = _lines(section.text)
    if len(lines) < 2:
        return whole
    return min(whole, count_tokens(_head(lines, 1)))


def required_tokens(sections: Sequence[PromptSection], count_tokens: TokenCounter) -> int:
    """Tokens the required sections need at the least, separators included."""
    required = [section for section in sections if section.required]
    if not required:
        return 0
    separators = count_tokens(SEPARATOR) * (len(required) - 1)
    return sum(minimal_tokens(section, count_tokens) for section in required) + separators


def fit_sections(
    sections: Sequence[PromptSection], budget_tokens: int, count_tokens: TokenCounter
) -> list[PromptSection]:
    """Keep, trim or drop sections so `count_tokens(join_sections(result)) <= budget_tokens`.

    Order of importance: required sections, then higher priority, then earlier position.
    The result keeps the original order. Raises PromptBudgetError when the required
    sections cannot fit even when cut down to their first line.
    """
    if budget_tokens < 0:
        raise PromptBudgetError(f"prompt budget is negative ({budget_tokens} tokens)")
    importance = sorted(
        range(len(sections)),
        key=lambda i: (not sections[i].required, -sections[i].priority, i),
    )
    need = required_tokens(sections, count_tokens)
    if need > budget_tokens:
        names = ", ".join(s.name for s in sections if s.required)
        raise PromptBudgetError(
            f"required prompt sections ({names}) need at least {need} tokens, "
            f"only {budget_tokens} are available; raise {CONTEXT_SETTING} or lower "
            f"{MAX_TOKENS_SETTINGS}"
        )

    separator_cost = count_tokens(SEPARATOR)
    reserved = sum(minimal_tokens(s, count_tokens) + separator_cost for s in sections if s.required)
    remaining = budget_tokens
    chosen: dict[int, PromptSection] = {}
    for index in importance:
        section = sections[index]
        if section.required:
            reserved -= minimal_tokens(section, count_tokens) + separator_cost
        extra = separator_cost if chosen else 0
        room = remaining - max(reserved, 0) - extra
        kept = trim_section(section, room, count_tokens) if room >= 0 else None
        if kept is None:
            if section.required:  # pragma: no cover - guarded by the reservation above
                raise PromptBudgetError(f"required prompt section {section.name!r} does not fit")
            continue
        chosen[index] = kept
        remaining -= count_tokens(kept.text) + extra

    return _enforce(sections, chosen, importance, budget_tokens, count_tokens)


def _enforce(
    sections: Sequence[PromptSection],
    chosen: dict[int, PromptSection],
    importance: Sequence[int],
    budget_tokens: int,
    count_tokens: TokenCounter,
) -> list[PromptSection]:
    """Shrink until the joined text fits: per-section sums can undercount merged text."""
    while True:
        result = [chosen[i] for i in sorted(chosen)]
        if not result or count_tokens(join_sections(result)) <= budget_tokens:
            return result
        least = next(i for i in reversed(importance) if i in chosen)
        current = chosen[least]
        if not current.required:
            del chosen[least]
            continue
        lines = _lines(current.text)
        if current.text.endswith(TRIM_NOTE):
            lines = lines[:-1]
        if len(lines) < 2:
            raise PromptBudgetError(
                f"required prompt section {current.name!r} does not fit in {budget_tokens} "
                f"tokens; raise {CONTEXT_SETTING} or lower {MAX_TOKENS_SETTINGS}"
            )
        chosen[least] = replace(current, text=_head(lines, len(lines) - 1))


class PromptModel(Protocol):
    """What budgeting needs from a model: its context size and its tokenizer."""

    @property
    def n_ctx(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int: ...


@dataclass(frozen=True)
class BudgetedPrompt:
    """Messages and a max_tokens such that prompt_tokens + max_tokens <= n_ctx."""

    messages: list[ChatMessage]
    max_tokens: int
    prompt_tokens: int
    n_ctx: int
    sections: list[PromptSection]


def _messages(system: str, user: str) -> list[ChatMessage]:
    head = [ChatMessage("system", system)] if system else []
    return [*head, ChatMessage("user", user)]


def budget_prompt(
    model: PromptModel,
    system: str,
    sections: Sequence[PromptSection],
    *,
    max_tokens: int,
    n_ctx: int | None = None,
    min_output_tokens: int = MIN_OUTPUT_TOKENS,
) -> BudgetedPrompt:
    """Build system + user messages from `sections` within the context window.

    The chat template's own tokens are measured with the model (system text plus an empty
    user turn), not guessed. `max_tokens` is lowered only when the required sections would
    not fit otherwise, never below `min_output_tokens`; PromptBudgetError names the numbers
    and the settings to change when even that is impossible, or when `max_tokens` is not
    below the context size (an answer that long could never be given, and honouring it
    would leave the code in the prompt cut to its first line).
    """
    context = min(n_ctx, model.n_ctx) if n_ctx is not None else model.n_ctx
    desired = max_tokens
    if desired < 1:
        raise PromptBudgetError(f"max_tokens must be positive (got {desired})")
    overhead = model.count_prompt_tokens(_messages(system, ""))
    need = required_tokens(sections, model.count_tokens)
    output = min(desired, context - overhead - need)
    floor = min(min_output_tokens, desired)
    if output < floor:
        raise PromptBudgetError(
            f"prompt needs {overhead + need} tokens (template and system {overhead}, "
            f"required sections {need}) plus {floor} for the answer, "
            f"but n_ctx is {context}; raise {CONTEXT_SETTING}"
        )
    if desired >= context:
        raise PromptBudgetError(
            f"max tokens {desired} ({MAX_TOKENS_SETTINGS} or --max-tokens) is not below "
            f"the model's context of {context} tokens, so no room is left for the prompt; "
            f"lower it or raise {CONTEXT_SETTING} (capped at the model's trained context)"
        )
    content_budget = context - overhead - output
    # The user text merged into the template can tokenize a little differently from the
    # sections counted alone; shrink the budget by any overshoot and try again.
    for _ in range(16):
        try:
            kept = fit_sections(sections, max(content_budget, need), model.count_tokens)
        except PromptBudgetError:
            # At the floor, sections counted one by one can undercount their joined text
            # by a token or two: take those from the answer rather than fail.
            grow = max(8, need // 16)
            if output - grow < floor:
                break
            output -= grow
            content_budget = max(content_budget, need) + grow
            continue
        messages = _messages(system, join_sections(kept))
        prompt_tokens = model.count_prompt_tokens(messages)
        excess = prompt_tokens + output - context
        if excess <= 0:
            return BudgetedPrompt(
                messages=messages,
                max_tokens=min(desired, context - prompt_tokens),
                prompt_tokens=prompt_tokens,
                n_ctx=context,
                sections=kept,
            )
        if content_budget - excess >= need:
            content_budget -= excess
        elif output - excess >= min(min_output_tokens, desired):
            output -= excess
        else:
            break
    raise PromptBudgetError(
        f"cannot fit the prompt into n_ctx {context} with at least {floor} tokens for the "
        f"answer; raise {CONTEXT_SETTING} or lower {MAX_TOKENS_SETTINGS}"
    )
