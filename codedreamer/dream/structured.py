"""A chat model whose every generation is constrained by a JSON schema (a grammar).

`run_stage` streams any model with a `chat` method; wrapping the model here is how the
Critic and Reflect stages get grammar-constrained JSON while still streaming tokens as
events. llama-cpp-python ignores `response_format` json_schema, so the runtime builds a
grammar from the schema instead (models/runtime.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codedreamer.models.runtime import ChatModel


class SchemaModel:
    """Delegates to `model`, adding `json_schema` to every `chat` call."""

    def __init__(self, model: ChatModel, schema: Mapping[str, Any]) -> None:
        self._model = model
        self._schema = schema

    @property
    def name(self) -> str:
        return self._model.name

    def chat(self, messages: Any, **options: Any) -> Any:
        return self._model.chat(messages, json_schema=self._schema, **options)

    def __getattr__(self, item: str) -> Any:
        return getattr(self._model, item)
