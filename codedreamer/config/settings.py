"""Settings: `DREAMER_*` environment variables, a `.env` file, and CLI overrides.

Precedence, highest first: CLI option, process environment, `.env` file, default.
`load_settings` is the single place settings are built; nothing here runs at import time.
"""

from __future__ import annotations

import difflib
import io
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

# Upper bounds on numbers: each is far above any useful value and far below what breaks
# the OS, llama.cpp or the libraries (a huge thread count segfaults or hangs llama.cpp, an
# infinite interval kills time.sleep, a year-long decay interval is never reached).
CONTEXT_LIMIT = 1_048_576
"""Largest N_CTX, and so the largest max tokens (a completion never outgrows its context)."""
GPU_LAYERS_LIMIT = 10_000
THREADS_PER_CORE_LIMIT = 4
INTERVAL_LIMIT_SEC = 7 * 86_400.0
DECAY_INTERVAL_LIMIT_SEC = 30 * 86_400.0
VERIFY_TIMEOUT_LIMIT_SEC = 86_400.0
DREAMS_PER_CYCLE_LIMIT = 100
CONTEXT_CHARS_LIMIT = 4_000_000
CHUNK_SIZE_LIMIT = 1_000_000
PATH_BYTES_LIMIT = 4096
NAME_BYTES_LIMIT = 255
SHOWN_VALUE_CHARS = 80

DEFAULT_EXCLUDE_PATTERNS = ["tests", "test_*", "*_test.py", "conftest.py"]


def _split_patterns(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def threads_limit() -> int:
    """The most CPU threads accepted: beyond a few per core llama.cpp only slows or hangs."""
    return THREADS_PER_CORE_LIMIT * max(1, os.cpu_count() or 1)


def _check_path(value: Path | None) -> Path | None:
    """Reject paths no system call accepts, before some later `stat` dies on them."""
    if value is None:
        return None
    raw = os.fsencode(value)
    if b"\0" in raw:
        raise ValueError("a path cannot contain a NUL byte")
    if len(raw) > PATH_BYTES_LIMIT:
        raise ValueError(f"path is longer than {PATH_BYTES_LIMIT} bytes")
    if any(len(part) > NAME_BYTES_LIMIT for part in raw.split(b"/")):
        raise ValueError(f"a path component is longer than {NAME_BYTES_LIMIT} bytes")
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
    reasoning_max_tokens: int = Field(
        4000, ge=16, le=CONTEXT_LIMIT, description="Max tokens for Stage 1 Think."
    )
    coder_max_tokens: int = Field(
        3000, ge=16, le=CONTEXT_LIMIT, description="Max tokens for Stage 2 Code."
    )
    n_gpu_layers: int = Field(
        0,
        ge=-1,
        le=GPU_LAYERS_LIMIT,
        description="Layers offloaded to the GPU (-1 = all; needs a CUDA build).",
    )
    n_ctx: int = Field(8192, ge=512, le=CONTEXT_LIMIT, description="Context window in tokens.")
    n_threads: int | None = Field(
        None, ge=1, description="CPU threads (at most 4 per core); empty = all cores."
    )
    dream_temperature: float = Field(
        0.8, ge=0.0, le=2.0, allow_inf_nan=False, description="Sampling temperature."
    )
    repeat_penalty: float = Field(
        1.15,
        ge=1.0,
        le=2.0,
        allow_inf_nan=False,
        description="Penalty on repeated tokens during generation.",
    )

    # Scheduling
    dream_interval_sec: float = Field(
        120,
        ge=0,
        le=INTERVAL_LIMIT_SEC,
        allow_inf_nan=False,
        description="Seconds between dream cycles (0 = back to back; at most a week).",
    )
    decay_interval_sec: float = Field(
        3600,
        ge=1,
        le=DECAY_INTERVAL_LIMIT_SEC,
        allow_inf_nan=False,
        description="Seconds between graph decays (at most 30 days).",
    )
    daemon_mode: bool = Field(
        False, description="With `serve`: also run the dream engine, not only show it."
    )
    max_dreams_per_cycle: int = Field(
        1, ge=1, le=DREAMS_PER_CYCLE_LIMIT, description="Dreams attempted per cycle."
    )

    # Dream quality
    novelty_threshold: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Dreams scoring below this novelty are rejected.",
    )
    extended_context: bool = Field(
        False, description="Give the model more surrounding code (imports, overview)."
    )
    extended_context_limit: int = Field(
        12000,
        ge=1000,
        le=CONTEXT_CHARS_LIMIT,
        description="Characters of code context in extended mode.",
    )
    prompt_context_limit: int = Field(
        4000,
        ge=500,
        le=CONTEXT_CHARS_LIMIT,
        description="Characters of code context in normal mode.",
    )
    lucid_check_enabled: bool = Field(
        True, description="Ask the model whether a dream is specific and actionable."
    )

    # Verification
    verify_command: str | None = Field(
        None,
        description="Command run in a scratch worktree to verify a dream (e.g. pytest -q); "
        "empty = no command, only apply and parse checks.",
    )
    verify_timeout_sec: float = Field(
        300,
        ge=1,
        le=VERIFY_TIMEOUT_LIMIT_SEC,
        allow_inf_nan=False,
        description="Seconds the verify command may run before it counts as failed "
        "(at most a day).",
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
    include_tests: bool = Field(
        False,
        description="Index test files too (test/, __tests__/, *_test.go, *.spec.ts, ...); "
        "EXCLUDE_PATTERNS still apply.",
    )
    clear_index_on_start: bool = Field(False, description="Wipe the index when starting.")
    chunk_size: int = Field(
        3000,
        ge=200,
        le=CHUNK_SIZE_LIMIT,
        description="Characters per line-window chunk for unparsed files.",
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
        "verify_command",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator(
        "model_path",
        "coder_model_path",
        "embed_model_path",
        "codebase_path",
        "dreams_dir",
        "data_dir",
        "db_path",
        "graph_path",
    )
    @classmethod
    def _usable_path(cls, value: Path | None) -> Path | None:
        return _check_path(value)

    @field_validator("n_threads")
    @classmethod
    def _threads(cls, value: int | None) -> int | None:
        limit = threads_limit()
        if value is not None and value > limit:
            raise ValueError(
                f"must be at most {limit} ({THREADS_PER_CORE_LIMIT} per CPU core); "
                "more threads than that only slow llama.cpp down or hang it"
            )
        return value

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
    """The KEY=VALUE pairs of `path`; ConfigError naming the file (and line) if it is bad."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read .env file ({_reason(exc)})") from None
    # dotenv_values only logs a warning for a line it cannot parse and drops it; a dropped
    # setting would silently fall back to its default, so find such lines first.
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"{path}:{binding.original.line}: cannot parse this line "
                "(expected KEY=VALUE, a comment or a blank line)"
            )
    raw = dotenv_values(stream=io.StringIO(text))
    return {key: value for key, value in raw.items() if value is not None}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _env_file_values(path: Path | None, *, required: bool) -> tuple[dict[str, str], Path | None]:
    """Values of the env file, if any. A file the user named must exist and be a file;
    the default `.env` may be absent, or be a directory (a virtualenv called `.env`)."""
    if path is None:
        return {}, None
    if not path.exists():
        if required:
            raise ConfigError(f"--env-file {path}: no such file")
        return {}, None
    if path.is_dir():
        if required:
            raise ConfigError(f"--env-file {path}: is a directory, not a settings file")
        return {}, None
    return _read_env_file(path), path


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


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "?"
    text = repr(value)
    if len(text) > SHOWN_VALUE_CHARS:
        text = text[: SHOWN_VALUE_CHARS - 1] + "…"
    return text


def _describe_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{env_key(field)}: {message} (got {_shown(first.get('input'))})"


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env_file: Path | None = Path(".env"),
    env_file_required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Build settings from CLI overrides, environment and `.env`; raise ConfigError on bad input.

    `env_file_required` is for a file the user named (`--env-file`): then a missing file
    or a directory is an error rather than "no file".
    """
    environ = os.environ if environ is None else environ
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    for name in overrides:
        if name not in Settings.model_fields:
            raise ConfigError(f"{name}: not a setting")

    file_values, used_env_file = _env_file_values(env_file, required=env_file_required)
    if used_env_file is not None:
        _check_known(file_values, str(used_env_file))
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
