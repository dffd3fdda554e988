"""`codedreamer dreams list|show|mark|actionable` and `codedreamer briefing` on real files.

Error paths and one listing run the real console script in a subprocess (errors go through
`main`, which turns them into one line and an exit code); the rest use typer's runner on
`build_app()`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codedreamer.cli.app import build_app
from codedreamer.storage.dream import Dream, Priority, Status, new_dream_id
from codedreamer.storage.dream_file import dream_to_dict
from codedreamer.storage.store import DreamStore

CODEDREAMER = Path(sys.executable).with_name("codedreamer")
MARKUP_TITLE = "Fix [red]markup[/red] and [bold]this[/bold]"
ESC = "\x1b"


def make_dream(hours_ago: float, **changes: object) -> Dream:
    created = datetime.now(UTC) - timedelta(hours=hours_ago)
    dream = Dream(
        id=new_dream_id(created),
        created=created,
        category="bugs",
        source_path="pkg/mod.py",
        line_start=3,
        line_end=14,
        title="A dream",
        language="python",
        insight="The loop never ends when the list is empty.\nSecond line.",
        code="def f(items):\n    return items[0] if items else None\n",
    )
    return dataclasses.replace(dream, **changes)  # type: ignore[arg-type]


@pytest.fixture
def dreams_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.upper().startswith("DREAMER_"):
            monkeypatch.delenv(key)
    directory = tmp_path / "dreams"
    monkeypatch.setenv("DREAMER_DREAMS_DIR", str(directory))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    return directory


@pytest.fixture
def sample(dreams_dir: Path) -> dict[str, Dream]:
    store = DreamStore(dreams_dir)
    dreams = {
        "critical": make_dream(1, priority=Priority.CRITICAL, novelty=0.3, title="Crash on empty"),
        "high_novel": make_dream(2, priority=Priority.HIGH, novelty=0.9, title="Cache parses"),
        "high_dull": make_dream(3, priority=Priority.HIGH, novelty=0.5, title="Split function"),
        "applied": make_dream(
            4, priority=Priority.CRITICAL, status=Status.APPLIED, title="Already done"
        ),
        "markup": make_dream(5, title=MARKUP_TITLE, insight=f"[blue]x[/blue] {ESC}[31mred"),
        "old": make_dream(48, priority=Priority.LOW, title="Two days old"),
    }
    for dream in dreams.values():
        store.save_new(dream)
    return dreams


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def run_cli(dreams_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DREAMER_")}
    env.update(DREAMER_DREAMS_DIR=str(dreams_dir), COLUMNS="200")
    return subprocess.run(
        [str(CODEDREAMER), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=dreams_dir.parent,
        timeout=60,
    )


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# ------------------------------------------------------------------ list


def test_list_shows_every_dream_newest_first(sample: dict[str, Dream]) -> None:
    code, out, err = invoke("dreams", "list")
    assert code == 0 and err == ""
    ids_in_order = sorted(sample.values(), key=lambda d: d.created, reverse=True)
    positions = [out.index(d.id) for d in ids_in_order]
    assert positions == sorted(positions)
    critical = sample["critical"]
    row = next(line for line in out.splitlines() if critical.id in line)
    for cell in (f"{critical.created:%Y-%m-%d %H:%M}", "critical", "pending", "0.30"):
        assert cell in row
    assert "Crash on empty" in row
    assert "bugs · pkg/mod.py:3-14" in out


def test_list_filters_and_limits(sample: dict[str, Dream]) -> None:
    _, out, _ = invoke("dreams", "list", "--status", "applied")
    assert sample["applied"].id in out and sample["critical"].id not in out
    _, out, _ = invoke("dreams", "list", "--priority", "HIGH")
    assert {d.id for d in sample.values() if d.id in out} == {
        sample["high_novel"].id,
        sample["high_dull"].id,
    }
    _, out, _ = invoke("dreams", "list", "--limit", "2")
    assert sample["critical"].id in out and sample["high_novel"].id in out
    assert sample["high_dull"].id not in out
    assert "2 of 6 dreams" in out


def test_list_json_parses(sample: dict[str, Dream], dreams_dir: Path) -> None:
    code, out, _ = invoke("dreams", "list", "--json", "--status", "pending")
    assert code == 0
    data = json.loads(out)
    assert data["total"] == 5 and data["corrupt"] == []
    first = data["dreams"][0]
    assert first["id"] == sample["critical"].id
    assert first["path"] == str(dreams_dir / f"{first['id']}.md")
    assert first["priority"] == "critical" and first["status"] == "pending"


def test_list_on_empty_directory_says_so(dreams_dir: Path) -> None:
    code, out, _ = invoke("dreams", "list")
    assert code == 0
    assert f"No dreams yet in {dreams_dir}" in " ".join(out.split())


def test_corrupt_files_warn_on_stderr_and_stay_untouched(
    sample: dict[str, Dream], dreams_dir: Path
) -> None:
    broken = dreams_dir / "20250101-000000-deadbeef.md"
    broken.write_bytes(b"---\nid: [oops\n---\n")
    result = run_cli(dreams_dir, "dreams", "list")
    assert result.returncode == 0
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith(f"warning: skipped {broken}: ")
    assert "not valid JSON" in warnings[0]
    assert sample["critical"].id in result.stdout
    assert broken.read_bytes() == b"---\nid: [oops\n---\n"
    data = json.loads(invoke("dreams", "list", "--json")[1])
    assert data["corrupt"] == [{"path": str(broken), "reason": warnings[0].split(": ", 2)[2]}]


def test_list_bad_status_or_priority_is_one_line_exit_2(dreams_dir: Path) -> None:
    result = run_cli(dreams_dir, "dreams", "list", "--status", "done")
    assert result.returncode == 2
    assert "'done' is not a dream status" in one_line_error(result.stderr)
    result = run_cli(dreams_dir, "dreams", "list", "--priority", "urgent")
    assert result.returncode == 2
    assert "'urgent' is not a dream priority" in one_line_error(result.stderr)


# ------------------------------------------------------------------ markup safety


def test_markup_and_escapes_in_dreams_print_literally(
    sample: dict[str, Dream], dreams_dir: Path
) -> None:
    markup = sample["markup"]
    outputs = {"list (real console script)": run_cli(dreams_dir, "dreams", "list").stdout}
    for args in (["dreams", "actionable"], ["dreams", "show", markup.id], ["briefing"]):
        code, out, _ = invoke(*args)
        assert code == 0
        outputs[" ".join(args)] = out
    for name, out in outputs.items():
        assert MARKUP_TITLE in " ".join(out.split()), name
        assert ESC not in out, name  # the dream's escape code is shown, not sent
    shown = outputs[f"dreams show {markup.id}"]
    assert "[blue]x[/blue]" in shown
    assert "\\x1b[31mred" in shown


# ------------------------------------------------------------------ show


def test_show_renders_every_section(dreams_dir: Path) -> None:
    dream = make_dream(
        1,
        plan="1. Guard the index",
        critique="Severity: MINOR",
        seed_code="def f(items):\n    return items[0]\n",
        symbols=["pkg.mod.f"],
        models={"reasoning": "SmolLM2-135M"},
        status_reason="",
    )
    DreamStore(dreams_dir).save_new(dream)
    code, out, _ = invoke("dreams", "show", dream.id)
    assert code == 0
    for text in (
        dream.id,
        "pkg/mod.py:3-14",
        "pkg.mod.f",
        "SmolLM2-135M",
        "Insight",
        "The loop never ends when the list is empty.",
        "Plan",
        "Guard the index",
        "Code",
        "return items[0] if items else None",
        "Critique",
        "Severity: MINOR",
        "Seed code",
    ):
        assert text in out, text


def test_show_renders_score_parts_critic_checks_and_the_diff(dreams_dir: Path) -> None:
    dream = make_dream(
        1,
        score=71.5,
        score_parts={"novelty": 0.8, "critic": 0.75},
        critic_severity="minor",
        refined=True,
        code_checks={"diff_applies": "ok"},
        diff="--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-x = 1\n+x = 2",
        draft_code="x = 3",
        drill_level=2,
    )
    DreamStore(dreams_dir).save_new(dream)
    code, out, _ = invoke("dreams", "show", dream.id)
    assert code == 0
    for text in (
        "Score",
        "71.5",
        "novelty 0.80, critic 0.75",
        "Critic",
        "minor",
        "Refined",
        "Code checks",
        "diff_applies: ok",
        "L2 Implementation",
        "Diff",
        "+x = 2",
        "Draft code",
        "x = 3",
    ):
        assert text in out, text


def test_show_json_is_the_whole_dream(dreams_dir: Path) -> None:
    dream = make_dream(1, critique="c", symbols=["a"])
    DreamStore(dreams_dir).save_new(dream)
    code, out, _ = invoke("dreams", "show", dream.id, "--json")
    assert code == 0
    data = json.loads(out)
    assert data.pop("path") == str(dreams_dir / f"{dream.id}.md")
    assert data == json.loads(json.dumps(dream_to_dict(dream)))


@pytest.mark.parametrize(
    "dream_id, message",
    [
        ("20250101-000000-00000000", "no dream 20250101-000000-00000000 in"),
        ("../../etc/passwd", "is not a dream id"),
    ],
)
def test_show_unknown_or_bad_id_is_one_line_exit_2(
    dreams_dir: Path, dream_id: str, message: str
) -> None:
    result = run_cli(dreams_dir, "dreams", "show", dream_id)
    assert result.returncode == 2
    assert message in one_line_error(result.stderr)
    assert result.stdout == ""


def test_show_corrupt_dream_is_one_line_exit_1(dreams_dir: Path) -> None:
    dreams_dir.mkdir()
    (dreams_dir / "20250101-000000-deadbeef.md").write_text("no front matter")
    result = run_cli(dreams_dir, "dreams", "show", "20250101-000000-deadbeef")
    assert result.returncode == 1
    assert "no front matter" in one_line_error(result.stderr)


# ------------------------------------------------------------------ mark


def test_mark_positional_writes_status_into_the_file(
    sample: dict[str, Dream], dreams_dir: Path
) -> None:
    target = sample["high_dull"]
    result = run_cli(dreams_dir, "dreams", "mark", target.id, "rejected", "--reason", "too big")
    assert result.returncode == 0, result.stderr
    assert f"Marked {target.id} as rejected" in result.stdout
    assert DreamStore(dreams_dir).load(target.id) == dataclasses.replace(
        target, status=Status.REJECTED, status_reason="too big"
    )
    text = (dreams_dir / f"{target.id}.md").read_text()
    assert 'status: "rejected"' in text and 'status_reason: "too big"' in text


def test_mark_bad_status_is_one_line_exit_2_and_changes_nothing(
    sample: dict[str, Dream], dreams_dir: Path
) -> None:
    target = sample["critical"]
    before = (dreams_dir / f"{target.id}.md").read_bytes()
    result = run_cli(dreams_dir, "dreams", "mark", target.id, "done")
    assert result.returncode == 2
    assert "'done' is not a dream status (choose pending, applied, rejected, deferred)" in (
        one_line_error(result.stderr)
    )
    assert (dreams_dir / f"{target.id}.md").read_bytes() == before


@pytest.mark.parametrize(
    "dream_id, message",
    [("20250101-000000-00000000", "no dream"), ("x/../y", "is not a dream id")],
)
def test_mark_unknown_or_bad_id_is_one_line_exit_2(
    sample: dict[str, Dream], dreams_dir: Path, dream_id: str, message: str
) -> None:
    result = run_cli(dreams_dir, "dreams", "mark", dream_id, "applied")
    assert result.returncode == 2
    assert message in one_line_error(result.stderr)


def test_mark_missing_status_is_usage_exit_2(dreams_dir: Path) -> None:
    result = run_cli(dreams_dir, "dreams", "mark", "20250101-000000-00000000")
    assert result.returncode == 2
    assert "STATUS" in result.stderr


# ------------------------------------------------------------------ actionable


def test_actionable_orders_pending_by_priority_then_novelty(sample: dict[str, Dream]) -> None:
    code, out, _ = invoke("dreams", "actionable")
    assert code == 0
    # "old" is LOW, "markup" is UNRANKED: ranked dreams come first.
    expected = [sample[k].id for k in ("critical", "high_novel", "high_dull", "old", "markup")]
    positions = [out.index(dream_id) for dream_id in expected]
    assert positions == sorted(positions)
    assert sample["applied"].id not in out

    data = json.loads(invoke("dreams", "actionable", "--json", "--limit", "2")[1])
    assert [d["id"] for d in data["dreams"]] == expected[:2]
    assert data["total"] == 5


# ------------------------------------------------------------------ briefing


def test_briefing_groups_recent_dreams_by_priority(sample: dict[str, Dream]) -> None:
    code, out, _ = invoke("briefing", "--hours", "12")
    assert code == 0
    assert "5 dreams in the last 12 hours" in out
    assert sample["old"].id not in out  # 48 hours old
    headings = ["CRITICAL (2)", "HIGH (2)", "UNRANKED (1)"]
    positions = [out.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "LOW" not in out
    assert out.index(sample["high_novel"].id) < out.index("UNRANKED (1)")
    assert "The loop never ends when the list is empty." in out
    assert "novelty 0.90" in out
    assert "[applied]" in out  # non-pending dreams say so

    _, wide, _ = invoke("briefing", "--hours", "72")
    assert sample["old"].id in wide and "LOW (1)" in wide


def test_briefing_json_parses(sample: dict[str, Dream]) -> None:
    code, out, _ = invoke("briefing", "--json", "--hours", "12")
    assert code == 0
    data = json.loads(out)
    assert data["count"] == 5
    assert list(data["groups"]) == ["critical", "high", "unranked"]
    first = data["groups"]["critical"][0]
    assert first["id"] == sample["critical"].id
    assert first["insight"].startswith("The loop never ends")


def test_briefing_with_nothing_recent_says_so(sample: dict[str, Dream]) -> None:
    code, out, _ = invoke("briefing", "--hours", "0.5")
    assert code == 0
    assert out.startswith("No dreams in the last 0.5 hours")
    data = json.loads(invoke("briefing", "--hours", "0.5", "--json")[1])
    assert data["count"] == 0 and data["groups"] == {}


def test_briefing_bad_hours_is_one_line_exit_2(dreams_dir: Path) -> None:
    result = run_cli(dreams_dir, "briefing", "--hours", "0")
    assert result.returncode == 2
    assert "--hours must be positive" in one_line_error(result.stderr)


def test_other_modules_can_add_dreams_subcommands(sample: dict[str, Dream]) -> None:
    from codedreamer.cli.dreams_cmd import dreams_group

    app = build_app()

    def export() -> None:
        """Export dreams."""
        print("exported")

    dreams_group(app).command("export")(export)
    for args, expected in ((["dreams", "export"], "exported"), (["dreams", "list"], "Dreams:")):
        result = CliRunner().invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0 and expected in result.stdout


@pytest.mark.model
def test_dreams_reflect_ranks_with_the_bundled_model(
    dreams_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DREAMER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DREAMER_N_CTX", "2048")
    store = DreamStore(dreams_dir)
    dream = make_dream(1, title="Crash on an empty list in first_item", novelty=0.8)
    store.save_new(dream)
    result = CliRunner().invoke(build_app(), ["dreams", "reflect", dream.id, "--json"])
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)["dreams"]
    assert [r["id"] for r in ranked] == [dream.id]
    stored = store.load(dream.id)
    # Under the JSON grammar the toy model always names one of the four priorities.
    assert stored.priority.value in {"critical", "high", "medium", "low"}
    assert stored.priority.value == ranked[0]["priority"]
    assert set(stored.score_parts) >= {"novelty", "priority", "critic", "feedback"}
    assert stored.score == ranked[0]["score"] > 0
    assert stored.status == Status.PENDING


def test_dreams_reflect_with_an_unknown_id_is_a_usage_error(dreams_dir: Path) -> None:
    result = run_cli(dreams_dir, "dreams", "reflect", "20250101-000000-00000000")
    assert result.returncode == 2
    assert "no dream 20250101-000000-00000000" in result.stderr


def test_briefing_puts_verified_dreams_first_within_their_priority(dreams_dir: Path) -> None:
    store = DreamStore(dreams_dir)
    newer = make_dream(1, priority=Priority.HIGH, title="Newer, unverified")
    older = make_dream(
        2,
        priority=Priority.HIGH,
        title="Older, verified",
        verification={"status": "verified", "reason": "applies and parses"},
    )
    for dream in (newer, older):
        store.save_new(dream)
    code, out, _ = invoke("briefing", "--hours", "12")
    assert code == 0
    assert out.index("Older, verified") < out.index("Newer, unverified")
    assert "✔ verified" in out
    data = json.loads(invoke("briefing", "--hours", "12", "--json")[1])
    assert [d["id"] for d in data["groups"]["high"]] == [older.id, newer.id]


def test_list_filters_by_category_and_minimum_score(dreams_dir: Path) -> None:
    store = DreamStore(dreams_dir)
    wanted = make_dream(1, category="security", score=72.5, title="Wanted")
    low = make_dream(2, category="security", score=30.0, title="Low score")
    other = make_dream(3, category="bugs", score=90.0, title="Other category")
    for dream in (wanted, low, other):
        store.save_new(dream)
    code, out, _ = invoke("dreams", "list", "--category", "security", "--min-score", "50", "--json")
    assert code == 0
    assert [d["id"] for d in json.loads(out)["dreams"]] == [wanted.id]
    bad_code, _, err = invoke("dreams", "list", "--min-score", "nan")
    assert bad_code == 2 and "--min-score" in err


def test_actionable_filters_by_priority_category_and_score(dreams_dir: Path) -> None:
    store = DreamStore(dreams_dir)
    wanted = make_dream(1, priority=Priority.HIGH, category="security", score=80.0)
    others = [
        make_dream(2, priority=Priority.LOW, category="security", score=90.0),
        make_dream(3, priority=Priority.HIGH, category="bugs", score=90.0),
        make_dream(4, priority=Priority.HIGH, category="security", score=10.0),
        make_dream(
            5, priority=Priority.HIGH, category="security", score=95.0, status=Status.APPLIED
        ),
    ]
    for dream in (wanted, *others):
        store.save_new(dream)
    args = ["--priority", "high", "--category", "security", "--min-score", "50", "--json"]
    code, out, _ = invoke("dreams", "actionable", *args)
    assert code == 0
    assert [d["id"] for d in json.loads(out)["dreams"]] == [wanted.id]


def test_show_cuts_hashes_and_gives_rates_their_unit(dreams_dir: Path) -> None:
    commit = "3c6188b" + "a" * 33
    sha = "f" * 64
    dream = make_dream(
        1,
        timings={"think_seconds": 4.25, "think_tokens_per_second": 21.0},
        verification={"status": "verified", "base_commit": commit, "file_sha256": sha},
    )
    DreamStore(dreams_dir).save_new(dream)
    code, out, _ = invoke("dreams", "show", dream.id)
    assert code == 0
    assert "think_seconds: 4.2 s" in out
    assert "think_tokens_per_second: 21.0 tok/s" in out
    assert f"base_commit: {commit[:12]}," in out and commit not in out
    assert f"file_sha256: {sha[:12]}" in out and sha not in out
    # The file keeps the whole hashes: `apply` compares them.
    assert DreamStore(dreams_dir).load(dream.id).verification["base_commit"] == commit
