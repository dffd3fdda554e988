"""Settings: `DREAMER_*` environment variables, a `.env` file, and CLI overrides.

Precedence, highest first: CLI option, process environment, `.env` file, default.
`load_settings` is the single place settings are built; nothing here runs at import time.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from codedreamer.errors import ConfigError

ENV_PREFIX = "DREAMER_"

DEFAULT_EXCLUDE_PATTERNS = ["tests", "test_*", "*_test.py", "conftest.py"]


def _split_patterns(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


class Settings(BaseSettings):
    """Every setting CodeDreamer reads. Field docs become `.env.example` and `config` help."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=None,
        extra="ignore",
        validate_default=True,
        case_sensitive=False,
    )

    # Models
    model_path: Path | None = Field(
        None, description="Reasoning model GGUF; empty = the bundled SmolLM2-135M."
    )
    coder_model_path: Path | None = Field(
        None, description="Coder model GGUF; empty = use the reasoning model."
    )
    embed_model_path: Path | None = Field(
        None, description="GGUF embedding model; empty = the built-in lexical embedder."
    )
    reasoning_max_tokens: int = Field(4000, ge=16, description="Max tokens for Stage 1 Think.")
    coder_max_tokens: int = Field(3000, ge=16, description="Max tokens for Stage 2 Code.")
    n_gpu_layers: int = Field(
        0, ge=-1, description="Layers offloaded to the GPU (-1 = all; needs a CUDA build)."
    )
    n_ctx: int = Field(8192, ge=512, le=1_048_576, description="Context window in tokens.")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; empty = all cores.")
    dream_temperature: float = Field(0.8, ge=0.0, le=2.0, description="Sampling temperature.")
    repeat_penalty: float = Field(
        1.15, ge=1.0, le=2.0, description="Penalty on repeated tokens during generation."
    )

    # Scheduling
    dream_interval_sec: float = Field(
        120, ge=0, description="Seconds between dream cycles (0 = back to back)."
    )
    decay_interval_sec: float = Field(3600, ge=1, description="Seconds between graph decays.")
    daemon_mode: bool = Field(
        False, description="With `serve`: also run the dream engine, not only show it."
    )
    max_dreams_per_cycle: int = Field(1, ge=1, description="Dreams attempted per cycle.")

    # Dream quality
    novelty_threshold: float = Field(
        0.4, ge=0.0, le=1.0, description="Dreams scoring below this novelty are rejected."
    )
    extended_context: bool = Field(
        False, description="Give the model more surrounding code (imports, overview)."
    )
    extended_context_limit: int = Field(
        12000, ge=1000, description="Characters of code context in extended mode."
    )
    prompt_context_limit: int = Field(
        4000, ge=500, description="Characters of code context in normal mode."
    )
    lucid_check_enabled: bool = Field(
        True, description="Ask the model whether a dream is specific and actionable."
    )

    # Paths
    codebase_path: Path | None = Field(
        None, description="Codebase to dream about; commands default to the current directory."
    )
    dreams_dir: Path = Field(Path("dreams"), description="Where dream Markdown files go.")
    data_dir: Path = Field(
        Path(".codedreamer"), description="Index (LanceDB) and knowledge graph (Arrow) files."
    )
    exclude_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE_PATTERNS),
        description="Comma-separated gitignore-style patterns never indexed.",
    )
    clear_index_on_start: bool = Field(False, description="Wipe the index when starting.")
    chunk_size: int = Field(
        3000, ge=200, description="Characters per line-window chunk for unparsed files."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Log level of the daemon and server logs."
    )
    db_path: Path | None = Field(
        None,
        description="Original's name for the index directory (overrides DATA_DIR/index).",
    )
    graph_path: Path | None = Field(
        None,
        description="Original's name for the graph directory (overrides DATA_DIR/graph).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings merges CLI, environment and .env itself so that it can report
        # where each value came from; the model only validates what it is given.
        return (init_settings,)

    @field_validator("exclude_patterns", mode="before")
    @classmethod
    def _patterns(cls, value: Any) -> Any:
        return _split_patterns(value)

    @field_validator(
        "model_path",
        "coder_model_path",
        "embed_model_path",
        "codebase_path",
        "n_threads",
        "db_path",
        "graph_path",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def index_dir(self) -> Path:
        return self.db_path if self.db_path is not None else self.data_dir / "index"

    @property
    def graph_dir(self) -> Path:
        return self.graph_path if self.graph_path is not None else self.data_dir / "graph"

    @property
    def effective_threads(self) -> int:
        return self.n_threads or max(1, os.cpu_count() or 1)


Source = Literal["cli", "env", ".env", "default"]


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus where each value came from, for `codedreamer config`."""

    settings: Settings
    sources: Mapping[str, Source]
    env_file: Path | None


def env_key(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _read_env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    try:
        raw = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read .env file ({exc})") from exc
    return {key: value for key, value in raw.items() if value is not None}


def _check_known(keys: Mapping[str, str], origin: str) -> None:
    names = sorted(name.upper() for name in Settings.model_fields)
    for key in keys:
        upper = key.upper()
        if not upper.startswith(ENV_PREFIX) or upper[len(ENV_PREFIX) :] in names:
            continue
        # Compare without the shared prefix, or every key looks alike.
        guess = difflib.get_close_matches(upper[len(ENV_PREFIX) :], names, n=1, cutoff=0.6)
        hint = f" (did you mean {ENV_PREFIX}{guess[0]}?)" if guess else ""
        raise ConfigError(f"{key}: unknown setting in {origin}{hint}")


def _describe_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    value = first.get("input")
    shown = repr(value) if not isinstance(value, dict) else "?"
    return f"{env_key(field)}: {first['msg']} (got {shown})"


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env_file: Path | None = Path(".env"),
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Build settings from CLI overrides, environment and `.env`; raise ConfigError on bad input."""
    environ = os.environ if environ is None else environ
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    for name in overrides:
        if name not in Settings.model_fields:
            raise ConfigError(f"{name}: not a setting")

    file_values: dict[str, str] = {}
    used_env_file: Path | None = None
    if env_file is not None and env_file.is_file():
        file_values = _read_env_file(env_file)
        used_env_file = env_file
        _check_known(file_values, str(env_file))
    env_values = {k: v for k, v in environ.items() if k.upper().startswith(ENV_PREFIX)}
    _check_known(env_values, "the environment")

    merged: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    env_upper = {k.upper(): v for k, v in env_values.items()}
    file_upper = {k.upper(): v for k, v in file_values.items()}
    for name in Settings.model_fields:
        key = env_key(name)
        if name in overrides:
            merged[name], sources[name] = overrides[name], "cli"
        elif key in env_upper:
            merged[name], sources[name] = env_upper[key], "env"
        elif key in file_upper:
            merged[name], sources[name] = file_upper[key], ".env"
        else:
            sources[name] = "default"
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe_error(exc)) from None
    return LoadedSettings(settings=settings, sources=sources, env_file=used_env_file)
