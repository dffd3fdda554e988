"""Lance's native WARN lines during an ANN build go to DATA_DIR/lance.log, not the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Identical files whose names hold no search terms give identical vectors, so most KMeans
# partitions come out empty: Lance logs WARN lines from Rust, straight to descriptor 2.
SCRIPT = """
import sys
from pathlib import Path
from codedreamer.config.settings import load_settings
from codedreamer.index.indexer import index_codebase, open_index

root, data, level = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
for i in range(600):
    (root / f"{i:04d}.txt").write_text("alpha beta gamma\\n")
settings = load_settings(
    {"data_dir": data, "log_level": level}, env_file=None, environ={}
).settings
index_codebase(root, settings, build_ann=False)
store = open_index(settings)
store.build_vector_index(num_partitions=16)
assert store.has_vector_index()
print("built")
"""


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_ann_build_warnings_go_to_the_log_file(tmp_path: Path, level: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), str(data), level],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "built"
    log = data / "lance.log"
    if level == "INFO":
        assert "WARN" not in result.stderr, result.stderr
        assert "WARN" in log.read_text()
    else:
        # LOG_LEVEL=debug: the user asked to see them.
        assert "WARN" in result.stderr
        assert not log.exists()
