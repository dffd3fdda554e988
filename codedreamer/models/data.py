"""Values that cross the models boundary: chat messages, model specs, generation stats.

Kept apart from the runtime so that the pure budgeting code and its callers can use them
without touching llama.cpp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["reasoning", "coder", "embedding"]
FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class ModelSpec:
    """How to load one GGUF model; `env_var` is the setting that named `path`, for errors."""

    role: Role
    path: Path
    env_var: str
    n_ctx: int
    n_gpu_layers: int
    n_threads: int


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class GenerationStats:
    """Counts and timings of one generation, complete once its stream has ended.

    `completion_tokens` counts every token the model sampled, including the end-of-turn token
    that stopped it. `first_token_seconds` runs from the start of the call to the first
    text piece (prompt prefill included; None if nothing came). `tokens_per_second` is
    the decode rate after the first token, the number a user compares between models.
    """

    prompt_tokens: int
    completion_tokens: int
    first_token_seconds: float | None
    seconds: float
    tokens_per_second: float
    finish_reason: FinishReason
