"""check_model_files: every configured GGUF is checked up front, headers only, in milliseconds.

A truncated model used to be reported only when the first generation loaded it, after
indexing, graph sync and code selection had run and printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codedreamer.config.settings import Settings, load_settings
from codedreamer.errors import ConfigError, ModelLoadError
from codedreamer.models import preflight
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.preflight import (
    check_max_tokens,
    check_model_files,
    configured_model_files,
)


def settings_with(**env: str) -> Settings:
    return load_settings(
        env_file=None, environ={f"DREAMER_{k.upper()}": v for k, v in env.items()}
    ).settings


@pytest.fixture(scope="module")
def truncated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model cut to 60 %: header intact, tensor data short."""
    source = bundled_model_path()
    path = tmp_path_factory.mktemp("models") / "cut.gguf"
    with source.open("rb") as whole, path.open("wb") as cut:
        cut.write(whole.read(int(source.stat().st_size * 0.6)))
    return path


def test_the_bundled_model_passes_quickly() -> None:
    settings = settings_with()
    started = time.perf_counter()
    check_model_files(settings)
    seconds = time.perf_counter() - started
    assert seconds < 1.0, seconds  # a header read, not a 100 MB load
    files = configured_model_files(settings)
    assert [f.path for f in files] == [bundled_model_path()]
    assert "DREAMER_MODEL_PATH unset" in files[0].env_var


def test_a_truncated_reasoning_model_is_one_line_naming_the_setting(truncated: Path) -> None:
    with pytest.raises(ModelLoadError) as info:
        check_model_files(settings_with(model_path=str(truncated)))
    message = str(info.value)
    assert message.startswith(f"DREAMER_MODEL_PATH: {truncated}: truncated GGUF file")
    assert "\n" not in message and info.value.exit_code == 2


@pytest.mark.parametrize(
    ("field", "make", "problem"),
    [
        ("coder_model_path", "directory", "is a directory"),
        ("coder_model_path", "text", "not a GGUF model file"),
        ("embed_model_path", "missing", "does not exist"),
        ("embed_model_path", "empty", "is empty"),
    ],
)
def test_coder_and_embedding_models_are_checked_too(
    tmp_path: Path, field: str, make: str, problem: str
) -> None:
    path = tmp_path / "model.gguf"
    if make == "directory":
        path.mkdir()
    elif make == "text":
        path.write_text("this is not a model\n" * 10)
    elif make == "empty":
        path.write_bytes(b"")
    with pytest.raises(ModelLoadError) as info:
        check_model_files(settings_with(**{field: str(path)}))
    assert str(info.value).startswith(f"DREAMER_{field.upper()}: {path}: ")
    assert problem in str(info.value)


def test_the_reasoning_model_is_named_first(truncated: Path, tmp_path: Path) -> None:
    settings = settings_with(model_path=str(truncated), coder_model_path=str(tmp_path / "no.gguf"))
    with pytest.raises(ModelLoadError, match=r"^DREAMER_MODEL_PATH"):
        check_model_files(settings)


def test_a_good_explicit_set_passes(tmp_path: Path) -> None:
    model = str(bundled_model_path())
    settings = settings_with(model_path=model, coder_model_path=model, embed_model_path=model)
    check_model_files(settings)
    assert [f.env_var for f in configured_model_files(settings)] == [
        "DREAMER_MODEL_PATH",
        "DREAMER_CODER_MODEL_PATH",
        "DREAMER_EMBED_MODEL_PATH",
    ]


def test_llama_cpp_missing_is_a_model_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "LLAMA_MODULE", "no_such_llama_module_for_this_test")
    with pytest.raises(ModelLoadError, match="llama-cpp-python is not installed"):
        check_model_files(settings_with())


def test_preflight_loads_no_weights_and_imports_no_llama(tmp_path: Path) -> None:
    script = (
        "import json, sys, time\n"
        "from codedreamer.config.settings import load_settings\n"
        "from codedreamer.models.preflight import check_model_files\n"
        "s = load_settings(env_file=None, environ={}).settings\n"
        "t = time.perf_counter(); check_model_files(s); t = time.perf_counter() - t\n"
        "print(json.dumps({'llama': 'llama_cpp' in sys.modules, 'seconds': t}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMER_")}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    report = json.loads(result.stdout)
    assert report["llama"] is False
    assert report["seconds"] < 1.0  # measured 0.07-0.12 s on a shared 2-core machine


# ---------------------------------------------------------------- max tokens against n_ctx

TRAINED = 8192  # SmolLM2-135M's trained context, from its GGUF header


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"n_ctx": "2048"}, "DREAMER_REASONING_MAX_TOKENS"),  # default 4000 > 2048
        ({"n_ctx": "2048", "reasoning_max_tokens": "1000"}, "DREAMER_CODER_MAX_TOKENS"),
        ({"n_ctx": "65536", "reasoning_max_tokens": "9000"}, "DREAMER_REASONING_MAX_TOKENS"),
        ({"reasoning_max_tokens": "8192"}, "DREAMER_REASONING_MAX_TOKENS"),
    ],
)
def test_max_tokens_the_context_cannot_hold_is_refused_naming_the_setting(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as info:
        check_max_tokens(settings_with(**env))
    message = str(info.value)
    assert message.startswith(f"{named}: ") and "DREAMER_N_CTX" in message
    assert "\n" not in message and info.value.exit_code == 2
    if env.get("n_ctx") == "65536":
        assert f"trained for {TRAINED}" in message  # the cap the runtime applies


def test_max_tokens_that_fit_pass_and_a_caller_cap_replaces_the_settings() -> None:
    check_max_tokens(settings_with())  # 4000 and 3000 in 8192
    small = settings_with(n_ctx="2048")
    check_max_tokens(small, max_tokens=48)  # what `dream --max-tokens 48` runs with
    with pytest.raises(ConfigError, match=r"^--max-tokens: 2048 is not below"):
        check_max_tokens(small, max_tokens=2048)


def test_a_separate_coder_model_is_held_to_the_coder_setting_only(tmp_path: Path) -> None:
    model = str(bundled_model_path())
    settings = settings_with(
        n_ctx="2048", reasoning_max_tokens="1000", coder_max_tokens="3000",
        coder_model_path=model,
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"^DREAMER_CODER_MAX_TOKENS: 3000"):
        check_max_tokens(settings)
    files = configured_model_files(settings)
    assert [f.max_tokens_settings for f in files] == [
        ("DREAMER_REASONING_MAX_TOKENS",),
        ("DREAMER_CODER_MAX_TOKENS",),
    ]


def test_check_model_files_does_not_judge_max_tokens() -> None:
    check_model_files(settings_with(n_ctx="2048"))  # only the files: the caller may cap tokens
