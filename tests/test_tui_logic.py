"""The TUI's pure parts: token batching, the filter, the status reducer, ordering, themes,
the dream detail rendering, and the stderr guard (in a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from tui_data import FIXED_NOW, SEED_CODE, make_dream

from codedreamer.errors import UsageError
from codedreamer.events import (
    DreamRejected,
    EngineError,
    IndexProgress,
    ModelLoaded,
    RunnerStateChanged,
    RunnerStopped,
    StageStarted,
    TokenStreamed,
)
from codedreamer.storage.dream import Priority, Status
from codedreamer.tui.bridge import TokenBatch, batch_events
from codedreamer.tui.filters import parse_filter
from codedreamer.tui.panes.activity import rates_from_dreams
from codedreamer.tui.panes.leaderboard import checks_of, checks_passed, leaderboard_key, score_of
from codedreamer.tui.panes.status import EngineStatus, render_status
from codedreamer.tui.screens.dream_detail import fields_table, sections_markdown
from codedreamer.tui.themes import (
    load_themes,
    parse_theme,
    prefs_path,
    read_saved_theme,
    save_theme,
)


def test_tokens_of_one_stage_are_batched_and_other_events_keep_their_place() -> None:
    events = [
        StageStarted(stage="think", cycle=1),
        TokenStreamed(stage="think", text="a", cycle=1, timestamp=1.0),
        TokenStreamed(stage="think", text="b", cycle=1, timestamp=2.0),
        TokenStreamed(stage="code", text="c", cycle=1, timestamp=3.0),
        DreamRejected(reason="duplicate", cycle=1),
        TokenStreamed(stage="code", text="d", cycle=2, timestamp=4.0),
        TokenStreamed(stage="code", text="e", cycle=2, timestamp=5.0),
    ]
    items = batch_events(events)
    assert items[0] == events[0]
    assert items[1] == TokenBatch(
        stage="think", text="ab", pieces=2, cycle=1, first_timestamp=1.0, timestamp=2.0
    )
    assert isinstance(items[2], TokenBatch) and items[2].text == "c"
    assert items[3] == events[4]
    assert isinstance(items[4], TokenBatch) and (items[4].text, items[4].pieces) == ("de", 2)
    assert len(items) == 5


def test_filter_terms() -> None:
    dream = make_dream(1, title="Cache the total", category="performance", status=Status.DEFERRED)
    assert parse_filter("").matches(dream)
    assert not parse_filter("").active
    assert parse_filter("cache").matches(dream)
    assert parse_filter("CACHE total").matches(dream)
    assert not parse_filter("cache missing").matches(dream)
    assert parse_filter("status:deferred").matches(dream)
    assert parse_filter("deferred").matches(dream)  # a bare status name
    assert not parse_filter("status:pending,applied").matches(dream)
    assert parse_filter("cat:perf").matches(dream)
    assert not parse_filter("category:bugs").matches(dream)
    assert parse_filter("inventory.py").matches(dream)  # the source path
    assert not parse_filter("priority:high").matches(dream)
    assert parse_filter("p:high").matches(replace(dream, priority=Priority.HIGH))
    with pytest.raises(UsageError, match="not a dream status"):
        parse_filter("status:sleeping")
    with pytest.raises(UsageError, match="not a dream priority"):
        parse_filter("priority:urgent")


def test_status_reducer_and_line() -> None:
    status = EngineStatus(stored=4, pending=2)
    assert render_status(status, FIXED_NOW).plain.strip().startswith("starting")
    status.apply(ModelLoaded(role="reasoning", model_name="SmolLM2", seconds=0.3))
    status.apply(IndexProgress(state="indexing", files_done=3, files_total=10))
    assert status.index_text() == "index 3/10 files"
    status.apply(IndexProgress(state="ready", files_done=10, files_total=10, chunks=40))
    status.apply(RunnerStateChanged(state="dreaming"))
    status.apply(StageStarted(stage="critic"))
    assert status.activity(FIXED_NOW)[0] == "● dreaming · critic"
    status.apply(RunnerStateChanged(state="waiting", next_cycle_at=FIXED_NOW + 41.6))
    assert status.activity(FIXED_NOW)[0] == "◷ next dream in 42 s"
    assert status.activity(FIXED_NOW + 100)[0] == "◷ next dream in 0 s"
    status.apply(DreamRejected(reason="ungrounded"))
    status.apply(DreamRejected(reason="duplicate"))
    status.apply(EngineError(message="disk full"))
    line = render_status(status, FIXED_NOW).plain
    assert "4 dreams, 2 pending · 2 rejected (last: duplicate)" in line
    assert "1 errors" in line and "SmolLM2" in line and "40 chunks indexed" in line
    status.apply(RunnerStateChanged(state="paused"))
    assert status.activity(FIXED_NOW)[0] == "⏸ paused"
    status.apply(RunnerStopped(reason="stopped"))
    assert status.activity(FIXED_NOW)[0] == "■ stopped"
    assert EngineStatus(mode="viewer").activity(0)[0] == "no engine running"
    assert EngineStatus(mode="attached").activity(0)[0] == "waiting for the daemon"


def test_status_line_shows_hostile_text_literally() -> None:
    status = EngineStatus(model_name="[bold]m\x1b[2J", last_rejection="x", rejected=1)
    status.apply(DreamRejected(reason="[@click=app.quit]bad[/]"))
    content = render_status(status, FIXED_NOW)
    assert "[@click=app.quit]bad[/]" in content.plain
    assert "[bold]m\\x1b[2J" in content.plain
    assert "\x1b" not in content.plain


def test_leaderboard_order_uses_score_then_priority_then_novelty() -> None:
    plain = make_dream(1, novelty=0.9)
    urgent = make_dream(2, novelty=0.2, priority=Priority.CRITICAL)
    scored = make_dream(3, novelty=0.1, score=7.5, score_parts={"novelty": 0.1, "critic": 5.0})
    low = make_dream(4, novelty=0.95, score=1.0, score_parts={"novelty": 0.95})
    assert score_of(scored) == 7.5
    assert score_of(plain) is None  # never scored: not shown as 0.0
    order = sorted([plain, urgent, scored, low], key=leaderboard_key, reverse=True)
    assert [d.id for d in order] == [d.id for d in (scored, low, urgent, plain)]


def test_checks_column_counts_passed_checks_of_code_and_verification() -> None:
    dream = make_dream(
        5,
        code_checks={"parses": "ok", "applies": "failed: hunk 2"},
        verification={"tests": "passed"},
    )
    checks = checks_of(dream)
    assert len(checks) == 3 and checks_passed(checks) == 2


def test_activity_rates_come_from_measured_dream_timings_only() -> None:
    dreams = [
        make_dream(2, timings={"think_tokens_per_second": 30.0}),
        make_dream(1, timings={"think_tokens_per_second": 10.0, "total_seconds": 4.0}),
        make_dream(3, timings={"think_seconds": 2.0}),  # no rate recorded: no point
    ]
    assert rates_from_dreams(dreams) == [10.0, 30.0]


def test_detail_shows_every_field_that_has_a_value_and_fences_code_safely() -> None:
    code = "x = '```'\nprint('````')\n"
    dream = make_dream(
        4,
        code=code,
        critique="Too vague.",
        symbols=["Inventory.add_item"],
        score=6.0,
        score_parts={"novelty": 0.5, "critic": 2.0},
    )
    markdown = sections_markdown(dream)
    assert "## Insight" in markdown and "## Critique" in markdown and "## Seed code" in markdown
    # The fence is longer than any backtick run inside, so the code cannot close it.
    assert "`````python\n" + code + "\n`````" in markdown
    from rich.console import Console

    console = Console(width=120, color_system=None)
    with console.capture() as captured:
        console.print(fields_table(dream))
    text = captured.get()
    assert "inventory.py:8-12" in text and "Inventory.add_item" in text
    assert "performance" in text and "0.50" in text
    assert "critic 2.00" in text and "Score parts" in text


def test_our_themes_parse_and_bad_theme_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    ours = load_themes()
    assert {"nocturne", "daybreak", "phosphor"} <= {t.name for t in ours.themes}
    assert ours.problems == []
    assert any(not t.dark for t in ours.themes)  # a light one too

    (tmp_path / "good.toml").write_text('name = "good"\nprimary = "#123456"\n')
    (tmp_path / "misnamed.toml").write_text('name = "other"\nprimary = "#123456"\n')
    (tmp_path / "colour.toml").write_text('name = "colour"\nprimary = "not-a-colour"\n')
    (tmp_path / "extra.toml").write_text('name = "extra"\nprimary = "red"\nsparkle = true\n')
    (tmp_path / "broken.toml").write_text("name = \n")
    loaded = load_themes(tmp_path)
    assert [t.name for t in loaded.themes] == ["good"]
    problems = "\n".join(loaded.problems)
    for name, reason in [
        ("misnamed.toml", "must be 'misnamed'"),
        ("colour.toml", "not a colour"),
        ("extra.toml", "unknown keys sparkle"),
        ("broken.toml", "not TOML"),
    ]:
        assert f"theme {name} skipped" in problems and reason in problems
    assert parse_theme(tmp_path / "good.toml").primary == "#123456"


def test_theme_choice_is_saved_atomically_and_other_keys_are_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert read_saved_theme(data) is None
    save_theme(data, "daybreak")
    assert read_saved_theme(data) == "daybreak"
    prefs_path(data).write_text(json.dumps({"theme": "nocturne", "other": 1}))
    save_theme(data, "phosphor")
    assert json.loads(prefs_path(data).read_text()) == {"theme": "phosphor", "other": 1}
    assert not [p for p in data.iterdir() if p.name.endswith(".tmp")]
    prefs_path(data).write_text("{not json")
    assert read_saved_theme(data) is None  # a bad file is ignored, not fatal


def test_native_stderr_goes_to_the_log_while_the_app_draws_on_the_terminal(
    tmp_path: Path,
) -> None:
    """C code writing to fd 2 (llama.cpp) lands in the log; Textual's stream still reaches
    the terminal; both are restored afterwards. Run in a child so fd 2 is its own."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from codedreamer.tui.terminal import native_stderr_to
        log = Path({str(tmp_path / "native.log")!r})
        with native_stderr_to(log):
            os.write(2, b"llama.cpp says hello\\n")
            sys.__stderr__.write("drawn by textual\\n")
            sys.__stderr__.flush()
        os.write(2, b"after\\n")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stderr == "drawn by textual\nafter\n"
    assert (tmp_path / "native.log").read_text() == "llama.cpp says hello\n"


def test_an_unwritable_native_log_falls_back_to_the_null_device(tmp_path: Path) -> None:
    """A viewer on a DATA_DIR it cannot write (read-only, full) still gets a clean screen.
    The log's folder is a regular file here, so creating it fails even for root."""
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from codedreamer.tui.terminal import native_stderr_to
        with native_stderr_to(Path({str(blocker / "native.log")!r})) as used:
            os.write(2, b"llama.cpp says hello\\n")
            sys.__stderr__.write("drawn by textual\\n")
            sys.__stderr__.flush()
        os.write(2, f"after {{used}}\\n".encode())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stderr == f"drawn by textual\nafter {os.devnull}\n"


def test_seed_code_sample_is_python() -> None:
    # The fixture data the screenshots show must stay real code.
    compile(SEED_CODE, "inventory.py", "exec")


def test_our_themes_come_from_the_repository_folder_and_ship_in_the_wheel(tmp_path: Path) -> None:
    """`pip install .` (the Docker image) must carry the themes, not only a checkout."""
    import zipfile

    from codedreamer.tui.themes import themes_dir

    repo = Path(__file__).resolve().parent.parent
    assert themes_dir().resolve() == (repo / "themes").resolve()
    copy = tmp_path / "src"
    # A clone, so the build sees what is committed and leaves nothing in the checkout.
    subprocess.run(
        ["git", "clone", "-q", "--no-hardlinks", str(repo), str(copy)], check=True, timeout=60
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(copy)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("codedreamer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("codedreamer/tui/theme_files/")}
    assert shipped == {p.name for p in (repo / "themes").glob("*.toml")}
