"""validate_insight as a whole: every rule's rejection has its own named reason.

The seeds and answers here are modelled on what the bundled model really wrote in the audit
of issue 8 (template echo, imagined helpers, "X is missing" about existing code).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from codedreamer.dream.focus import FOCUS_AREAS
from codedreamer.dream.prompts import THINK_SYSTEM, SeedCode, code_block, think_task
from codedreamer.dream.stages import run_stage
from codedreamer.dream.validation import (
    REASONS,
    EarlierDream,
    RejectionCounts,
    Verdict,
    validate_insight,
)
from codedreamer.dream.validation.structure import is_placeholder
from codedreamer.dream.validation.truncation import is_torn
from codedreamer.models.data import ChatMessage
from codedreamer.models.runtime import ChatModel

SEED = """def parse_header(raw_bytes, encoding):
    if not raw_bytes:
        return None
    name, _, value = raw_bytes.partition(b":")
    return name.decode(encoding), value.strip().decode(encoding)
"""
GOOD = (
    "TITLE: parse_header crashes on undecodable bytes\n"
    "INSIGHT: parse_header calls decode with the caller's encoding and lets "
    "UnicodeDecodeError escape, so one bad header aborts the whole request.\n"
    "PLAN: 1. catch UnicodeDecodeError 2. return None for that header"
)
INVENTORY = """class Inventory:
    def __init__(self):
        self.items = {}

    def add_item(self, name, quantity):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.items[name] = self.items.get(name, 0) + quantity

    def remove_item(self, name, q):
        try:
            current = self.items[name]
        except KeyError:
            return
        self.items[name] = current - q
"""
INDEX_NAMES = frozenset({"Warehouse", "restock_all", "Inventory", "add_item", "remove_item"})


def judge(
    text: str,
    *,
    seed: str = INVENTORY,
    symbols: tuple[str, ...] = ("Inventory.add_item",),
    earlier: list[EarlierDream] | None = None,
    exists: Callable[[str], bool] | None = INDEX_NAMES.__contains__,
    extra: dict[str, object] | None = None,
    **more: object,
) -> Verdict:
    return validate_insight(
        text,
        seed_code=seed,
        symbols=list(symbols),
        earlier=earlier or [],
        novelty_threshold=0.4,
        name_exists=exists,
        language="python",
        **(extra or {}),  # type: ignore[arg-type]
        **more,  # type: ignore[arg-type]
    )


def answer(title: str, insight: str, plan: str = "1. change it 2. add a test for it") -> str:
    return f"TITLE: {title}\nINSIGHT: {insight}\nPLAN: {plan}"


def test_a_grounded_true_answer_is_accepted_with_its_checks() -> None:
    verdict = judge(GOOD, seed=SEED, symbols=("parse_header",))
    assert verdict.accepted and verdict.reason == "ok" and verdict.novelty == 1.0
    assert verdict.checks["grounded"] == "mentions parse_header"
    assert verdict.title == "parse_header crashes on undecodable bytes"
    assert verdict.text == GOOD


def test_the_original_named_reasons_still_apply() -> None:
    assert judge("Looks fine.").reason == "too_short"
    refusal = "No issues found. The code in add_item is already well-written and clear to read."
    assert judge(refusal).reason == "nothing_to_improve"
    vague = answer(
        "Add a cache layer",
        "The overall approach could use a cache layer and a clearer module boundary, "
        "to be safe and fast.",
    )
    assert judge(vague).reason == "ungrounded"
    assert judge(GOOD, seed=SEED, earlier=[EarlierDream("a", GOOD.upper())]).reason == "duplicate"
    near = GOOD.replace("whole request", "entire request")
    assert judge(near, seed=SEED, earlier=[EarlierDream("a", GOOD)]).reason == "near_duplicate"


def test_template_echo_is_rejected_and_never_becomes_a_title() -> None:
    old_template = answer(
        "one line naming the improvement",
        "add_item lets a caller add a quantity that overflows the stock count badly",
        "numbered steps to make the change",
    )
    verdict = judge(old_template)
    assert verdict.reason == "template_echo" and "TITLE" in verdict.detail
    assert verdict.title == ""
    new_template = (
        "TITLE: <the improvement, in at most 12 words>\n"
        "INSIGHT: <what is wrong or could be better and why, naming the exact functions and "
        "variables from the code>\nPLAN: <the numbered steps of the change>"
    )
    assert judge(new_template).reason == "template_echo"


def test_an_echo_the_bundled_model_really_wrote_is_rejected() -> None:
    # Cycle 2 of the first quality-benchmark smoke run, verbatim.
    text = (
        "TITLE: <the improvement, in 6 sentences>\n"
        "INSIGHT: [The issue was the way to create a dictionary with default values from "
        "function names and functions parameters. The list of options is too long for each "
        "item; it's better just using multiple items instead.]"
    )
    verdict = judge(text, finish_reason="stop")
    assert verdict.reason == "template_echo" and verdict.title == ""


def test_a_false_missing_function_claim_the_engine_stored_is_rejected() -> None:
    # Stored by the engine in the 20-cycle quality run (dream 20261129-174322-e82fe42c).
    seed = "def convert(amount: float, rate: float) -> float:\n    return round(amount * rate, 2)\n"
    text = answer(
        "The code is missing a function `convert` that converts an amount to rate.",
        "The issue lies in the fact that converting amounts from base to rates requires "
        "using exponentiation, which is not supported by Python 3.10 and later.",
    )
    verdict = judge(text, seed=seed, symbols=("convert",))
    assert verdict.reason == "false_claim" and "convert" in verdict.detail


def test_the_focus_task_copied_as_a_title_is_not_stored() -> None:
    # Stored by the engine in the 100-cycle quality run (cycle 43), verbatim: the TITLE is
    # the dead-code focus task from the prompt, the rest says nothing true.
    seed = (
        "def fetch_rates(base: str) -> dict[str, float]:\n"
        "    request = urllib.request.Request(\n"
        '        f"{RATES_URL}?base={base}", headers={"Authorization": f"Bearer {API_KEY}"}\n'
        "    )\n"
        "    with urllib.request.urlopen(request) as response:\n"
        '        payload = json.loads(response.read().decode("utf-8"))\n'
        '    return {code: float(rate) for code, rate in payload["rates"].items()}\n'
    )
    text = (
        "TITLE: Find and fix unused, unreachable or never wired up in the code.\n"
        "INSIGHT: Fixing issues with use of function `fetch_rates` (Fix 2).\n"
        'PLAN: Fixing issue where to import from json using "json" (Patch 17-3)\n'
        "CUDATE: Code that fails due to unexpected error handling, while trying to access a "
        "dictionary key.\n"
        "CONSTRAINT: Prevent possible mixins or other features which can contain these issues "
        "and avoid them being handled by code quality metrics."
    )
    verdict = judge(text, seed=seed, symbols=("fetch_rates",), exists=None, finish_reason="stop")
    assert not verdict.accepted
    assert verdict.reason in ("template_echo", "missing_section"), verdict
    assert "unreachable" not in verdict.title


def test_placeholder_lines_are_removed_from_an_otherwise_good_answer() -> None:
    text = (
        "TITLE: Reject zero quantities in remove_item\n"
        "INSIGHT: one line naming the improvement\n"
        "remove_item subtracts q without checking it, so a negative q adds stock.\n"
        "PLAN: 1. raise ValueError when q is not positive 2. test remove_item with q=-1"
    )
    verdict = judge(text)
    assert verdict.accepted, verdict
    assert "naming the improvement" not in verdict.text
    assert verdict.checks["placeholders_removed"] == "1"


def test_missing_sections_are_rejected() -> None:
    text = (
        "remove_item subtracts q without checking it, so a negative q silently adds stock "
        "to self.items; it should raise ValueError like add_item does."
    )
    verdict = judge(text)
    assert verdict.reason == "missing_section" and "TITLE" in verdict.detail


def test_cut_off_answers_are_repaired_or_rejected_never_stored_torn() -> None:
    torn = answer(
        "Share the counting of add_item and remove_item",
        "add_item and remove_item both update self.items by hand, so the two can drift.",
        "1. add a helper\n```python\ndef _change(self, name, de",
    )
    verdict = judge(torn, finish_reason="length")
    assert verdict.accepted and verdict.text.count("```") == 0
    assert "dropped a code block" in verdict.checks["repaired"]

    no_plan = (
        "TITLE: Share the counting of add_item and remove_item\n"
        "INSIGHT: add_item and remove_item both update self.items by hand, so the tw"
    )
    verdict = judge(no_plan, finish_reason="length")
    assert verdict.reason == "truncated" and "PLAN" in verdict.detail


@pytest.mark.parametrize("reason", ["timeout", "stalled"])
def test_stages_stopped_by_their_limits_are_rejected_with_that_reason(reason: str) -> None:
    assert judge(GOOD, seed=SEED, finish_reason=reason).reason == reason


def test_false_claims_are_rejected() -> None:
    missing = answer(
        "Define add_item",
        "The method `add_item` is not defined, so calling it on an Inventory always fails.",
    )
    assert judge(missing).reason == "false_claim"
    no_check = answer(
        "Validate quantity in add_item",
        "add_item does not check `quantity <= 0`, so negative stock reaches self.items.",
    )
    verdict = judge(no_check)
    assert verdict.reason == "false_claim" and "quantity <= 0" in verdict.detail


def test_cited_files_and_lines_must_exist() -> None:
    text = answer(
        "Share the counting of add_item and remove_item",
        "In `stock/inventory.py` lines 5-8, add_item updates self.items by hand, like "
        "remove_item does in `ledger.py`.",
    )
    paths = {"stock/inventory.py", "stock/ledger.py"}

    def path_exists(name: str) -> bool:
        return any(p == name or p.endswith("/" + name) for p in paths)

    where: dict[str, object] = {"seed_path": "stock/inventory.py", "seed_lines": (1, 15)}
    assert judge(text, path_exists=path_exists, extra=where).accepted
    verdict = judge(text, path_exists=lambda name: False, extra=where)
    assert verdict.reason == "bad_citation" and "ledger.py" in verdict.detail
    far = text.replace("lines 5-8", "lines 120-130")
    verdict = judge(far, path_exists=path_exists, extra=where)
    assert verdict.reason == "bad_citation" and "lines 120-130" in verdict.detail


def test_invented_names_are_rejected_even_one_of_one() -> None:
    text = answer(
        "Route add_item through the stock helper",
        "add_item should call `update_stock_level` instead of writing self.items itself.",
    )
    verdict = judge(text)
    assert verdict.reason == "invented_name" and "update_stock_level" in verdict.detail
    # The same name, when the codebase has it, is fine.
    assert judge(text, exists=lambda name: True).accepted


def test_a_proposed_helper_is_not_invented() -> None:
    text = answer(
        "Share the counting of add_item and remove_item",
        "add_item and remove_item both update self.items by hand; add a `_change_count` "
        "helper so the arithmetic lives in one place.",
    )
    verdict = judge(text)
    assert verdict.accepted, verdict
    assert verdict.checks["unknown_names"] == "_change_count"


def test_code_in_another_language_or_that_does_not_parse_is_rejected() -> None:
    block = "```javascript\nfunction change(name, d) { items[name] += d; }\n```"
    text = answer(
        "Share the counting of add_item and remove_item",
        "add_item and remove_item both update self.items by hand, so they can drift apart.",
        f"1. add one helper:\n{block}",
    )
    assert judge(text).reason == "wrong_language"
    # Labelled Python, but it is JavaScript: reported as what it is.
    mislabelled = judge(text.replace("javascript", "python"))
    assert mislabelled.reason == "wrong_language" and "is javascript" in mislabelled.detail
    broken = text.replace(block, "```python\ndef change(name, d):\n    items[name] +=\n```")
    verdict = judge(broken)
    assert verdict.reason == "unparseable_code" and "line 2" in verdict.detail, verdict


def test_every_reason_is_listed() -> None:
    assert len(set(REASONS)) == len(REASONS) == 17


def test_rejection_counts_count_per_reason_and_round_trip() -> None:
    counts = RejectionCounts()
    for reason in ["ok", "invented_name", "ungrounded", "invented_name", "ok", "ok"]:
        counts.add(reason)
    assert counts.accepted == 3 and counts.rejected == 3 and counts.total == 6
    assert counts.most_common() == [("invented_name", 2), ("ungrounded", 1)]
    assert RejectionCounts.from_dict(counts.to_dict()) == counts
    with pytest.raises(ValueError):
        RejectionCounts.from_dict({"accepted": 1, "rejected": {"x": -1}})
    with pytest.raises(ValueError):
        RejectionCounts.from_dict({"accepted": "many"})


@pytest.mark.model
def test_real_answers_of_the_bundled_model_get_a_named_verdict_and_never_a_torn_text(
    bundled_chat_model: ChatModel,
) -> None:
    seed = SeedCode("shop/inventory.py", "python", 1, 15, "Inventory", INVENTORY)
    messages = [
        ChatMessage("system", THINK_SYSTEM),
        ChatMessage("user", think_task(FOCUS_AREAS[0]) + "\n\n" + code_block(seed)),
    ]
    result = run_stage(
        bundled_chat_model,
        messages,
        stage="think",
        max_tokens=64,
        temperature=0.0,
        repeat_penalty=1.15,
        sink=lambda event: None,
    )
    assert result.finish_reason in {"stop", "length", "loop"} and result.text
    verdict = judge(result.text, finish_reason=result.finish_reason)
    assert verdict.reason in {"ok", *REASONS}, verdict
    if verdict.accepted:
        assert not is_torn(verdict.text) and verdict.title
        assert not is_placeholder(verdict.title)


GO_SEED = """func SumPrices(prices []int) int {
	total := 0
	for i := 0; i <= len(prices)-1; i++ {
		total += prices[i]
	}
	return total
}
"""


def test_a_go_seed_takes_go_fragments_and_names_other_code() -> None:
    def verdict(block: str) -> Verdict:
        text = answer(
            "SumPrices walks prices by index",
            "SumPrices indexes prices with i up to len(prices)-1; a range loop says the "
            "same without the index arithmetic.",
            f"1. loop with range:\n{block}",
        )
        return validate_insight(
            text,
            seed_code=GO_SEED,
            symbols=["SumPrices"],
            earlier=[],
            novelty_threshold=0.4,
            language="go",
        )

    statements = "```go\nfor _, p := range prices {\n\ttotal += p\n}\n```"
    assert verdict(statements).accepted, verdict(statements)
    python = verdict("```\nfor p in prices:\n    total += p\n```")
    assert python.reason == "wrong_language" and "is python, not go" in python.detail
    broken = verdict("```go\nfor _, p := range prices {\n\ttotal += \n}\n```")
    assert broken.reason == "unparseable_code" and "line 2" in broken.detail, broken
