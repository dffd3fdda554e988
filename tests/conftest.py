"""Shared fixtures. The bundled model is loaded once per test session (about 0.5 s, 100 MB)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.runtime import ChatModel, ModelSpec


@pytest.fixture(scope="session")
def bundled_chat_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatModel]:
    """The real bundled SmolLM2 chat model, n_ctx 2048, CPU only, loaded once per session.

    Tests that use it must be marked `@pytest.mark.model`. One thread: llama.cpp threads
    wait for each other at every step, so on a busy 2-core machine two threads ran 2-3x
    slower than one (measured); one thread keeps the suite's time predictable.
    """
    log_dir: Path = tmp_path_factory.mktemp("llama-logs")
    spec = ModelSpec(
        role="reasoning",
        path=bundled_model_path(),
        env_var="DREAMER_MODEL_PATH",
        n_ctx=2048,
        n_gpu_layers=0,
        n_threads=1,
    )
    model = ChatModel(spec, log_path=log_dir / "llama.log")
    model.load()
    yield model
    model.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working directory for CLI tests: no DREAMER_ variables from outside, DATA_DIR
    and DREAMS_DIR under it, a wide terminal so lines are not wrapped."""
    for key in list(os.environ):
        if key.upper().startswith("DREAMER_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DREAMER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DREAMER_DREAMS_DIR", str(tmp_path / "dreams"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path
