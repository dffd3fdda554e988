"""Check every configured model file before any other work starts, without loading weights.

A truncated or foreign GGUF used to be reported only when the first generation loaded it —
after indexing, graph sync and code selection had run and printed. `check_model_files`
reads just the headers (see gguf.py: magic, version, tensor table, file size against the
table), so a command can fail with one line, exit 2, in milliseconds, before anything else.
The header also gives the trained context, so `check_max_tokens` can refuse a max-tokens
setting that the context can never hold (the prompt budget would refuse it at the first
generation) just as early.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codedreamer.config.settings import ENV_PREFIX, env_key
from codedreamer.errors import ConfigError, ModelLoadError
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.gguf import read_gguf_info

if TYPE_CHECKING:
    from codedreamer.config.settings import Settings

LLAMA_MODULE = "llama_cpp"


@dataclass(frozen=True)
class ModelFile:
    """A model file the settings name, and the setting to name when it is bad.

    `max_tokens_settings` name the settings whose max tokens this model must hold (none for
    the embedding model, which does not generate; both when the reasoning model also codes).
    """

    path: Path
    env_var: str
    max_tokens_settings: tuple[str, ...] = ()


def configured_model_files(settings: Settings) -> list[ModelFile]:
    """The GGUF files a dream engine with these settings will load, reasoning model first.

    With DREAMER_MODEL_PATH unset that is the bundled model (ModelLoadError if it is not
    installed); the coder and embedding models only when they are set.
    """
    model_var = env_key("model_path")
    reasoning_tokens = env_key("reasoning_max_tokens")
    coder_tokens = env_key("coder_max_tokens")
    separate_coder = settings.coder_model_path is not None
    # Without a coder model the Code stage runs on the reasoning model: it must hold both.
    tokens = (reasoning_tokens,) if separate_coder else (reasoning_tokens, coder_tokens)
    if settings.model_path is not None:
        files = [ModelFile(settings.model_path, model_var, tokens)]
    else:
        files = [ModelFile(bundled_model_path(), f"bundled model ({model_var} unset)", tokens)]
    if settings.coder_model_path is not None:
        files.append(
            ModelFile(settings.coder_model_path, env_key("coder_model_path"), (coder_tokens,))
        )
    if settings.embed_model_path is not None:
        files.append(ModelFile(settings.embed_model_path, env_key("embed_model_path")))
    return files


def check_model_files(settings: Settings) -> None:
    """Raise ModelLoadError (one line naming the setting and the path) unless every configured
    model file looks loadable and llama-cpp-python is installed. Reads headers only.
    """
    files = configured_model_files(settings)
    for model in files:
        read_gguf_info(model.path, model.env_var)
    # find_spec locates the package without importing it (importing loads libllama).
    if importlib.util.find_spec(LLAMA_MODULE) is None:
        raise ModelLoadError(
            f"{files[0].env_var}: llama-cpp-python is not installed, so no model can run; "
            "pip install llama-cpp-python"
        )


def check_max_tokens(settings: Settings, *, max_tokens: int | None = None) -> None:
    """Raise ConfigError naming the setting when a generating model's max tokens is not
    below its context: DREAMER_N_CTX capped at the model's trained context, as the runtime
    caps it. The prompt budget would refuse such a value at the first generation; this
    says so before any work. `max_tokens` is a caller's cap for every stage
    (`--max-tokens`) and replaces the settings. Reads headers only (ModelLoadError as
    check_model_files for a bad file).
    """
    for model in configured_model_files(settings):
        if not model.max_tokens_settings:
            continue
        trained = read_gguf_info(model.path, model.env_var).context_length
        for setting in model.max_tokens_settings:
            _check_max_tokens(settings, setting, trained, max_tokens)


def _check_max_tokens(
    settings: Settings, setting: str, trained: int | None, cap: int | None
) -> None:
    context = settings.n_ctx if trained is None else min(settings.n_ctx, trained)
    if cap is not None:
        wanted, source = cap, "--max-tokens"
    else:
        field = setting.removeprefix(ENV_PREFIX).lower()
        wanted, source = int(getattr(settings, field)), setting
    if wanted < context:
        return
    trained_note = f", the model was trained for {trained}" if trained is not None else ""
    raise ConfigError(
        f"{source}: {wanted} is not below the context of {context} tokens "
        f"({env_key('n_ctx')} {settings.n_ctx}{trained_note}), so no room is left for the "
        f"prompt; lower {source} or raise {env_key('n_ctx')}"
    )
