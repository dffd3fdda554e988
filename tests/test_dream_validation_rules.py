"""Each validation rule on its own: answer parsing, placeholders, repair, grounding, claims,
invented names, code blocks. Pure functions, no model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codedreamer.dream.validation.answer import code_blocks, parse_answer, prose_of
from codedreamer.dream.validation.claims import check_claims
from codedreamer.dream.validation.code_blocks import block_problems, parses, strip_bad_blocks
from codedreamer.dream.validation.grounding import ground, specific_names
from codedreamer.dream.validation.names import block_definitions, check_names
from codedreamer.dream.validation.structure import (
    check_structure,
    dream_title,
    is_placeholder,
    strip_placeholders,
)
from codedreamer.dream.validation.truncation import is_torn, repair_answer

SEED = """def apply_discount(order, rate):
    if rate <= 0 or rate >= 1:
        raise ValueError("rate out of range")
    total = 0
    for line in order.lines:
        total += line.price * line.qty
    try:
        log_discount(order.id, rate)
    except OSError:
        pass
    return total * (1 - rate)
"""


# -- answer parsing ---------------------------------------------------------------------


def test_labels_in_the_spellings_models_use() -> None:
    text = (
        "Sure! Here is my review.\n**Title:** Cache totals\n### Insight\nThe loop is slow.\n"
        "1. PLAN: do it\n```python\nTITLE: not a label inside code\n```"
    )
    answer = parse_answer(text)
    assert answer.preamble == "Sure! Here is my review."
    assert answer.section("TITLE") == "Cache totals"
    assert answer.section("INSIGHT") == "The loop is slow."
    assert answer.section("PLAN").startswith("do it\n```python\nTITLE: not a label")
    assert parse_answer("No issues; however TITLE: x\nINSIGHT: y").section("TITLE") == "x"


def test_fences_close_only_on_a_matching_fence() -> None:
    text = "a\n````md\n```python\nx\n```\n````\nb\n~~~\nopen"
    blocks = code_blocks(text)
    assert [(b.info, b.closed) for b in blocks] == [("md", True), ("", False)]
    assert blocks[0].code == "```python\nx\n```"
    assert prose_of(text).split("\n") == ["a", "", "", "", "", "", "b", "", ""]


# -- structure and template echo --------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "TITLE: one line naming the improvement",
        "PLAN: numbered steps to make the change",
        "**Title:** One line naming the improvement.",
        "INSIGHT: <what is wrong or could be better and why, naming the exact functions and "
        "variables from the code>",
        "1. <the numbered steps of the change>",
        "<anything in angle brackets>",
    ],
)
def test_placeholders_are_recognised(line: str) -> None:
    assert is_placeholder(line)


@pytest.mark.parametrize(
    "line",
    [
        "TITLE: apply_discount swallows OSError from log_discount",
        "PLAN: 1. make the change in apply_discount and add a test",
        "Change the loop to make it one pass",
        "x < y and y > z",
    ],
)
def test_real_lines_are_not_placeholders(line: str) -> None:
    assert not is_placeholder(line)


def test_template_echo_and_missing_sections() -> None:
    echo = "TITLE: one line naming the improvement\nINSIGHT: real words here\nPLAN: 1. do"
    check = check_structure(echo)
    assert check.reason == "template_echo" and check.title == ""
    assert check_structure("TITLE: x\nINSIGHT: y").reason == "missing_section"
    assert check_structure("TITLE: x\nINSIGHT: y", echo_only=True).ok
    cleaned, removed = strip_placeholders(echo + "\n```\nnumbered steps to make the change\n```")
    assert removed == 1 and cleaned.startswith("TITLE:\n") and cleaned.endswith("change\n```")


def test_a_title_is_never_a_placeholder_or_a_label() -> None:
    assert dream_title("TITLE: one line naming the improvement\nThe loop is slow.", "fb") == (
        "The loop is slow."
    )
    assert dream_title("TITLE: <the improvement, in at most 12 words>", "fallback") == "fallback"
    assert dream_title("INSIGHT: apply_discount swallows OSError. More.", "fb") == (
        "apply_discount swallows OSError."
    )
    assert dream_title("**TITLE:** Cache the parser\nmore", "fb") == "Cache the parser"
    assert len(dream_title("TITLE: " + "x" * 300, "fb")) == 100


# -- truncation -------------------------------------------------------------------------


def test_a_torn_code_block_is_dropped_when_the_rest_is_complete() -> None:
    text = "TITLE: t\nINSIGHT: i.\nPLAN: 1. add a guard\n```python\ndef guard(rate):\n    if ra"
    repaired = repair_answer(text, "length")
    assert repaired.ok and repaired.text == "TITLE: t\nINSIGHT: i.\nPLAN: 1. add a guard"
    assert not is_torn(repaired.text) and is_torn(text)


def test_a_finished_answer_with_an_unclosed_fence_gets_it_closed() -> None:
    text = "TITLE: t\nINSIGHT: i\nPLAN:\n````python\nx = 1"
    repaired = repair_answer(text, "stop")
    assert repaired.ok and repaired.text.endswith("x = 1\n````")
    assert repaired.changes == ("closed an unclosed code fence",)


def test_a_cut_that_loses_a_section_is_rejected() -> None:
    text = "TITLE: t\nINSIGHT: apply_discount swallows OSError from log_disc"
    repaired = repair_answer(text, "length")
    assert repaired.rejection == "truncated" and "INSIGHT" in repaired.detail
    complete = "TITLE: t\nINSIGHT: i.\nPLAN: 1. do it.\n2. test it"
    assert repair_answer(complete, "stop").text == complete
    assert repair_answer(complete, "length").text == "TITLE: t\nINSIGHT: i.\nPLAN: 1. do it."


@given(st.text(alphabet="`~ab\n TILNSGHPA:", max_size=120), st.sampled_from(["stop", "length"]))
def test_repair_never_leaves_an_open_fence(text: str, finish: str) -> None:
    repaired = repair_answer(text, finish, required=())
    assert not is_torn(repaired.text)


# -- grounding --------------------------------------------------------------------------


def test_ordinary_words_and_builtins_do_not_ground() -> None:
    names = specific_names(SEED, ["apply_discount"])
    assert "apply_discount" in names and "log_discount" in names
    assert not {"line", "order", "total", "rate", "lines", "price", "id"} & set(names)
    prose = "The list of lines uses a name and line order that is wrong for the file env."
    assert not ground(prose, SEED).grounded


def test_a_seed_name_grounds_only_in_prose_and_not_when_claimed_missing() -> None:
    assert ground("apply_discount hides OSError.", SEED).names == ("apply_discount",)
    in_code_only = "Fix it:\n```python\napply_discount(o, 0.1)\n```"
    assert not ground(prose_of(in_code_only), SEED).grounded
    missing = "apply_discount is missing, so add it."
    assert not ground(missing, SEED, claimed_missing={"apply_discount"}).grounded


def test_a_plain_word_defined_by_the_seed_counts_only_as_code() -> None:
    seed = "def tally(items):\n    return sum(items)\n"
    assert not ground("The tally is wrong for empty carts.", seed, ["tally"]).grounded
    assert ground("`tally` is wrong for empty carts.", seed, ["tally"]).names == ("tally",)
    assert ground("tally() is wrong for empty carts.", seed, ["tally"]).grounded


# -- claims -----------------------------------------------------------------------------


def index(*names: str) -> set[str]:
    return set(names)


def test_absence_claims_are_checked_against_seed_and_index() -> None:
    exists = index("Warehouse", "restock").__contains__
    assert check_claims("`log_discount` is not defined anywhere.", SEED, exists).false
    assert check_claims("There is no `restock` function.", SEED, exists).false
    assert not check_claims("There is no `refund_order` function.", SEED, exists).false
    found = check_claims("`refund_order` is missing.", SEED, exists)
    assert "refund_order" in found.claimed_missing and not found.false
    # A call missing from this code is about this code: false only if the seed makes it.
    assert check_claims("A call to `log_discount` is missing.", SEED, exists).false
    assert not check_claims("A call to `restock` is missing.", SEED, exists).false
    # What this code lacks may well exist elsewhere in the codebase.
    everywhere = index("timeout", "log_discount").__contains__
    assert not check_claims("There is no `timeout` on the call.", SEED, everywhere).false
    assert not check_claims("`timeout` is missing in apply_discount.", SEED, everywhere).false
    assert check_claims("There is no `log_discount` call.", SEED, everywhere).false
    # "there is no check" names no code and is not checked.
    assert not check_claims("There is no check on the rate.", SEED, exists).false


@pytest.mark.parametrize(
    "claim",
    [
        "apply_discount does not check `rate <= 0`.",
        "It never checks `0 >= rate`, so discounts can be free.",
        "apply_discount doesn't validate whether rate is negative.",
        "The function does not handle `OSError` from the log call.",
        "The code uses getattr to read the lines.",
        "apply_discount calls `json.dumps()` on every order.",
    ],
)
def test_claims_the_seed_contradicts(claim: str) -> None:
    assert check_claims(claim, SEED).false, claim


@pytest.mark.parametrize(
    "claim",
    [
        "apply_discount does not check `order is None`.",
        "apply_discount doesn't validate whether order is empty.",
        "The function does not handle `KeyError` from the lines.",
        "The code uses `log_discount` while holding no lock.",
        "It has a bare except around log_discount? No: it catches OSError and passes.",
    ],
)
def test_true_claims_pass(claim: str) -> None:
    if "bare except" in claim:
        # The seed has no bare except: a claim that mentions one is false, by design.
        assert check_claims(claim, SEED).false
        seed = "try:\n    f()\nexcept:\n    pass\n"
        assert not check_claims("The bare `except:` hides errors.", seed).false
        return
    assert not check_claims(claim, SEED).false, claim


# -- invented names ---------------------------------------------------------------------


def test_names_presented_as_existing_must_exist() -> None:
    prose = "apply_discount should call `apply_coupon` and check_limits(order) first."
    names = check_names(prose, [], SEED, index().__contains__)
    assert names.presented == ("apply_coupon", "check_limits")
    assert names.invented == ("apply_coupon", "check_limits")
    known = check_names(prose, [], SEED, index("apply_coupon", "check_limits").__contains__)
    assert known.invented == ()


def test_library_and_language_names_exist() -> None:
    prose = "Use `os.path.join`, `len()`, `ValueError` and `order.lines` in apply_discount."
    assert check_names(prose, [], SEED, None).invented == ()


def test_notation_files_and_library_attributes_are_not_names_to_check() -> None:
    prose = (
        "The loop in apply_discount is O(n^2) in `db.py`; `dict.setdefault`, "
        "`container.textContent` and `order.lines` are fine, `f(x)` is maths."
    )
    names = check_names(prose, [], SEED, None)
    assert names.presented == ("container", "order") and names.invented == ("container",)
    # On a class the seed defines, the attribute must exist too.
    seed = "class Cart:\n    def total(self):\n        return 0\n"
    assert check_names("`Cart.total()` and `Cart.discounted()`", [], seed).invented == (
        "discounted",
    )


def test_proposed_names_are_not_invented() -> None:
    prose = "Add a `round_money` helper and create `DiscountError` for apply_discount."
    names = check_names(prose, [], SEED, None)
    assert names.invented == () and names.proposed == ("DiscountError", "round_money")


def test_calls_in_code_blocks_must_exist_unless_the_block_defines_them() -> None:
    text = (
        "PLAN:\n```python\ndef capped(rate):\n    return clamp_rate(rate)\n\n"
        "total = capped(0.5)\nself.audit_trail(total)\nlogger.warning('x')\n```"
    )
    answer = parse_answer(text)
    names = check_names(prose_of(text), answer.blocks, SEED, None)
    assert set(names.invented) == {"clamp_rate", "audit_trail"}
    assert {"capped", "rate", "total"} <= block_definitions(answer.blocks[0].code)


def test_javascript_block_definitions() -> None:
    code = (
        "const fs = require('fs');\nfunction readAll(dir, cb) {\n"
        "  const files = fs.readdirSync(dir);\n  files.forEach((name) => cb(name));\n}\n"
    )
    assert {"fs", "readAll", "dir", "cb", "files", "name"} <= block_definitions(code)


# -- code blocks ------------------------------------------------------------------------


def test_code_blocks_in_the_wrong_language_or_unparseable() -> None:
    text = (
        "```js\nfunction f() {}\n```\n```python\n    if rate <= 0:\n        raise X\n```\n"
        "```python\ndef broken(:\n```\n```diff\n- a\n+ b\n```\n```\nx = (1,\n```"
    )
    problems = block_problems(code_blocks(text), "python")
    assert [(p.reason, p.block.info) for p in problems] == [
        ("wrong_language", "js"),
        ("unparseable_code", "python"),
        ("unparseable_code", ""),
    ]
    stripped, removed = strip_bad_blocks(text, "python")
    assert len(removed) == 3 and "broken" not in stripped and "raise X" in stripped


def test_tree_sitter_checks_other_languages() -> None:
    assert parses("function f(a) { return a + 1; }", "javascript")
    assert parses("cookie(name, value) { this.set(name, value); }", "js")
    assert not parses("function f(a { return a + 1; }", "javascript")
    assert parses("func Add(a, b int) int { return a + b }", "go")
    assert not parses("func Add(a, b int int { return a + b }", "go")
    assert parses("anything at all", "cobol")
    assert block_problems(code_blocks("```ts\nconst x: number = 1;\n```"), "javascript") == []


def test_blocks_in_any_indexed_language_are_checked_as_fragments() -> None:
    def problems(text: str, language: str) -> list[tuple[str, str]]:
        return [(p.reason, p.detail) for p in block_problems(code_blocks(text), language)]

    # Partial snippets in the seed's language are fine: a Go statement, Rust struct fields,
    # a Java method, a TypeScript class member, C statements.
    assert problems("```go\nif err != nil {\n\treturn err\n}\n```", "go") == []
    assert problems("```rust\npub name: String,\npub age: u32,\n```", "rust") == []
    assert problems("```java\npublic void close() { in.close(); }\n```", "java") == []
    assert problems("```\nprivate cache = new Map<string, number>();\n```", "typescript") == []
    assert problems("```c\nfree(buf);\nbuf = NULL;\n```", "c") == []
    # Unlabelled TypeScript in a JavaScript seed is a compatible language.
    assert problems("```\nconst n: number = 1;\n```", "javascript") == []
    # Unlabelled (or mislabelled) code of another language is named as such.
    python_in_go = problems("```\ndef close(self):\n    return self.fh.close()\n```", "go")
    assert python_in_go == [("wrong_language", "a block without a language that is python, not go")]
    rust_as_c = problems("```c\nlet v: Vec<u8> = Vec::new();\n```", "c")
    assert rust_as_c == [("wrong_language", "a block labelled c that is rust, not c")]
    # Broken code of the seed's language, with the fragment's own line.
    broken = problems("```go\nx := load()\nif x != nil {\n\treturn x\n```", "go")
    assert broken == [("unparseable_code", "a go block that does not parse (line 3: missing '}')")]
    assert problems("```java\nint x = 1\n```", "java")[0][0] == "unparseable_code"
