"""Secrets stay out of prompts; DREAMER_INCLUDE_TESTS brings test files into the index."""

from __future__ import annotations

from pathlib import Path

from codedreamer.engine.engine import Engine
from codedreamer.index.indexer import index_codebase, open_index
from tests.sample_repo import settings_for

AWS = "AKIAQX7G2M4RZK3PLV5N"


def test_source_read_for_a_prompt_has_its_secrets_redacted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "client.py").write_text(
        f'ACCESS_KEY = "{AWS}"\n\n\ndef connect(region):\n    return (ACCESS_KEY, region)\n'
    )
    engine = Engine(settings_for(tmp_path), repo, lambda event: None)
    try:
        text = engine._read_source("client.py")
    finally:
        engine.close()
    assert text is not None and "def connect(region)" in text
    assert AWS not in text


def test_include_tests_setting_indexes_test_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "score.go").write_text("package pkg\n\nfunc Score(a int) int { return a }\n")
    (repo / "pkg" / "score_test.go").write_text(
        'package pkg\n\nimport "testing"\n\nfunc TestScore(t *testing.T) { Score(1) }\n'
    )
    for include, expected in (
        ("false", {"pkg/score.go"}),
        ("true", {"pkg/score.go", "pkg/score_test.go"}),
    ):
        settings = settings_for(
            tmp_path / include, DREAMER_INCLUDE_TESTS=include, DREAMER_EXCLUDE_PATTERNS=""
        )
        index_codebase(repo, settings)
        store = open_index(settings)
        try:
            assert store.chunk_paths() == expected
        finally:
            store.close()
