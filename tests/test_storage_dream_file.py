"""The dream file format: exact round trips for any content, clear errors for bad files."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codedreamer.errors import StorageError
from codedreamer.storage.dream import Dream, Priority, Status, is_dream_id, new_dream_id
from codedreamer.storage.dream_file import (
    FRONT_MATTER_KEYS,
    SECTIONS,
    dream_from_markdown,
    dream_to_dict,
    dream_to_markdown,
    fence_for,
    read_dream_file,
)

CREATED = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def make_dream(**changes: object) -> Dream:
    base = Dream(
        id="20250304-050607-0123abcd",
        created=CREATED,
        category="bugs",
        source_path="pkg/mod.py",
        line_start=10,
        line_end=42,
        title="Guard against an empty list",
        language="python",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_every_dream_field_is_written_somewhere() -> None:
    # A field added to Dream without a place in the file would be silently lost on rewrite.
    written = set(FRONT_MATTER_KEYS) | {name for name, _, _ in SECTIONS}
    assert written == {f.name for f in dataclasses.fields(Dream)}


def test_layout_is_front_matter_then_readable_sections() -> None:
    dream = make_dream(insight="It breaks.", code="x = 1", critique="", seed_code="x=1")
    text = dream_to_markdown(dream)
    lines = text.split("\n")
    assert lines[0] == "---"
    end = lines.index("---", 1)
    keys = [line.split(":", 1)[0] for line in lines[1:end]]
    assert keys == list(FRONT_MATTER_KEYS)
    for line in lines[1:end]:
        json.loads(line.split(": ", 1)[1])  # every value is one line of JSON
    body = "\n".join(lines[end + 1 :])
    assert "# Guard against an empty list\n" in body
    assert "## Insight\n\nIt breaks.\n" in body
    assert "## Code\n\n```python\nx = 1\n```\n" in body
    assert "## Critique" not in body  # empty sections are left out
    assert "## Plan" not in body
    assert body.index("## Insight") < body.index("## Code") < body.index("## Seed code")


def test_created_is_iso_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    dream = make_dream(created=CREATED.astimezone(tokyo))
    text = dream_to_markdown(dream)
    assert 'created: "2025-03-04T05:06:07.890123+00:00"' in text
    parsed = dream_from_markdown(text)
    assert parsed.created == CREATED
    assert parsed.created.utcoffset() == timedelta(0)


TRICKY = [
    "---",
    "## Insight\n## Plan\n## Code",
    "id: 20250101-000000-deadbeef\n---\nstatus: applied",
    "```\nnot closed",
    "````python\nx\n````",
    "text ending in a newline\n",
    "\n\nleading and trailing blank lines\n\n",
    "\\## already escaped\n\\\\# twice",
    "# a heading inside\n#no space",
    "[bold]rich[/bold] [red]markup[/red] [link=http://x]y[/link]",
    "unicode: é ∑ 🐍 \u2028 line sep \x85 nel \ufeff bom",
    "windows\r\nline endings\r\n",
    "tab\tand null \x00 and escape \x1b[31m",
    " ",
]


@pytest.mark.parametrize("content", TRICKY)
def test_tricky_content_round_trips_in_every_section(content: str) -> None:
    dream = make_dream(
        title=content,
        insight=content,
        plan=content,
        code=content,
        critique=content,
        seed_code=content,
        category=content,
        status_reason=content,
        symbols=[content, "x"],
        models={content: content},
        validation={"grounded": content},
        language=content,
    )
    assert dream_from_markdown(dream_to_markdown(dream)) == dream


def test_fence_is_longer_than_any_backtick_run() -> None:
    assert fence_for("no ticks") == "```"
    assert fence_for("``` and ````") == "`````"
    assert fence_for("inline `x` only") == "```"


def test_front_matter_is_safe_for_yaml_line_breaks() -> None:
    # YAML treats U+2028 and NEL as line breaks; they must be escaped inside the header.
    text = dream_to_markdown(make_dream(title="a\u2028b\x85c"))
    header = text.split("\n---\n", 1)[0]
    assert "\u2028" not in header and "\x85" not in header
    assert dream_from_markdown(text).title == "a\u2028b\x85c"


def test_dict_output_has_every_field() -> None:
    dream = make_dream(priority=Priority.HIGH, status=Status.REJECTED, parent=new_dream_id())
    data = dream_to_dict(dream)
    assert set(data) == {f.name for f in dataclasses.fields(Dream)}
    assert data["priority"] == "high" and data["status"] == "rejected"
    json.dumps(data)  # plain JSON-ready values only


def test_missing_optional_fields_take_defaults() -> None:
    text = (
        '---\nid: "20250304-050607-0123abcd"\ncreated: "2025-03-04T05:06:07+00:00"\n'
        'category: "bugs"\nsource_path: "a.py"\nline_start: 1\nline_end: 2\n---\n'
    )
    dream = dream_from_markdown(text)
    assert dream.status == Status.PENDING
    assert dream.priority == Priority.UNRANKED
    assert dream.symbols == [] and dream.insight == ""


# ------------------------------------------------------------------ bad files


def _replace_line(text: str, key: str, new_line: str | None) -> str:
    lines = text.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
    if new_line is None:
        del lines[index]
    else:
        lines[index] = new_line
    return "\n".join(lines)


GOOD = dream_to_markdown(make_dream(insight="insight", code="x = 1"))

BAD_FILES = {
    "empty": ("", "empty file"),
    "no front matter": ("# Title\n\nbody\n", "no front matter"),
    "unclosed front matter": (GOOD.replace("\n---\n\n#", "\n\n#", 1), "not closed"),
    "missing id": (_replace_line(GOOD, "id", None), "missing id"),
    "missing created": (_replace_line(GOOD, "created", None), "missing created"),
    "bad id": (_replace_line(GOOD, "id", 'id: "../../etc/passwd"'), "not a dream id"),
    "id with newline": (
        _replace_line(GOOD, "id", 'id: "20250304-050607-0123abcd\\n"'),
        "not a dream id",
    ),
    "not json": (_replace_line(GOOD, "novelty", "novelty: high"), "not valid JSON"),
    "wrong type": (_replace_line(GOOD, "line_start", 'line_start: "10"'), "expected an integer"),
    "bool for int": (_replace_line(GOOD, "drill_level", "drill_level: true"), "expected an int"),
    "nan novelty": (_replace_line(GOOD, "novelty", "novelty: NaN"), "finite"),
    "bad status": (_replace_line(GOOD, "status", 'status: "done"'), "not one of"),
    "bad priority": (_replace_line(GOOD, "priority", 'priority: "urgent"'), "not one of"),
    "naive created": (
        _replace_line(GOOD, "created", 'created: "2025-03-04T05:06:07"'),
        "no time zone",
    ),
    "bad created": (_replace_line(GOOD, "created", 'created: "yesterday"'), "ISO 8601"),
    "symbols not list": (_replace_line(GOOD, "symbols", 'symbols: "a,b"'), "expected a list"),
    "models values": (_replace_line(GOOD, "models", 'models: {"think": 1}'), "expected a string"),
    "unknown key": (GOOD.replace("\nfocus:", "\nfocsu:", 1), "unknown front-matter key"),
    "duplicate key": (GOOD.replace("\nfocus:", '\ntitle: "again"\nfocus:', 1), "appears twice"),
    "unclosed code fence": (GOOD.replace("x = 1\n```", "x = 1\n"), "not closed"),
    "text after fence": (GOOD.rstrip("\n") + "\nstray text\n", "unexpected text after"),
    "text before sections": (GOOD.replace("# Guard", "stray\n# Guard"), "before sections"),
    "bad parent": (_replace_line(GOOD, "parent", 'parent: "x"'), "not a dream id"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_one_line_storage_error_naming_the_file(case: str) -> None:
    text, expected = BAD_FILES[case]
    with pytest.raises(StorageError) as info:
        dream_from_markdown(text, source="dreams/x.md")
    message = str(info.value)
    assert message.startswith("dreams/x.md: ")
    assert expected in message
    assert "\n" not in message


def test_read_dream_file_reports_non_utf8_and_missing(tmp_path: Path) -> None:
    bad = tmp_path / "20250304-050607-0123abcd.md"
    bad.write_bytes(GOOD.encode() + b"\xff\xfe")
    with pytest.raises(StorageError, match=r"not UTF-8"):
        read_dream_file(bad)
    with pytest.raises(StorageError, match=r"cannot read"):
        read_dream_file(tmp_path / "missing.md")


def test_read_dream_file_keeps_carriage_returns(tmp_path: Path) -> None:
    dream = make_dream(code="a\r\nb\rc")
    path = tmp_path / f"{dream.id}.md"
    path.write_bytes(dream_to_markdown(dream).encode())
    assert read_dream_file(path).code == "a\r\nb\rc"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"id": "not-an-id"}, "not a valid dream id"),
        ({"parent": "nope"}, "parent"),
        ({"novelty": float("nan")}, "novelty"),
        ({"timings": {"think": float("inf")}}, "timings"),
        ({"created": datetime(2025, 1, 1)}, "created"),
    ],
)
def test_writing_bad_values_fails_before_touching_disk(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(StorageError, match=message):
        dream_to_markdown(make_dream(**change))


def test_is_dream_id_rejects_trailing_newline_and_paths() -> None:
    assert is_dream_id("20250304-050607-0123abcd")
    assert not is_dream_id("20250304-050607-0123abcd\n")
    assert not is_dream_id("../20250304-050607-0123abcd")
    assert is_dream_id(new_dream_id())


# ------------------------------------------------------------------ property test

_ids = st.builds(
    lambda moment, suffix: f"{moment:%Y%m%d-%H%M%S}-{suffix:08x}",
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.integers(min_value=0, max_value=2**32 - 1),
)
_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# Bias text towards the characters the format has to get right.
_tricky_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\n", "\r", "#", "`", "\\", "-", " ", "[", "]", ":", '"', "\u2028"]),
        st.characters(),
    ),
    max_size=60,
)
_line_fragments = st.lists(
    st.one_of(
        _tricky_text,
        st.sampled_from(
            ["---", "## Insight", "## Code", "## Seed code", "```", "````py", "\\## Plan", "# x"]
        ),
    ),
    max_size=6,
).map("\n".join)
_content = st.one_of(_tricky_text, _line_fragments)
_finite = st.floats(allow_nan=False, allow_infinity=False)

dreams = st.builds(
    Dream,
    id=_ids,
    created=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=_offsets
    ),
    category=_content,
    source_path=_content,
    line_start=st.integers(min_value=-(2**40), max_value=2**40),
    line_end=st.integers(min_value=0, max_value=2**40),
    title=_content,
    focus=_content,
    language=_content,
    priority=st.sampled_from(Priority),
    priority_reason=_content,
    status=st.sampled_from(Status),
    status_reason=_content,
    novelty=_finite,
    drill_level=st.integers(min_value=0, max_value=10),
    parent=st.none() | _ids,
    symbols=st.lists(_content, max_size=4),
    models=st.dictionaries(_content, _content, max_size=3),
    timings=st.dictionaries(_content, _finite, max_size=3),
    validation=st.dictionaries(_content, _content, max_size=3),
    insight=_content,
    plan=_content,
    code=_content,
    critique=_content,
    seed_code=_content,
)


@settings(max_examples=200, deadline=None)
@given(dreams)
def test_round_trip_property(dream: Dream) -> None:
    text = dream_to_markdown(dream)
    parsed = dream_from_markdown(text)
    assert parsed == dream
    # Serialising the parsed dream again gives the same bytes: the format is canonical.
    assert dream_to_markdown(parsed) == text


# A file exactly as the format wrote it before score, critic, diff and code checks existed.
OLD_FORMAT_FILE = """---
id: "20250304-050607-0123abcd"
created: "2025-03-04T05:06:07.890123+00:00"
title: "Guard against an empty list"
category: "bugs"
focus: "bugs"
priority: "unranked"
priority_reason: ""
status: "applied"
status_reason: "done"
novelty: 0.75
drill_level: 0
parent: null
source_path: "pkg/mod.py"
line_start: 10
line_end: 42
language: "python"
symbols: ["first_item"]
models: {"reasoning": "SmolLM2"}
timings: {"think_seconds": 1.5}
validation: {"grounded": "mentions first_item"}
---

# Guard against an empty list

## Insight

`first_item` indexes [0] without a check.

## Seed code

```python
def first_item(items):
    return items[0]
```
"""


def test_a_file_in_the_old_format_still_reads_with_new_fields_defaulted() -> None:
    dream = dream_from_markdown(OLD_FORMAT_FILE)
    assert dream.status == Status.APPLIED and dream.novelty == 0.75
    assert dream.insight == "`first_item` indexes [0] without a check."
    assert dream.seed_code.startswith("def first_item")
    assert (dream.score, dream.score_parts, dream.diff, dream.critic_severity) == (0.0, {}, "", "")
    assert dream.code_checks == {} and dream.refined is False and dream.themes == []
    # Rewriting it keeps every old value and adds the new keys.
    again = dream_from_markdown(dream_to_markdown(dream))
    assert again == dream


def test_new_fields_round_trip_and_the_diff_is_fenced_as_diff() -> None:
    diff = (
        "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,2 +1,4 @@\n def f(items):\n"
        "+    if not items:\n+        return None\n     return items[0]"
    )
    dream = make_dream(
        score=71.5,
        score_parts={"novelty": 0.8, "critic": 1.0},
        critic_severity="minor",
        refined=True,
        themes=["bugs", "empty list"],
        code_checks={"diff_applies": "ok"},
        diff=diff,
        draft_code="x = 0",
        code="x = 1",
    )
    text = dream_to_markdown(dream)
    assert "## Diff\n\n```diff\n--- a/pkg/mod.py" in text
    assert "## Draft code\n\n```python\nx = 0\n```" in text
    assert dream_from_markdown(text) == dream


def test_a_bad_value_in_a_new_field_names_the_key() -> None:
    text = dream_to_markdown(make_dream()).replace("refined: false", 'refined: "yes"')
    with pytest.raises(StorageError, match="refined: expected true or false"):
        dream_from_markdown(text)
