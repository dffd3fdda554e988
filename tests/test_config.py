"""Settings: precedence, sources, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_runner import run_codedreamer

from codedreamer.config.env_example import render_env_example
from codedreamer.config.settings import Settings, load_settings
from codedreamer.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_defaults_follow_the_spec() -> None:
    loaded = load_settings(env_file=None, environ={})
    s = loaded.settings
    assert (s.reasoning_max_tokens, s.coder_max_tokens, s.n_ctx) == (4000, 3000, 8192)
    assert (s.dream_interval_sec, s.decay_interval_sec) == (120, 3600)
    assert (s.dream_temperature, s.novelty_threshold, s.repeat_penalty) == (0.8, 0.4, 1.15)
    assert s.exclude_patterns == ["tests", "test_*", "*_test.py", "conftest.py"]
    assert s.dreams_dir == Path("dreams")
    assert s.model_path is None and s.clear_index_on_start is False
    assert set(loaded.sources.values()) == {"default"}


def test_precedence_is_cli_then_env_then_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DREAMER_N_CTX=2048\nDREAMER_N_THREADS=3\nDREAMER_DREAM_TEMPERATURE=0.5\n")
    loaded = load_settings(
        {"n_ctx": 1024},
        env_file=env_file,
        environ={"DREAMER_N_CTX": "4096", "DREAMER_N_THREADS": "2"},
    )
    s = loaded.settings
    assert (s.n_ctx, s.n_threads, s.dream_temperature) == (1024, 2, 0.5)
    assert loaded.sources["n_ctx"] == "cli"
    assert loaded.sources["n_threads"] == "env"
    assert loaded.sources["dream_temperature"] == ".env"
    assert loaded.sources["n_gpu_layers"] == "default"
    assert loaded.env_file == env_file


def test_seed_readme_variables_are_accepted() -> None:
    environ = {
        "DREAMER_DAEMON_MODE": "true",
        "DREAMER_CODEBASE_PATH": "/tmp",
        "DREAMER_N_GPU_LAYERS": "-1",
        "DREAMER_EXTENDED_CONTEXT": "true",
        "DREAMER_EXTENDED_CONTEXT_LIMIT": "12000",
        "DREAMER_LOG_LEVEL": "debug",
        "DREAMER_DB_PATH": "/tmp/db",
        "DREAMER_GRAPH_PATH": "/tmp/graph",
        "DREAMER_EXCLUDE_PATTERNS": "tests, vendor ,*.min.js",
    }
    s = load_settings(env_file=None, environ=environ).settings
    assert s.daemon_mode is True and s.n_gpu_layers == -1 and s.log_level == "DEBUG"
    assert s.exclude_patterns == ["tests", "vendor", "*.min.js"]
    assert s.index_dir == Path("/tmp/db") and s.graph_dir == Path("/tmp/graph")


def test_blank_paths_mean_unset() -> None:
    s = load_settings(
        env_file=None, environ={"DREAMER_MODEL_PATH": "  ", "DREAMER_N_THREADS": ""}
    ).settings
    assert s.model_path is None and s.n_threads is None


def test_unknown_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None, environ={"DREAMER_MODEL_PAHT": "x.gguf"})
    message = str(info.value)
    assert "DREAMER_MODEL_PAHT" in message and "DREAMER_MODEL_PATH" in message
    assert "\n" not in message


def test_unknown_key_in_dotenv_names_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DREAMER_NOVELTY_TRESHOLD=0.5\n")
    with pytest.raises(ConfigError, match=r"DREAMER_NOVELTY_TRESHOLD.*\.env.*NOVELTY_THRESHOLD"):
        load_settings(env_file=env_file, environ={})


def test_non_dreamer_variables_are_ignored() -> None:
    load_settings(env_file=None, environ={"PATH": "/bin", "DREAMERX": "1", "HOME": "/root"})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DREAMER_N_CTX", "lots"),
        ("DREAMER_N_CTX", "100"),
        ("DREAMER_DREAM_TEMPERATURE", "3.5"),
        ("DREAMER_NOVELTY_THRESHOLD", "-0.1"),
        ("DREAMER_CLEAR_INDEX_ON_START", "maybe"),
        ("DREAMER_N_GPU_LAYERS", "-2"),
        ("DREAMER_LOG_LEVEL", "loud"),
        ("DREAMER_DREAM_INTERVAL_SEC", "-5"),
    ],
)
def test_bad_values_name_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None, environ={key: value})
    message = str(info.value)
    assert message.startswith(key + ":")
    assert value.lower() in message.lower() and "\n" not in message


def test_cli_override_of_unknown_field_is_an_error() -> None:
    with pytest.raises(ConfigError):
        load_settings({"n_ctxx": 5}, env_file=None, environ={})


def test_unreadable_dotenv_is_a_config_error(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"DREAMER_N_CTX=\xff\xfe\n")
    with pytest.raises(ConfigError, match=r"\.env"):
        load_settings(env_file=env_file, environ={})


def test_env_example_documents_every_setting_and_is_current() -> None:
    committed = (REPO / ".env.example").read_text()
    assert committed == render_env_example(), (
        "run: python -m codedreamer.config.env_example > .env.example"
    )
    for name in Settings.model_fields:
        assert f"DREAMER_{name.upper()}=" in committed
    # The example itself must load with no error.
    load_settings(env_file=REPO / ".env.example", environ={})


def _run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_codedreamer(*args, env=env, cwd=cwd)


def test_config_command_reports_sources(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DREAMER_N_CTX=2048\n")
    result = _run_cli("config", "--json", env={"DREAMER_N_THREADS": "2"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["DREAMER_N_CTX"] == {"value": 2048, "source": ".env"}
    assert data["DREAMER_N_THREADS"] == {"value": 2, "source": "env"}
    assert data["DREAMER_REPEAT_PENALTY"] == {"value": 1.15, "source": "default"}

    table = _run_cli("config", env={}, cwd=tmp_path)
    assert table.returncode == 0 and "DREAMER_N_CTX" in table.stdout


@pytest.mark.parametrize(
    "env",
    [{"DREAMER_N_CTX": "abc"}, {"DREAMER_BOGUS": "1"}],
)
def test_config_command_bad_input_is_one_line_exit_2(tmp_path: Path, env: dict[str, str]) -> None:
    result = _run_cli("config", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DREAMER_")
    assert "Traceback" not in result.stderr
