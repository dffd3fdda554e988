"""Builds the models CodeDreamer uses from settings: reasoning, coder, embedding path.

Nothing is loaded here: each ChatModel loads on first use, and the coder falls back to the
very same ChatModel object as the reasoning model, so one file is loaded once and shares
one generation lock. The embedding model is only located; the index owns the embedder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codedreamer.config.settings import env_key
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.data import ModelSpec, Role
from codedreamer.models.gguf import check_model_file
from codedreamer.models.runtime import ChatModel

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings

log = logging.getLogger(__name__)

MODEL_VAR = env_key("model_path")
CODER_VAR = env_key("coder_model_path")
EMBED_VAR = env_key("embed_model_path")
LOG_FILE_NAME = "llama.log"


def _spec(settings: Settings, role: Role, path: Path, env_var: str) -> ModelSpec:
    return ModelSpec(
        role=role,
        path=path,
        env_var=env_var,
        n_ctx=settings.n_ctx,
        n_gpu_layers=settings.n_gpu_layers,
        n_threads=settings.effective_threads,
    )


@dataclass
class ModelSet:
    """The models of one engine. `coder is reasoning` when no coder model is configured."""

    reasoning: ChatModel
    coder: ChatModel
    embed_model_path: Path | None

    @property
    def shared_coder(self) -> bool:
        return self.coder is self.reasoning

    @classmethod
    def from_settings(cls, settings: Settings, *, log_path: Path | None = None) -> ModelSet:
        """Describe the models the settings name, without loading any of them.

        Native llama.cpp logs go to `log_path`, by default `<DATA_DIR>/llama.log`.
        """
        logs = log_path if log_path is not None else settings.data_dir / LOG_FILE_NAME
        if settings.model_path is not None:
            reasoning_spec = _spec(settings, "reasoning", settings.model_path, MODEL_VAR)
        else:
            bundled = bundled_model_path()
            label = f"bundled model ({MODEL_VAR} unset)"
            reasoning_spec = _spec(settings, "reasoning", bundled, label)
        reasoning = ChatModel(reasoning_spec, log_path=logs)
        if settings.coder_model_path is not None:
            coder_spec = _spec(settings, "coder", settings.coder_model_path, CODER_VAR)
            coder = ChatModel(coder_spec, log_path=logs)
        else:
            coder = reasoning
        return cls(reasoning=reasoning, coder=coder, embed_model_path=settings.embed_model_path)

    def check_files(self) -> None:
        """Validate every configured model file now (cheap header read, no load).

        Lets a command fail at start with a one-line ModelLoadError instead of minutes later.
        """
        check_model_file(self.reasoning.spec.path, self.reasoning.spec.env_var)
        if not self.shared_coder:
            check_model_file(self.coder.spec.path, self.coder.spec.env_var)
        if self.embed_model_path is not None:
            check_model_file(self.embed_model_path, EMBED_VAR)

    def close(self) -> None:
        """Free every loaded model (each waits for its running generation to finish)."""
        self.reasoning.close()
        if not self.shared_coder:
            self.coder.close()
