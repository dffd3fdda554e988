"""Check every configured model file before any other work starts, without loading weights.

A truncated or foreign GGUF used to be reported only when the first generation loaded it —
after indexing, graph sync and code selection had run and printed. `check_model_files`
reads just the headers (see gguf.py: magic, version, tensor table, file size against the
table), so a command can fail with one line, exit 2, in milliseconds, before anything else.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codedreamer.config.settings import env_key
from codedreamer.errors import ModelLoadError
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.gguf import check_model_file

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings

LLAMA_MODULE = "llama_cpp"


@dataclass(frozen=True)
class ModelFile:
    """A model file the settings name, and the setting to name when it is bad."""

    path: Path
    env_var: str


def configured_model_files(settings: Settings) -> list[ModelFile]:
    """The GGUF files a dream engine with these settings will load, reasoning model first.

    With DREAMER_MODEL_PATH unset that is the bundled model (ModelLoadError if it is not
    installed); the coder and embedding models only when they are set.
    """
    model_var = env_key("model_path")
    if settings.model_path is not None:
        files = [ModelFile(settings.model_path, model_var)]
    else:
        files = [ModelFile(bundled_model_path(), f"bundled model ({model_var} unset)")]
    if settings.coder_model_path is not None:
        files.append(ModelFile(settings.coder_model_path, env_key("coder_model_path")))
    if settings.embed_model_path is not None:
        files.append(ModelFile(settings.embed_model_path, env_key("embed_model_path")))
    return files


def check_model_files(settings: Settings) -> None:
    """Raise ModelLoadError (one line naming the setting and the path) unless every configured
    model file looks loadable and llama-cpp-python is installed. Reads headers only.
    """
    files = configured_model_files(settings)
    for model in files:
        check_model_file(model.path, model.env_var)
    # find_spec locates the package without importing it (importing loads libllama).
    if importlib.util.find_spec(LLAMA_MODULE) is None:
        raise ModelLoadError(
            f"{files[0].env_var}: llama-cpp-python is not installed, so no model can run; "
            "pip install llama-cpp-python"
        )
