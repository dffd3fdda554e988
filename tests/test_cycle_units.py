"""Pure pieces of the dream cycle: parsing, patches, drilling, jumps, memory, avoidance, score."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from codedreamer.dream.aim import dead_code_fact, pick_dead_code
from codedreamer.dream.avoidance import avoidance_text, covered_themes, rejected_themes, themes_of
from codedreamer.dream.code import check_draft
from codedreamer.dream.context import CycleContext, CycleState, Services, Target
from codedreamer.dream.critic import needs_refinement
from codedreamer.dream.drill import drill_chain, next_drill
from codedreamer.dream.feedback import focus_weights, tally
from codedreamer.dream.gather import Piece, within_budget
from codedreamer.dream.jump import jump_step
from codedreamer.dream.parse import extract_diff, labelled_sections, parse_priority, parse_severity
from codedreamer.dream.patch import PatchError, apply_diff
from codedreamer.dream.score import WEIGHTS, score_parts, total
from codedreamer.memory.trm import TemporalMemory, decayed, reinforced
from codedreamer.storage.dream import Dream, Status, new_dream_id

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SOURCE = (
    "def remove_item(items, name, quantity):\n"
    "    current = items[name]\n"
    "    if current - quantity < 0:\n"
    '        print("not enough stock")\n'
    "    items[name] = current - quantity\n"
)
GOOD_DIFF = (
    "--- a/stock.py\n+++ b/stock.py\n@@ -3,3 +3,3 @@\n"
    "     if current - quantity < 0:\n"
    '-        print("not enough stock")\n'
    '+        raise ValueError("not enough stock")\n'
    "     items[name] = current - quantity\n"
)


def dream(**changes: Any) -> Dream:
    base = Dream(
        id=new_dream_id(NOW),
        created=NOW,
        category="bugs",
        focus="bugs",
        source_path="stock.py",
        line_start=1,
        line_end=5,
        title="remove_item lets stock go negative",
        symbols=["remove_item"],
    )
    return replace(base, **changes)


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("There are no MAJOR issues, only a minor naming nit.", "minor"),
        ("**Severity:** Moderate - the fix misses the zero case", "moderate"),
        ('{"severity": "MAJOR", "issues": "breaks callers"}', "major"),
        ('{"severity": "NONE", "issues": "the ch', "none"),  # torn JSON
        ("Not major, not moderate.", None),
        ("No issues found. Looks good.", "none"),
        ("This is a major regression for callers", "major"),
        ("I like turtles", None),
    ],
)
def test_critic_severity_is_parsed_from_messy_output(text: str, expected: str | None) -> None:
    assert parse_severity(text) == expected


def test_priority_and_reason_from_json_or_labels() -> None:
    assert parse_priority('{"priority": "HIGH", "reason": "crashes on empty input"}') == (
        "high",
        "crashes on empty input",
    )
    assert parse_priority("PRIORITY: low\nREASON: cosmetic only") == ("low", "cosmetic only")
    assert parse_priority("no idea")[0] is None


def test_sections_ignore_labels_inside_code_fences() -> None:
    text = "**TITLE:** Fix it\nINSIGHT: `f` fails\n```py\nPLAN: not a label\n```\nPLAN:\n1. do"
    parts = labelled_sections(text, ["TITLE", "INSIGHT", "PLAN"])
    assert parts["TITLE"] == "Fix it" and parts["PLAN"] == "1. do"
    assert "not a label" in parts["INSIGHT"]


def test_diff_is_found_fenced_or_bare() -> None:
    assert extract_diff(f"Here:\n```diff\n{GOOD_DIFF}```\nDone.") == GOOD_DIFF.strip("\n")
    assert extract_diff(GOOD_DIFF + "That is all.") == GOOD_DIFF.strip("\n")
    assert extract_diff("no diff at all") == ""


# ---------------------------------------------------------------- patches and code checks


def test_a_diff_that_applies_changes_the_file() -> None:
    patched = apply_diff(SOURCE, GOOD_DIFF)
    assert 'raise ValueError("not enough stock")' in patched and "print(" not in patched


def test_a_diff_whose_context_is_not_in_the_file_is_caught() -> None:
    bad = GOOD_DIFF.replace("     if current - quantity < 0:", "     if quantity > current:")
    with pytest.raises(PatchError, match="hunk 1"):
        apply_diff(SOURCE, bad)


def test_a_misnumbered_hunk_still_applies_by_its_context() -> None:
    assert "raise" in apply_diff(SOURCE, GOOD_DIFF.replace("@@ -3,3 +3,3 @@", "@@ -40,3 +40,3 @@"))


def test_code_checks_record_apply_parse_and_fragment_rules() -> None:
    ok = check_draft(f"```diff\n{GOOD_DIFF}```", SOURCE, SOURCE, "python")
    assert ok.checks["diff_applies"] == "ok" and ok.checks["parses"] == "ok" and not ok.problem
    broken = GOOD_DIFF.replace('+        raise ValueError("not enough stock")', "+        raise (")
    assert check_draft(broken, SOURCE, SOURCE, "python").problem.startswith("the patched file")
    # "Existing" code that is not in the file, and "improved" code the file already has.
    invented = "```python\nx = compute()\n```\n```python\nx = 2\n```"
    assert check_draft(invented, SOURCE, SOURCE, "python").checks["existing_matches"] == "fails"
    same = "```python\n    current = items[name]\n```"
    assert "already" in check_draft(same, SOURCE, SOURCE, "python").problem
    assert check_draft("just words", SOURCE, SOURCE, "python").checks["format"] == "none"
    js = check_draft("```javascript\nlet x = 1;\n```", SOURCE, SOURCE, "python")
    assert js.checks["language"].startswith("fails")


def test_refinement_only_for_serious_verdicts_or_failed_checks() -> None:
    assert needs_refinement("major", "") and needs_refinement("moderate", "")
    assert not needs_refinement("minor", "") and not needs_refinement("none", "")
    assert needs_refinement("none", "the diff does not apply")


# ---------------------------------------------------------------- drilling


def test_drill_transitions_follow_score_and_level() -> None:
    root = dream(score=75.0)
    assert next_drill([root]) == (root, 1)
    assert next_drill([dream(score=40.0)]) is None  # gated by score
    assert next_drill([dream(score=90.0, drill_level=3)]) is None  # deepest level
    assert next_drill([dream(score=90.0, critic_severity="major")]) is None
    assert next_drill([dream(score=90.0, status=Status.REJECTED)]) is None
    child = dream(score=80.0, drill_level=1, parent=root.id)
    # The root already has a child: continue the child, one level deeper.
    assert next_drill([child, root]) == (child, 2)


def test_drill_chain_walks_parents_root_first() -> None:
    root = dream()
    mid = dream(drill_level=1, parent=root.id)
    leaf = dream(drill_level=2, parent=mid.id)
    by_id = {d.id: d for d in (root, mid, leaf)}
    assert [d.drill_level for d in drill_chain(leaf, by_id)] == [0, 1, 2]
    orphan = dream(parent=new_dream_id(NOW))
    assert drill_chain(orphan, by_id) == [orphan]


# ---------------------------------------------------------------- graph jump


def _context(graph: Any, state: CycleState, rng: random.Random) -> CycleContext:
    services = Services(
        settings=None,  # type: ignore[arg-type]
        sink=lambda event: None,
        rng=rng,
        reasoning=lambda: None,  # type: ignore[arg-type,return-value]
        coder=lambda: None,  # type: ignore[arg-type,return-value]
        index=lambda: None,  # type: ignore[arg-type,return-value]
        store=lambda: None,  # type: ignore[arg-type,return-value]
        graph=lambda: graph,
        memory=lambda: None,
        name_exists=lambda name: False,
    )
    return CycleContext(services=services, state=state, cycle=1)


def test_a_graph_jump_after_three_failures_changes_the_target_file() -> None:
    from codedreamer.memory.graph import KnowledgeGraph
    from codedreamer.memory.graph_types import CodeEntityInput

    graph = KnowledgeGraph()
    graph.sync_code_entities(
        [
            CodeEntityInput("stuck.py", "function", "again", 1, 9),
            CodeEntityInput("fresh.py", "function", "elsewhere", 3, 12),
        ]
    )
    for seed in range(20):
        state = CycleState(consecutive_failures=3, last_path="stuck.py")
        context = _context(graph, state, random.Random(seed))
        jump_step(context)
        assert context.jumped and context.target is not None
        assert context.target.path == "fresh.py", "the jump must leave the failing file"
        assert state.consecutive_failures == 0
    calm = _context(
        graph, CycleState(consecutive_failures=2, last_path="stuck.py"), random.Random(1)
    )
    jump_step(calm)
    assert calm.target is None and not calm.jumped


# ---------------------------------------------------------------- TRM memory


def test_trm_salience_decays_exponentially_and_is_reinforced_on_use(tmp_path: Path) -> None:
    assert decayed(1.0, 0.0, 3600.0, 3600.0) == pytest.approx(0.5)
    assert decayed(1.0, 0.0, 7200.0, 3600.0) == pytest.approx(0.25)
    assert reinforced(0.5, 0.3) == pytest.approx(0.65) and reinforced(1.0) == 1.0
    memory = TemporalMemory(tmp_path / "trm.json", half_life_sec=3600.0)
    key = memory.add("remove_item lets stock go negative", now=0.0)
    assert memory.salience(memory.items[key], 3600.0) == pytest.approx(0.5)
    memory.reinforce([key], now=3600.0)
    assert memory.salience(memory.items[key], 3600.0) == pytest.approx(0.65)
    # Restating the same insight reinforces it instead of adding a copy.
    assert memory.add("Remove_item lets  stock go negative", now=3600.0) == key
    assert len(memory.items) == 1
    memory.save()
    again = TemporalMemory(tmp_path / "trm.json", half_life_sec=3600.0)
    assert again.items[key].salience == pytest.approx(memory.items[key].salience)


def test_trm_recall_is_diverse_over_rounds() -> None:
    memory = TemporalMemory(None, half_life_sec=3600.0)
    texts = [
        "cache entries never expire in load_user",
        "parser accepts trailing commas silently",
        "socket timeout ignored by fetch_page",
        "retry loop sleeps without backoff",
        "locking order differs between writers",
        "encoding guessed from file extension",
        "paging skips the final partial batch",
        "quota check happens after the upload",
    ]
    for n, text in enumerate(texts):
        memory.add(text, now=float(n))
    memory.add("cache entries never expire in load_user either", now=8.0)  # a near copy
    injected: list[set[str]] = []
    for round_ in range(4):
        picked = memory.recall(3, now=10.0 + round_)
        texts = [m.text for m in picked]
        assert len(picked) == 3
        assert not (
            "the cache code has finding number 0" in texts
            and len([t for t in texts if "cache" in t]) > 1
        ), "near-identical memories are not injected together"
        injected.append(set(texts))
    # Consecutive rounds rest what was just injected, so the same few do not repeat.
    assert not injected[0] & injected[1]
    assert len(set().union(*injected)) >= 7


def test_a_corrupt_trm_file_is_moved_aside_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "trm.json"
    path.write_text("{not json")
    memory = TemporalMemory(path)
    assert memory.items == {} and "unreadable" in memory.problem
    assert not path.exists() and list(tmp_path.glob("trm.json.corrupt-*"))


# ---------------------------------------------------------------- avoidance and feedback


def test_theme_weights_decay_with_age_and_rejected_themes_are_listed() -> None:
    fresh = dream(created=NOW, themes=["bugs", "negative stock"])
    old = dream(created=NOW - timedelta(days=3), themes=["performance"])
    rejected = dream(status=Status.REJECTED, themes=["naming"])
    covered = dict(covered_themes([fresh, old, rejected], NOW))
    assert covered["bugs"] == pytest.approx(1.0)
    assert "performance" not in covered  # three half-lives old: 0.125 < 0.25
    assert "naming" not in covered and rejected_themes([fresh, rejected]) == ["naming"]
    two_days = dict(covered_themes([dream(created=NOW - timedelta(days=1), themes=["x"])], NOW))
    assert two_days["x"] == pytest.approx(0.5)
    text = avoidance_text(list(covered.items()), ["naming"])
    assert "Already covered" in text and "rejected" in text and "naming" in text
    assert themes_of("Stock goes negative", "bugs", "remove_item")[:2] == [
        "bugs",
        "bugs in remove_item",
    ]


def test_feedback_counts_marks_and_steers_focus() -> None:
    marks = [
        dream(category="bugs", focus="bugs", status=Status.APPLIED),
        dream(category="bugs", focus="bugs", status=Status.APPLIED),
        dream(category="naming", focus="naming", status=Status.REJECTED),
        dream(category="naming", focus="naming", status=Status.REJECTED),
        dream(category="security", focus="security", status=Status.DEFERRED),
    ]
    feedback = tally(marks)
    assert feedback.by_category["bugs"].applied == 2
    assert feedback.by_focus["naming"].rejected == 2
    assert feedback.category("bugs") == pytest.approx(0.75)
    assert feedback.category("naming") == pytest.approx(0.25)
    assert feedback.category("never_marked") == 0.5
    weights = focus_weights(["bugs", "naming", "performance"], feedback)
    assert weights["bugs"] > weights["performance"] > weights["naming"]


# ---------------------------------------------------------------- dead code and context


def test_dead_code_focus_targets_an_unreferenced_definition() -> None:
    unused = SimpleNamespace(
        name="old_helper",
        qualified_name="old_helper",
        kind="function",
        path="a.py",
        start_line=10,
        end_line=14,
    )
    symbols = SimpleNamespace(unreferenced=lambda: [unused])
    context = _context(None, CycleState(), random.Random(1))
    context.services.symbols = lambda: symbols
    assert pick_dead_code(context) is unused
    assert "referenced nowhere" in dead_code_fact(unused)
    context.earlier = [dream(source_path="a.py", line_start=10)]
    assert pick_dead_code(context) is None  # already dreamed about


def test_context_pieces_are_kept_by_priority_within_the_budget() -> None:
    pieces = [
        Piece("caller: a", "x" * 50, 50),
        Piece("callee: b", "y" * 60, 60),
        Piece("n", "z" * 30, 40),
    ]
    kept = within_budget(pieces, 100)
    assert [p.source for p in kept] == ["callee: b", "n"]


# ---------------------------------------------------------------- score


def test_score_is_the_documented_weighted_sum_of_its_parts() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    parts = score_parts(
        novelty=0.8,
        severity="minor",
        refined=False,
        priority="high",
        centrality=0.5,
        feedback=0.5,
        checks={"diff_applies": "ok", "parses": "ok"},
    )
    assert parts == {
        "novelty": 0.8,
        "critic": 0.75,
        "priority": 0.75,
        "centrality": 0.5,
        "feedback": 0.5,
        "verification": 0.8,
    }
    expected = 100 * (0.25 * 0.8 + 0.2 * 0.75 + 0.25 * 0.75 + 0.1 * 0.5 + 0.1 * 0.5 + 0.1 * 0.8)
    assert total(parts) == pytest.approx(expected)
    # A real verification in a scratch tree outranks the in-memory checks, either way.
    common = {
        "novelty": 0.8,
        "severity": "minor",
        "refined": False,
        "priority": "high",
        "centrality": 0.5,
        "feedback": 0.5,
        "checks": {"diff_applies": "ok", "parses": "ok"},
    }
    verified = score_parts(**common, verification={"status": "verified"})  # type: ignore[arg-type]
    failed = score_parts(**common, verification={"status": "failed"})  # type: ignore[arg-type]
    assert verified["verification"] == 1.0 and failed["verification"] == 0.0
    assert total(failed) < total(parts) < total(verified)
    worse = score_parts(
        novelty=0.8,
        severity="major",
        refined=False,
        priority="low",
        centrality=0.5,
        feedback=0.5,
        checks={"diff_applies": "fails: hunk 1"},
    )
    assert total(worse) < total(parts)


def test_target_dataclass_is_plain() -> None:
    assert Target("a.py", 1, 2, "why").path == "a.py"


def test_rescoring_follows_the_users_marks() -> None:
    from codedreamer.dream.reflect import rescore

    pending = dream(novelty=0.7, critic_severity="none", code_checks={"diff_applies": "ok"})
    neutral = rescore(pending, tally([]))
    liked = rescore(pending, tally([dream(status=Status.APPLIED)] * 3))
    disliked = rescore(pending, tally([dream(status=Status.REJECTED)] * 3))
    assert disliked.score < neutral.score < liked.score
    assert liked.score_parts["feedback"] == pytest.approx(0.8)
    assert liked.score == total(liked.score_parts)


def test_a_target_resolves_to_the_chunk_that_overlaps_it_most() -> None:
    from codedreamer.dream.select import chunk_for_target

    def chunk(start: int, end: int, content: str = "x") -> Any:
        return SimpleNamespace(start_line=start, end_line=end, content=content)

    chunks = [chunk(1, 10), chunk(11, 30), chunk(31, 40, "y" * 500)]
    assert chunk_for_target(chunks, Target("a.py", 12, 35, "drill")) is chunks[1]
    # A whole-file target (a file node, lines 0-0) takes the file's largest chunk.
    assert chunk_for_target(chunks, Target("a.py", 0, 0, "jump")) is chunks[2]
    assert chunk_for_target([], Target("a.py", 1, 2, "gone")) is None
